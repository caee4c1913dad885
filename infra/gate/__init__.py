"""The policy gate: Checkov (built-in AWS checks plus ours) over synthesised stacks, proven meaningful.

``run_checkov`` scans stacks and returns a ``GateReport``; ``write_sarif`` and ``write_junit``
write it for CI; ``load_skips`` reads the only sanctioned skip list (``policies/skips.yaml``).
"""
