"""Serving plane: the BentoML fraud-scoring service, its router, prediction log and drift monitor.

Everything here except ``fraud_scoring/service.py`` is plain Python (no BentoML import), so the
router, the canary rules, the log sinks and the drift statistics are testable and reusable alone.
"""
