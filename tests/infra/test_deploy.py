"""``sahab deploy`` / ``sahab plan``: credentials first, gate second, then Terraform layer by layer.

Terraform cannot reach a provider registry here, so the engine is the one seam: ``deploy`` takes a
``runner`` callable, and these tests record the commands it is given (never terraform's output).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from environments import load_environment
from infra.deploy import deploy, find_aws_credentials, stack_commands, terraform_runner
from recording_runner import RecordingRunner
from environments.errors import CommandFailed, ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
AWS_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE",
                 "AWS_ROLE_ARN")


@pytest.fixture
def no_aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """An environment in which botocore finds no credentials at all; returned for subprocesses."""
    for name in AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    return dict(os.environ)


@pytest.fixture
def fake_aws_credentials(no_aws_credentials: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATESTINGONLY00000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-only")


@pytest.fixture(scope="module")
def smb_stacks(synthesized_all):
    return synthesized_all.for_env("smb")


def test_credentials_from_environment_variables_are_found_offline(fake_aws_credentials: None) -> None:
    assert find_aws_credentials() == "env"


def test_no_credentials_is_a_config_error_that_says_how_to_log_in(no_aws_credentials: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match=r"no AWS credentials found .*`aws sso login"):
        find_aws_credentials()


def test_deploy_refuses_without_credentials_before_synthesising(no_aws_credentials: dict[str, str]) -> None:
    synthesized: list[str] = []
    runner = RecordingRunner()
    with pytest.raises(ConfigError, match="no AWS credentials found"):
        deploy(load_environment("smb"), synthesize=lambda env, outdir: synthesized.append(env.name) or [], runner=runner)
    assert synthesized == [] and runner.calls == []


def test_a_local_environment_cannot_be_deployed() -> None:
    with pytest.raises(ConfigError, match="'local' is a local environment .*`sahab up local`"):
        deploy(load_environment("local"), runner=RecordingRunner(), credentials=lambda: "test")


def test_an_engine_missing_from_path_is_refused_with_where_to_get_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConfigError, match=r"'tofu' is not on PATH: install it \(https://opentofu.org"):
        terraform_runner("tofu")


def test_an_unknown_engine_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"'--engine' must be one of \['terraform', 'tofu'\]"):
        terraform_runner("pulumi")


def test_an_unknown_layer_is_refused_before_the_gate(smb_stacks) -> None:
    runner = RecordingRunner()
    with pytest.raises(ConfigError, match=r"'--layer' must be one of \['security', 'network', 'compute', 'data', 'workloads'\]"):
        deploy(load_environment("smb"), layer="database", synthesize=lambda env, outdir: smb_stacks, runner=runner,
               credentials=lambda: "test")
    assert runner.calls == []


def test_deploy_inits_and_applies_every_layer_in_order_after_a_clean_gate(smb_stacks, tmp_path: Path) -> None:
    runner = RecordingRunner()
    result = deploy(load_environment("smb"), synthesize=lambda env, outdir: smb_stacks, runner=runner,
                    credentials=lambda: "test", reports_dir=tmp_path)
    assert result.gate.report.ok
    assert "smb-manifests" in {s.name for s in result.gate.report.stacks}  # the rendered workloads were gated too
    expected = []
    for stack in smb_stacks:
        expected += [(f"-chdir={stack.path.parent}", "init", "-input=false"), (f"-chdir={stack.path.parent}", "apply")]
    assert runner.calls == expected
    assert [s.layer for s in smb_stacks] == ["security", "network", "compute", "data", "workloads"]


def test_a_failed_layer_stops_the_layers_after_it(smb_stacks, tmp_path: Path) -> None:
    runner = RecordingRunner(fail_when="smb-network apply")
    with pytest.raises(CommandFailed, match="exited 1"):
        deploy(load_environment("smb"), synthesize=lambda env, outdir: smb_stacks, runner=runner,
               credentials=lambda: "test", reports_dir=tmp_path)
    assert [call[1] for call in runner.calls] == ["init", "apply", "init", "apply"]
    assert not [call for call in runner.calls if "smb-compute" in call[0] or "smb-data" in call[0]]


def test_plan_of_one_layer_runs_init_and_plan_for_that_layer_only(smb_stacks) -> None:
    network = [s for s in smb_stacks if s.layer == "network"]
    chdir = f"-chdir={network[0].path.parent}"
    assert [c.argv for c in stack_commands(network, action="plan")] == [
        (chdir, "init", "-input=false"), (chdir, "plan", "-input=false"),
    ]


def test_plan_with_out_saves_each_layers_plan_and_writes_it_as_json_for_sahab_diff(smb_stacks, tmp_path: Path) -> None:
    runner = RecordingRunner()
    out = tmp_path / "plans"
    deploy(load_environment("smb"), action="plan", synthesize=lambda env, outdir: smb_stacks, runner=runner,
           credentials=lambda: "test", reports_dir=tmp_path / "reports", plan_out=out)
    assert out.is_dir()
    for stack in smb_stacks:
        chdir, saved = f"-chdir={stack.path.parent}", str(out / f"{stack.name}.tfplan")
        index = runner.calls.index((chdir, "plan", "-input=false", f"-out={saved}"))
        assert runner.calls[index + 1] == (chdir, "show", "-json", saved)
        assert runner.outputs[index + 1] == out / f"{stack.name}.plan.json"
    assert {c[1] for c in runner.calls} == {"init", "plan", "show"}


def test_auto_approve_applies_without_a_prompt(smb_stacks) -> None:
    commands = stack_commands(smb_stacks[:1], action="apply", auto_approve=True)
    assert commands[1].argv[1:] == ("apply", "-input=false", "-auto-approve")


def test_sahab_deploy_without_credentials_exits_2_with_the_reason(no_aws_credentials: dict[str, str]) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "infra.cli.main", "deploy", "smb"],
        capture_output=True, text=True, cwd=PROJECT_ROOT, env=no_aws_credentials, timeout=120,
    )
    assert completed.returncode == 2
    assert "no AWS credentials found" in completed.stderr


def test_the_region_guard_is_applied_only_when_asked_for_by_its_layer(synthesized_all, tmp_path: Path) -> None:
    """prod-guardrails needs the management account's credentials: a plain deploy leaves it out."""
    prod = synthesized_all.for_env("prod")
    plain = RecordingRunner()
    deploy(load_environment("prod"), synthesize=lambda env, outdir: prod, runner=plain, credentials=lambda: "test",
           reports_dir=tmp_path)
    assert not [c for c in plain.calls if "prod-guardrails" in c[0]] and len(plain.calls) == 10
    guard = RecordingRunner()
    deploy(load_environment("prod"), layer="guardrails", synthesize=lambda env, outdir: prod, runner=guard,
           credentials=lambda: "test", reports_dir=tmp_path)
    assert [c[1] for c in guard.calls] == ["init", "apply"] and all("prod-guardrails" in c[0] for c in guard.calls)

def test_a_failed_engine_command_run_with_keep_tail_quotes_its_last_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``sahab up`` runs the engine with ``keep_tail``: its output still reaches the terminal, and a failure names
    the engine's last lines (here a stand-in ``terraform`` on PATH that prints 20 lines and exits 1)."""
    engine = tmp_path / "bin" / "terraform"
    engine.parent.mkdir()
    engine.write_text("#!/bin/sh\nfor i in $(seq 1 20); do echo \"line $i\"; done\necho 'Error: creating EKS Cluster' >&2\nexit 1\n")
    engine.chmod(0o755)
    monkeypatch.setenv("PATH", f"{engine.parent}:{os.environ['PATH']}")
    with pytest.raises(CommandFailed) as failed:
        terraform_runner("terraform", keep_tail=True)(["-chdir=x", "apply", "-auto-approve"])
    message = str(failed.value)
    assert message.startswith("`terraform -chdir=x apply -auto-approve` exited 1")
    assert "its last lines:\nline 7\n" in message and message.endswith("line 20\nError: creating EKS Cluster")
    assert "line 6\n" not in message  # 15 lines, no more
