"""The Feast feature repository and stream ingestion (the lowest floor of the ML plane).

A regular package, so that a test folder of the same name on ``sys.path`` can never join or shadow it.
Module map: ``features/README.md``.
"""
