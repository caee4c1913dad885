"""One exception hierarchy for the whole library.

Library code raises these (from the schema up to the roof); only the command-line edge (``infra.cli``)
turns them into exit codes, so the same functions can be called from Python, from tests and from the CLI
alike. They live on the ground floor because every layer raises them.
"""

from __future__ import annotations


class SahabError(Exception):
    """Base of every error Sahab raises on purpose. ``exit_code`` is what the CLI exits with."""

    exit_code: int = 1


class ConfigError(SahabError):
    """Bad configuration or usage: an environment file, a flag, a missing input. Exit 2."""

    exit_code = 2

    def __init__(self, problems: list[str] | str, *, source: str | None = None) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.source = source
        head = f"{source}: " if source else ""
        if len(self.problems) == 1:
            message = head + self.problems[0]
        else:
            message = head + f"{len(self.problems)} problems:\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(message)


class GateFailed(SahabError):
    """The policy gate found a violation, or could not prove the stacks clean. Exit 1."""


class CommandFailed(SahabError):
    """An external step (terraform, a server, a broker) failed. Exit 1."""


class IntegrityError(SahabError):
    """A model artifact or manifest failed its signature or digest check. Exit 1."""


class DriftDetected(SahabError):
    """A drift threshold was crossed: the hook for retrain or rollback. Exit 3."""

    exit_code = 3
