"""``sahab deploy ENV --engine pulumi`` refuses clearly before it does anything: no pulumi CLI, no kubeconfig,
a local state without a passphrase, a local environment, another layer than workloads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from environments import load_environment
from environments.errors import ConfigError
from infra.cluster import find_kubeconfig
from infra.pulumi_deploy import deploy_workloads, state_settings

SAHAB = Path(sys.executable).parent / "sahab"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def sahab(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SAHAB), *args], capture_output=True, text=True, cwd=PROJECT_ROOT, env=env, timeout=120)


def test_without_the_pulumi_cli_the_deploy_exits_2_naming_the_cli_and_the_alternative(tmp_path) -> None:
    bare_path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if not (Path(p) / "pulumi").exists())
    completed = sahab("deploy", "smb", "--engine", "pulumi", "--outdir", str(tmp_path / "out"),
                      env={**os.environ, "PATH": bare_path, "COLUMNS": "300"})
    assert completed.returncode == 2, completed.stderr
    assert "needs the pulumi CLI on PATH" in completed.stderr and "--engine terraform" in completed.stderr
    assert "Traceback" not in completed.stderr and not (tmp_path / "out").exists()


def test_the_pulumi_engine_deploys_the_workloads_layer_only() -> None:
    completed = sahab("deploy", "smb", "--engine", "pulumi", "--layer", "network", env={**os.environ, "COLUMNS": "300"})
    assert completed.returncode == 2 and "deploys the workloads layer only" in completed.stderr


def test_a_missing_kubeconfig_is_refused_naming_the_path_and_the_fix(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent" / "config"))
    with pytest.raises(ConfigError, match=r"no kubeconfig at .*absent/config: point --kubeconfig"):
        find_kubeconfig()
    config = tmp_path / "config"
    config.write_text("apiVersion: v1\nkind: Config\n")
    assert find_kubeconfig(config) == config


def test_a_local_pulumi_state_needs_a_passphrase_for_its_secrets(monkeypatch) -> None:
    env = load_environment("smb")
    for name in ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="PULUMI_CONFIG_PASSPHRASE"):
        state_settings(env)
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "test")
    settings = state_settings(env)
    assert settings["PULUMI_BACKEND_URL"] == f"file://{env.paths.root / 'pulumi'}"
    assert settings["PULUMI_SKIP_UPDATE_CHECK"] == "true"


def test_a_local_environment_has_no_workloads_to_deploy() -> None:
    with pytest.raises(ConfigError, match="its workloads run on this machine"):
        deploy_workloads(load_environment("local"))
