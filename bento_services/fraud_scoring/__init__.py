"""The fraud-scoring BentoML service (``service.py``) and the framework-free parts it is built from."""
