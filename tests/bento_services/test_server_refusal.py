"""Why a server refused to start, read from its log: the service's own record first, else the last exception."""

from __future__ import annotations

import json
from pathlib import Path

from bento_services.server_process import refusal_reason

TRACEBACK = """Traceback (most recent call last):
  File "/x/service.py", line 40, in <module>
    verify_variants(ENVIRONMENT, serving_logger())
training.verification.IntegrityCheckFailed: model version v1 failed the 'signature' check: bad signature
"""


def test_the_services_refusing_to_start_record_is_the_reason_with_variant_and_version(tmp_path: Path) -> None:
    log = tmp_path / "bentoml.log"
    record = {"event": "refusing to start: model failed verification", "variant": "a", "model_version": "v1",
              "error": "model version v1 failed the 'signature' check: bad signature"}
    log.write_text("starting\n" + json.dumps(record) + "\n" + TRACEBACK)
    assert refusal_reason(log) == (
        "model version v1 failed the 'signature' check: bad signature (variant a, model_version v1)"
    )


def test_without_a_record_the_last_exception_line_is_the_reason(tmp_path: Path) -> None:
    log = tmp_path / "bentoml.log"
    log.write_text("starting\n" + TRACEBACK.replace("training.verification.IntegrityCheckFailed", "ModuleNotFoundError"))
    assert refusal_reason(log) == "ModuleNotFoundError: model version v1 failed the 'signature' check: bad signature"


def test_an_earlier_runs_refusal_before_the_offset_is_not_this_runs_reason(tmp_path: Path) -> None:
    log = tmp_path / "bentoml.log"
    log.write_text(TRACEBACK)
    offset = log.stat().st_size
    with log.open("a") as handle:
        handle.write("server exited\n")
    assert refusal_reason(log, since_offset=offset) is None
    assert refusal_reason(log) is not None


def test_a_missing_log_has_no_reason(tmp_path: Path) -> None:
    assert refusal_reason(tmp_path / "absent.log") is None
