"""Score one transaction through the scoring Service from inside the cluster: the program of ``sahab up``'s smoke Job.

Run as ``python -c <this file's text>`` in the scoring image (its entry point is ``sahab``), so it uses the standard
library only and imports nothing of Sahab. It posts one synthetic transaction to ``SAHAB_SMOKE_URL`` with the bearer
token in ``SAHAB_SMOKE_TOKEN`` and prints one line, ``SAHAB_SMOKE <json>``, that ``infra.smoke`` reads from the
pod's log. A 401 is retried until ``SAHAB_SMOKE_DEADLINE_S``: the service reads its token secret again only every
minute, so a token made a moment ago is refused at first; so are a refused connection and a 502/503 (a pod that
is not serving yet). Exit 0 on an answer with a score, 1 otherwise.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request

MARKER = "SAHAB_SMOKE"
#: A synthetic card transaction (no real customer): the service scores an unknown customer with default features.
TRANSACTION = {"transaction_id": "sahab-up-smoke", "customer_id": "sahab-smoke", "merchant_id": "sahab-smoke",
               "amount_aed": 120.0, "merchant_category": "grocery", "channel": "pos",
               "event_timestamp": "2026-01-14T12:00:00+04:00", "is_cross_border": False}
RETRIED = (401, 502, 503, 504)


def attempt(url: str, token: str) -> tuple[int, object]:
    """One POST: (HTTP status, parsed body or error text); status 0 when nothing answered."""
    request = urllib.request.Request(url, data=json.dumps({"transactions": [TRANSACTION]}).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")[:300]
    except (urllib.error.URLError, OSError) as exc:
        return 0, str(getattr(exc, "reason", exc))


def main() -> int:
    url, token = os.environ["SAHAB_SMOKE_URL"], os.environ["SAHAB_SMOKE_TOKEN"]
    deadline = time.monotonic() + float(os.environ.get("SAHAB_SMOKE_DEADLINE_S", "150"))
    attempts = 0
    while True:
        attempts += 1
        started = time.monotonic()
        status, body = attempt(url, token)
        elapsed_ms = round((time.monotonic() - started) * 1000, 1)
        if status == 200 or (status not in RETRIED and status != 0) or time.monotonic() > deadline:
            break
        time.sleep(min(5.0, max(0.0, deadline - time.monotonic())))
    answer = body[0] if status == 200 and isinstance(body, list) and body else None
    ok = isinstance(answer, dict) and isinstance(answer.get("score"), (int, float))
    result = {"status": status, "attempts": attempts, "ms": elapsed_ms}
    result.update({"answer": answer} if ok else {"error": body if isinstance(body, str) else json.dumps(body)[:300]})
    print(f"{MARKER} {json.dumps(result, sort_keys=True)}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
