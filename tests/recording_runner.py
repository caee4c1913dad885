"""The engine-command seam of ``infra.deploy`` and ``infra.cloud_stack``: records each Terraform command instead of
running it (no providers can be downloaded here), answers ``state list`` as a given state would, and can fail one
command as a failed ``terraform apply`` would."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from environments.errors import CommandFailed


class RecordingRunner:
    def __init__(self, fail_when: str | None = None, state: Callable[[str], str] | None = None) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.outputs: list[Path | None] = []
        self.fail_when = fail_when
        self.state = state
        """``terraform state list`` of a stack folder (the output written for a command given ``stdout``)."""

    def __call__(self, argv: Sequence[str], stdout: Path | None = None) -> None:
        self.calls.append(tuple(argv))
        self.outputs.append(stdout)
        if stdout is not None:
            stdout.write_text(self.state(argv[0].removeprefix("-chdir=")) if self.state else "")
        if self.fail_when and self.fail_when in " ".join(argv):
            raise CommandFailed(f"`terraform {' '.join(argv)}` exited 1")
