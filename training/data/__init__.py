"""Training data: the seeded transaction generator (``generator``) and the offline-store writer (``offline``)."""
