"""Benchmark: the cost of importing the AWS provider bindings vs synthesising every environment.

Each repetition runs in a fresh Python process (the import is what a user pays on every command):
  - ``import``: ``import modules.cdk`` alone (cdktf + the prebuilt AWS provider bindings);
  - ``synth``: loading every environment, building all stacks and writing the JSON (import excluded).
Writes medians, all samples and the ratio to ``bench/results/synth.json``.

Run: ``.venv/bin/python bench/synth.py [--repeat 3]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "synth.json"

PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
import modules.cdk  # noqa: F401  (cdktf + AWS provider bindings)
t1 = time.perf_counter()
if sys.argv[1] == "synth":
    from pathlib import Path
    from environments import load_environments
    from infra.synth import synth
    result = synth(load_environments(), Path(sys.argv[2]))
    t2 = time.perf_counter()
    print(json.dumps({"import_s": t1 - t0, "synth_s": t2 - t1, "stacks": len(result.stacks),
                      "resources": sum(s.resource_count for s in result.stacks)}))
else:
    print(json.dumps({"import_s": t1 - t0}))
"""


def sample(mode: str) -> dict:
    env = {**os.environ, "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1", "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    with tempfile.TemporaryDirectory() as outdir:
        completed = subprocess.run(
            [sys.executable, "-c", PROBE, mode, outdir], cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=600
        )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    imports, synths, details = [], [], {}
    for i in range(args.repeat):
        bare = sample("import")
        full = sample("synth")
        imports.append(bare["import_s"])
        synths.append(full["synth_s"])
        details = full
        print(f"run {i + 1}/{args.repeat}: import {bare['import_s']:.1f} s, synth {full['synth_s']:.1f} s", flush=True)
    result = {
        "benchmark": "synth",
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "repeat": args.repeat,
        "import_aws_bindings_s": {"median": statistics.median(imports), "samples": imports},
        "synth_all_environments_s": {"median": statistics.median(synths), "samples": synths},
        "ratio_import_to_synth": statistics.median(imports) / statistics.median(synths),
        "stacks": details["stacks"],
        "resources": details["resources"],
        "note": "each sample is a fresh process; synth excludes the import, which it shares with every command",
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
