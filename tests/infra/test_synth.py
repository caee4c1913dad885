"""``sahab synth`` as a user runs it, and the library function behind it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from environments import load_environment, project_root
from environments.errors import GateFailed

SAHAB = [sys.executable, "-m", "infra.cli.main"]


def run_sahab(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([*SAHAB, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_synth_all_writes_every_cloud_stack_with_uae_providers_only(synthesized_all, tmp_path):
    from infra.cli.main import app

    result = CliRunner().invoke(app, ["synth", "--all", "--outdir", str(tmp_path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    written = sorted(p.parent.name for p in (tmp_path / "stacks").glob("*/cdk.tf.json"))
    layers = ("network", "security", "data", "compute", "workloads")
    assert written == sorted([f"{e}-{l}" for e in ("smb", "dev", "staging", "prod") for l in layers] + ["prod-guardrails", "prod-recovery"])
    for path in (tmp_path / "stacks").glob("*/cdk.tf.json"):
        assert {p["region"] for p in json.loads(path.read_text())["provider"]["aws"]} == {"me-central-1"}
    assert "prod-compute" in result.output and "no cloud stacks" in result.output


def test_a_non_uae_region_exits_2_naming_the_field_and_allowed_regions_and_writes_nothing(tmp_path):
    data = yaml.safe_load((project_root() / "environments" / "smb.yaml").read_text())
    data["region"] = "eu-west-1"
    bad = tmp_path / "smb.yaml"
    bad.write_text(yaml.safe_dump(data))
    outdir = tmp_path / "out"
    completed = run_sahab("synth", str(bad), "--outdir", str(outdir), cwd=project_root())
    assert completed.returncode == 2, completed.stderr
    assert "'region'" in completed.stderr and "eu-west-1" in completed.stderr and "me-central-1" in completed.stderr
    assert not outdir.exists()


def test_synth_without_environments_or_all_exits_2_listing_the_environments(tmp_path):
    completed = run_sahab("synth", "--outdir", str(tmp_path / "out"), cwd=project_root())
    assert completed.returncode == 2
    assert "local, smb, dev, staging, prod" in completed.stderr


def test_a_residency_violation_slipped_in_through_an_escape_hatch_refuses_synthesis_and_writes_nothing(
    synthesized_all, tmp_path, monkeypatch
):
    import infra.synth

    real_build_app = infra.synth.build_app

    def build_app_with_escape_hatch(app, envs):
        real_build_app(app, envs)
        from modules.cdk import TerraformStack, s3_bucket

        data_stack = next(s for s in app.node.children if isinstance(s, TerraformStack) and s.node.id == "smb-data")
        bucket = next(c for c in data_stack.node.find_all() if isinstance(c, s3_bucket.S3Bucket))
        bucket.add_override("region", "eu-west-1")  # what a hurried edit of a stack might do

    monkeypatch.setattr(infra.synth, "build_app", build_app_with_escape_hatch)
    with pytest.raises(GateFailed, match=r"(?s)synthesis refused, nothing was written:\n  \[smb-data/DataBucket/Bucket\] residency: .*'eu-west-1'"):
        infra.synth.synth([load_environment("smb")], tmp_path)
    assert not (tmp_path / "stacks").exists()


def test_synthesising_a_local_environment_writes_no_cloud_stacks(tmp_path):
    from infra.synth import synth

    result = synth([load_environment("local")], tmp_path)
    assert result.stacks == [] and result.local_only == ["local"]
    assert not (tmp_path / "stacks").exists()


def test_a_construct_refusal_found_at_synth_time_exits_2_with_one_message(synthesized_all, tmp_path, monkeypatch, capsys):
    """A pool the schema never saw (an environment built in Python, not read from YAML) is refused by the
    construct with the project's error type, and the CLI turns it into the documented exit 2."""
    from environments import NodePoolConfig
    from infra.cli import main as cli_main
    from infra.cli import synth_cmd

    env = load_environment("smb")
    mixed = NodePoolConfig.model_construct(**{**env.node_pools["cpu"].__dict__, "instance_types": ["m7g.large", "m7i.large"]})
    unvalidated = env.model_copy(update={"node_pools": {**env.node_pools, "cpu": mixed}})
    monkeypatch.setattr(synth_cmd, "select_environments", lambda names, all_: [unvalidated])
    monkeypatch.setattr(sys, "argv", ["sahab", "synth", "smb", "--outdir", str(tmp_path)])
    with pytest.raises(SystemExit) as exited:
        cli_main.main()
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("error: NodePool 'cpu': 'instance_types' must share one CPU architecture") and "Traceback" not in error
    assert not (tmp_path / "stacks").exists()


@pytest.mark.slow
def test_sahab_synth_run_directly_without_the_jsii_variables_prints_no_node_banner(tmp_path):
    bare = {k: v for k, v in os.environ.items() if not k.startswith("JSII_")}
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "sahab"), "synth", "smb", "--outdir", str(tmp_path)],
        cwd=project_root(), env={**bare, "COLUMNS": "200"}, capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    assert "smb-compute" in completed.stdout
    assert "end-of-life" not in completed.stdout + completed.stderr and "!!" not in completed.stderr


def test_jsii_itself_prints_the_node_banner_when_nothing_silences_it():
    """The control for the test above: without ``modules.cdk`` setting the variables, the banner appears."""
    bare = {k: v for k, v in os.environ.items() if not k.startswith("JSII_")}
    completed = subprocess.run([sys.executable, "-c", "import cdktf"], env=bare, capture_output=True, text=True, timeout=120)
    assert "end-of-life" in completed.stdout + completed.stderr
