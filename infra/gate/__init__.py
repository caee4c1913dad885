"""The policy gate: Checkov (built-in AWS checks plus ours) over synthesised stacks, proven meaningful.

Modules: ``check`` (synthesise if asked, scan, write reports: what ``sahab check`` and ``deploy``
call), ``runner`` (one Checkov process and its verdict), ``model`` (``GateReport``), ``sarif`` and
``junit`` (the CI reports), ``skips`` (the only sanctioned skip list, ``policies/skips.yaml``).
"""
