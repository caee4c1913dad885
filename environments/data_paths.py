"""Where an environment keeps its local working data: one folder, one name per part.

Everything a local environment writes lives under its data folder (``data_dir``, ``.sahab/<env>`` by
default). Several planes read what another wrote (the runner starts the server whose weights file the CLI
edits; training writes the offline store the feature store reads), so each subfolder is named here once.

| folder          | written by                              | read by                                  |
|-----------------|-----------------------------------------|------------------------------------------|
| ``offline``     | data generator, stream ingestor         | Feast (file offline store), training     |
| ``feature_repo``| ``features.store.apply``                | Feast                                    |
| ``streaming``   | the ingestor's window state             | the ingestor                             |
| ``broker``      | the local Kafka-protocol broker's log   | operators                                |
| ``training``    | training runs (checkpoints)             | training                                 |
| ``models``      | the registry (signed versions)          | serving, ``sahab models``                |
| ``keys``        | the local Ed25519 signing key           | signing, verification                    |
| ``bentoml``     | BentoML's home (its model store)        | BentoML                                  |
| ``run``         | pid records, the live weights file      | ``sahab down``, the server's workers     |
| ``predictions`` | the prediction log                      | the drift monitor                        |
| ``reports``     | drift reports, reference caches         | operators                                |
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


def project_root() -> Path:
    """The repository root: the folder that holds ``environments/`` (relative data folders start here)."""
    return Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class DataPaths:
    """The subfolders of one environment's data folder ``root`` (nothing is created here)."""

    root: Path

    @property
    def offline(self) -> Path:
        return self.root / "offline"

    @property
    def feature_repo(self) -> Path:
        return self.root / "feature_repo"

    @property
    def streaming(self) -> Path:
        return self.root / "streaming"

    @property
    def broker(self) -> Path:
        return self.root / "broker"

    @property
    def training(self) -> Path:
        return self.root / "training"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    @property
    def bentoml(self) -> Path:
        return self.root / "bentoml"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def predictions(self) -> Path:
        return self.root / "predictions"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def privacy(self) -> Path:
        """Erasure requests honoured by readers, and the audit of erasures and prunes (``infra.privacy``)."""
        return self.root / "privacy"
