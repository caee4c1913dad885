"""cdktf app entry point (``cdktf.json`` runs this), so ``cdktf synth`` / ``cdktf deploy <stack>`` work too.

It builds the same stacks as ``sahab synth --all``; ``SAHAB_ENVIRONMENTS=smb,prod`` narrows them.
"""

from __future__ import annotations

import os

from environments import load_environments
from infra.synth import build_app


def main() -> None:
    from modules.cdk import App

    names = [n for n in os.environ.get("SAHAB_ENVIRONMENTS", "").split(",") if n] or None
    app = App()
    build_app(app, load_environments(names))
    app.synth()


if __name__ == "__main__":
    main()
