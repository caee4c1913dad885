"""What every test that talks to a stand-in Kubernetes API needs: the version an EKS API server reports, and a
kubeconfig pointing the real client at the local server (no API server can run here)."""

from __future__ import annotations

import json
from pathlib import Path

#: What an EKS 1.33 API server answers on /version (the client's models are strict: every field is required).
EKS_VERSION = {"major": "1", "minor": "33", "gitVersion": "v1.33.5-eks-3cfe0ce",
               "gitCommit": "3cfe0ce6f3ab4e1f9e1e0c2f3e4d5a6b7c8d9e0f", "gitTreeState": "clean",
               "buildDate": "2026-10-08T04:45:49Z", "goVersion": "go1.24.6", "compiler": "gc", "platform": "linux/amd64",
               "emulationMajor": "1", "emulationMinor": "33", "minCompatibilityMajor": "1", "minCompatibilityMinor": "32"}


def write_kubeconfig(path: Path, server: str) -> Path:
    """A kubeconfig at ``path`` whose one context talks to ``server`` with a static token."""
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "test",
        "clusters": [{"name": "test", "cluster": {"server": server}}],
        "users": [{"name": "test", "user": {"token": "test-token"}}],
        "contexts": [{"name": "test", "context": {"cluster": "test", "user": "test"}}],
    }))
    return path
