"""Serving plane: the BentoML fraud-scoring service, its router, prediction log and drift monitor.

Everything here except ``fraud_scoring/service.py`` (and the exception base class that
``fraud_scoring/http_errors.py`` takes from ``bentoml.exceptions``) is plain Python, so the router,
the canary rules, the log sinks and the drift statistics are testable and reusable alone.
"""
