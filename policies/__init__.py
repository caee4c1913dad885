"""Sahab's policy gate: custom Checkov checks (``checks/``) and the skip list (``skips.yaml``).

The checks run inside Checkov's own tool environment (``.tools/checkov``), never in the project's
``.venv``: only ``checks/sahab_policy.py`` (pure Python, no Checkov import) is shared with the
gate and its tests.
"""
