"""Every library's phone-home, switched off in one place, in every Sahab process.

Residency is the product's reason to exist: nothing may leave the machine or the cluster that the user did not
ask for. ``environments`` is imported by every Sahab process (the CLI, BentoML's workers, torchrun's workers,
the ingestor, Checkov's subprocess through the gate's environment), so ``switch_off()`` runs from its package
init; a variable the user set explicitly is left as set (their choice, their request). The rendered cloud
workloads carry the same variables (``modules/workloads``). ``tests/e2e/test_egress.py`` proves the result
with a syscall tracer.

| variable | stops |
|---|---|
| ``ORT_DISABLE_TELEMETRY=1`` | ONNX Runtime's 1DS uploader (since 1.29 on Linux too): it resolves and posts to ``mobile.events.data.microsoft.com`` a few seconds after the first session, with a persistent device id; read once, before ORT initialises, so it must be in the environment first (``disable_telemetry_events()`` does not stop it: probed) |
| ``BENTOML_DO_NOT_TRACK=True`` | BentoML's usage tracking (serve start/stop, builds) |
| ``DO_NOT_TRACK=1`` | the cross-tool convention (consoledonottrack.com) several CLIs honour |
| ``CHECKPOINT_DISABLE=1`` | HashiCorp checkpoint: Terraform's and the cdktf CLI's version and alert calls |
| ``PULUMI_SKIP_UPDATE_CHECK=true`` | the Pulumi CLI's update check |
| ``HF_HUB_OFFLINE=1``, ``TRANSFORMERS_OFFLINE=1`` | any Hugging Face hub look-up by a model library |
| ``PIP_DISABLE_PIP_VERSION_CHECK=1`` | pip's version check against PyPI |
| ``CKV_SKIP_PACKAGE_UPDATE_CHECK=True`` | Checkov's update check against pypi.org at start (cached per user for a while, so it shows only now and then) |

Belt and braces for ONNX Runtime: ``quiet_onnxruntime`` also calls ``disable_telemetry_events()``, which
suppresses the events of later sessions.
"""

from __future__ import annotations

import os
from typing import Any

OFF: dict[str, str] = {
    "ORT_DISABLE_TELEMETRY": "1",
    "BENTOML_DO_NOT_TRACK": "True",
    "DO_NOT_TRACK": "1",
    "CHECKPOINT_DISABLE": "1",
    "PULUMI_SKIP_UPDATE_CHECK": "true",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    "CKV_SKIP_PACKAGE_UPDATE_CHECK": "True",
}


def switch_off() -> None:
    """Set every ``OFF`` variable this process and its children have not set."""
    for name, value in OFF.items():
        os.environ.setdefault(name, value)


def quiet_onnxruntime() -> Any:
    """``import onnxruntime`` with its telemetry events off; returns the module."""
    import onnxruntime

    onnxruntime.disable_telemetry_events()
    return onnxruntime
