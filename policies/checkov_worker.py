"""Checkov, started before its targets exist: one scan, exactly as the ``checkov`` script runs it.

Run with Checkov's interpreter (``.tools/checkov/bin/python policies/checkov_worker.py``). Importing Checkov costs
~2.5 s of CPU; ``sahab check`` starts this worker first, so that import overlaps the caller's own start-up and
synthesis (the AWS bindings load in node while a core waits), then writes ONE line of JSON on stdin,
``{"argv": [...], "cwd": "..."}``, and reads Checkov's report from stdout and its exit code, as it would from the
``checkov`` command. An empty stdin (the caller gave up: synthesis failed) ends the worker without a scan.
"""

from __future__ import annotations

import json
import os
import sys
import warnings


def main() -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=SyntaxWarning)
        from checkov.main import Checkov  # the slow part, done before the request arrives

        line = sys.stdin.readline()
        if not line.strip():
            return 0
        request = json.loads(line)
        os.chdir(request["cwd"])
        return Checkov(request["argv"]).run() or 0


if __name__ == "__main__":
    sys.exit(main())
