"""Training jobs: data, model, training loop (CPU/GPU, DDP), export, signing and registration.

A regular package, so that a test folder of the same name on ``sys.path`` can never join or shadow it.
Module map: ``training/README.md``.
"""
