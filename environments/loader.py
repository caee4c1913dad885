"""Reading environment files: find them, parse the YAML, validate, and report every problem at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from environments.data_paths import project_root
from environments.errors import ConfigError
from environments.schema import Environment


def environments_dir() -> Path:
    """The folder of the shipped environment files (this package's own folder)."""
    return project_root() / "environments"


def available_environments(directory: Path | None = None) -> list[str]:
    """Environment names, in the order a reader expects them (local first, prod last)."""
    order = {"local": 0, "smb": 1, "dev": 2, "staging": 3, "prod": 4}
    names = [p.stem for p in (directory or environments_dir()).glob("*.yaml")]
    return sorted(names, key=lambda n: (order.get(n, 5), n))


def _format_validation_error(error: ValidationError, data: Any) -> list[str]:
    problems = []
    for item in error.errors():
        loc = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "is not a known field (check the spelling; unknown keys are refused)"
        elif item["type"] == "missing":
            message = "is required"
        value = item.get("input")
        shown = "" if item["type"] in ("missing",) or isinstance(value, dict) else f" (value: {value!r})"
        where = f"'{loc}': " if loc else ""
        problems.append(f"{where}{message}{shown}")
    return problems


def parse_environment(data: Any, *, source: str = "<environment>", expected_name: str | None = None) -> Environment:
    """Validate a mapping as an ``Environment``; raise ``ConfigError`` naming every problem at once."""
    if not isinstance(data, dict):
        raise ConfigError("the file must contain a YAML mapping of fields", source=source)
    try:
        env = Environment.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, data), source=source) from None
    if expected_name is not None and env.name != expected_name:
        raise ConfigError(f"'name' must equal the file name {expected_name!r} (value: {env.name!r})", source=source)
    return env


def load_environment(name_or_path: str | Path, directory: Path | None = None) -> Environment:
    """Load ``environments/<name>.yaml`` (or a path to any YAML file) and validate it."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        path = candidate
    else:
        path = (directory or environments_dir()) / f"{name_or_path}.yaml"
    if not path.is_file():
        known = available_environments(directory)
        raise ConfigError(f"no environment file {path} (known environments: {', '.join(known) or 'none'})")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"is not valid YAML: {exc}", source=str(path)) from None
    return parse_environment(data, source=str(path), expected_name=path.stem)


def load_environments(names: list[str] | None = None, directory: Path | None = None) -> list[Environment]:
    """Load several environments, collecting every file's problems before raising once."""
    names = names or available_environments(directory)
    loaded: list[Environment] = []
    problems: list[str] = []
    for name in names:
        try:
            loaded.append(load_environment(name, directory))
        except ConfigError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError(problems)
    return loaded

