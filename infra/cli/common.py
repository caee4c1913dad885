"""Helpers shared by command modules: environment selection and consoles."""

from __future__ import annotations

from rich.console import Console

from environments import Environment, available_environments, load_environments
from environments.errors import ConfigError

console = Console()


def refuse_names_with_all(names: list[str] | None, all_: bool) -> None:
    """``[ENV ...|--all]`` is a choice: names and ``--all`` together would silently drop one of them."""
    if all_ and names:
        raise ConfigError("pass environment names or --all, not both")


def select_environments(names: list[str] | None, all_: bool) -> list[Environment]:
    """Validate the ``[ENV ...|--all]`` choice and load those environments (every problem at once)."""
    refuse_names_with_all(names, all_)
    if not all_ and not names:
        known = ", ".join(available_environments())
        raise ConfigError(f"name at least one environment ({known}) or pass --all")
    return load_environments(None if all_ else list(names or []))
