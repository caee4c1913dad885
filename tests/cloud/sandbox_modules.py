"""Root modules for pytest-terraform, written from a synthesis: ``tests/cloud/terraform/<name>/main.tf.json``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

MODULES = Path(__file__).parent / "terraform"
ENVIRONMENT = "smb"


def module_from_stack(stack_json: Path, name: str, remote_states: dict[str, Path] | None = None) -> Path:
    """``stack_json`` as a root module ``MODULES/<name>`` without its S3 backend; remote state read from local files."""
    document = json.loads(stack_json.read_text())
    document.get("terraform", {}).pop("backend", None)
    for input_name, state in (remote_states or {}).items():
        document["data"]["terraform_remote_state"][input_name] = {"backend": "local", "config": {"path": str(state)}}
    target = MODULES / name
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    (target / "main.tf.json").write_text(json.dumps(document, indent=2))
    return target
