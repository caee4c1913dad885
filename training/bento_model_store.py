"""Registering model versions in BentoML's model store, kept inside the project.

``BENTOML_HOME`` is ``<data>/bentoml``, so nothing lands in ``~/bentoml`` and each environment has
its own store. The store is passed to BentoML explicitly (not read from the environment variable)
because BentoML reads ``BENTOML_HOME`` once at import: a process that imported it earlier would
otherwise write to the wrong place without a word. ``bentoml serve`` processes need the variable:
``bentoml_env(env)`` gives it.

Each BentoML model ``<models.bentoml_model_name>:<version_id>`` holds the signed version folder
under ``<model path>/<version_id>/``, so ``load_verified`` checks it exactly as any other copy.
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

from environments import Environment
from training.manifest import Manifest

#: pathspec 1.x deprecates the pattern factory that BentoML 1.4 uses for its default ignore spec, built
#: when ``bentoml.models`` first loads; the notice is about BentoML's code and tells our users nothing.
BENTOML_PATHSPEC_NOTICE = r"GitWildMatchPattern \('gitwildmatch'\) is deprecated"


def bentoml_home(env: Environment) -> Path:
    return env.paths.bentoml


def bentoml_env(env: Environment) -> dict[str, str]:
    """Environment variables for a process that uses this environment's BentoML store."""
    return {"BENTOML_HOME": str(bentoml_home(env)), "BENTOML_DO_NOT_TRACK": "True"}


def _bentoml() -> ModuleType:
    """``bentoml`` with its model API loaded, without pathspec's notice about BentoML's own code.

    Feast runs ``warnings.simplefilter("once", DeprecationWarning)`` when it is imported (feast 0.67),
    in front of any "ignore" a caller set (``sahab up`` sets one), so without this the notice lands in
    the middle of ``sahab up``'s progress display when the first version is registered. Only that
    message is silenced, and only while BentoML loads.
    """
    os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=BENTOML_PATHSPEC_NOTICE, category=DeprecationWarning)
        import bentoml
        import bentoml.models
    return bentoml


def _model_store(env: Environment) -> Any:
    _bentoml()
    from bentoml._internal.models.model import ModelStore  # the store class BentoML's own container builds

    root = bentoml_home(env) / "models"
    root.mkdir(parents=True, exist_ok=True)
    return ModelStore(root)


def bentoml_tag(env: Environment, version_id: str) -> str:
    return f"{env.models.bentoml_model_name}:{version_id}"


def register_in_bentoml(env: Environment, version_dir: Path, manifest: Manifest) -> str:
    """Copy a signed version folder into a new BentoML model; return its tag. Idempotent per version."""
    bentoml = _bentoml()
    from bentoml.exceptions import NotFound

    store = _model_store(env)
    tag = bentoml_tag(env, manifest.version_id)
    try:
        bentoml.models.get(tag, _model_store=store)
        return tag
    except NotFound:
        pass
    numeric = {k: v for k, v in manifest.metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    with bentoml.models.create(
        tag,
        labels={"environment": env.name, "feature_service": manifest.feature_service, "git_commit": manifest.git.commit[:12]},
        metadata={"version_id": manifest.version_id, "data_snapshot_sha256": manifest.data_snapshot_sha256, **numeric},
        _model_store=store,
    ) as model:
        shutil.copytree(version_dir, Path(model.path) / manifest.version_id)
    return tag


def bentoml_version_dir(env: Environment, version_id: str) -> Path:
    """The signed version folder inside the BentoML model of ``version_id`` (``NotFound`` if absent)."""
    bentoml = _bentoml()
    model = bentoml.models.get(bentoml_tag(env, version_id), _model_store=_model_store(env))
    return Path(model.path) / version_id
