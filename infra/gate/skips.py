"""The skip list: built-in Checkov checks we do not run, one reason each (``policies/skips.yaml``).

The only way to skip a check. Our own ``CKV_SAHAB`` checks can never be skipped: they are the
residency and encryption invariants. Every problem in the file is reported at once.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from environments import project_root
from environments.errors import ConfigError
from infra.gate.model import Skip

BUILT_IN_ID = re.compile(r"^CKV2?_(AWS|K8S)_\d+$")
MIN_REASON_CHARS = 20


def default_skips_path() -> Path:
    return project_root() / "policies" / "skips.yaml"


def load_skips(path: Path | None = None) -> tuple[Skip, ...]:
    """Read and validate the skip list; raise ``ConfigError`` naming every bad entry."""
    path = path or default_skips_path()
    if not path.is_file():
        raise ConfigError(f"no skip list at {path}: create it (an empty 'skips: []' is fine)")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"is not valid YAML: {exc}", source=str(path)) from None
    entries = data.get("skips") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ConfigError("must be a mapping with a 'skips' list of {id, reason} entries", source=str(path))
    problems: list[str] = []
    skips: list[Skip] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        where = f"'skips[{index}]'"
        if not isinstance(entry, dict) or set(entry) != {"id", "reason"}:
            problems.append(f"{where} must have exactly the keys 'id' and 'reason' (value: {entry!r})")
            continue
        check_id, reason = str(entry["id"]), str(entry["reason"] or "").strip()
        if check_id.startswith("CKV_SAHAB_"):
            problems.append(f"{where} 'id' {check_id} is one of our own checks, which can never be skipped: fix the stack")
        elif not BUILT_IN_ID.match(check_id):
            problems.append(f"{where} 'id' must be a built-in AWS or Kubernetes check id such as CKV_AWS_18 or CKV_K8S_43 (value: {check_id!r})")
        if len(reason) < MIN_REASON_CHARS:
            problems.append(f"{where} 'reason' must explain the skip in at least {MIN_REASON_CHARS} characters (value: {reason!r})")
        if check_id in seen:
            problems.append(f"{where} 'id' {check_id} is listed twice")
        seen.add(check_id)
        skips.append(Skip(check_id=check_id, reason=" ".join(reason.split())))
    if problems:
        raise ConfigError(problems, source=str(path))
    return tuple(skips)
