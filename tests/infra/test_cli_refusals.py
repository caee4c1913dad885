"""Every user error reaches the user as one message and the documented exit code, never a traceback.

Each refusal goes through the real ``sahab`` entry point in a fresh process, as a user would type it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SAHAB = Path(sys.executable).parent / "sahab"


def sahab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SAHAB), *args], capture_output=True, text=True, cwd=PROJECT_ROOT,
        env={**os.environ, "COLUMNS": "300"}, timeout=120,
    )


def environment_file(tmp_path: Path, name: str, change) -> Path:
    """``smb.yaml`` renamed to ``name`` with ``change`` applied to its parsed mapping."""
    data: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "environments" / "smb.yaml").read_text())
    data["name"] = name
    data["tags"]["environment"] = name
    change(data)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _set(path: str, value: Any):
    def change(data: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        target = data
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = value
    return change


REFUSED_FILES = {
    "mixed-arch": (_set("node_pools.cpu.instance_types", ["m7g.large", "m7i.large"]),
                   "'node_pools.cpu': 'instance_types' must share one CPU architecture, one AMI per pool "
                   "(value mixes arm64 (m7g.large) and x86_64 (m7i.large)); split them into two pools"),
    "cpu-on-gpu": (_set("node_pools.gpu.instance_types", ["m7i.large"]),
                   "'node_pools.gpu': 'instance_types' of a gpu pool must be GPU instances"),
    "desired": (_set("node_pools.cpu.desired_size", 9),
                "'node_pools.cpu': 'desired_size' (9) must lie between 'min_size' (2) and 'max_size' (4)"),
    "foreign": (_set("region", "eu-west-1"), "'region': must be one of the UAE-resident regions ['me-central-1'] (value: 'eu-west-1')"),
    "typo": (_set("node_pools.cpu.min_szie", 1), "'node_pools.cpu.min_szie': is not a known field"),
    "public": (_set("eks.endpoint_public_access", True),
               "'eks': 'public_access_cidrs' must list CIDRs when 'endpoint_public_access' is true"),
    "weights": (_set("serving.variants", [{"name": "a", "model_version": "latest", "weight": 0.6},
                                         {"name": "b", "model_version": "previous", "weight": 0.6}]),
                "'serving': the weights of the variants must sum to 1 (sum: 1.2)"),
}


@pytest.mark.parametrize("case", sorted(REFUSED_FILES))
def test_an_environment_file_the_schema_refuses_exits_2_with_one_line_naming_file_field_and_rule(case, tmp_path) -> None:
    change, message = REFUSED_FILES[case]
    path = environment_file(tmp_path, case, change)
    completed = sahab("synth", str(path), "--outdir", str(tmp_path / "out"))
    assert completed.returncode == 2, completed.stderr
    assert completed.stderr.startswith(f"error: {path}: {message}"), completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1 and "Traceback" not in completed.stderr
    assert not (tmp_path / "out").exists()  # refused before anything was written


@pytest.mark.parametrize(("args", "message"), [
    (("synth", "nosuch"), "no environment file"),
    (("check", "smb", "--all"), "pass environment names or --all, not both"),
    (("up", "local", "--plan"), "'--plan' is for a cloud environment; 'local' runs on this machine"),
    (("serve", "weights", "a=2", "b=-1"), "the weight of 'a' must be between 0 and 1 (value: 2)"),
    (("serve", "weights", "a=1", "z=0"), "unknown variant(s) ['z']"),
])
def test_a_usage_error_exits_2_with_the_message_and_no_traceback(args, message) -> None:
    completed = sahab(*args)
    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert message in completed.stderr and "Traceback" not in completed.stderr + completed.stdout
