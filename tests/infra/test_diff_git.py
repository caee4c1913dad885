"""``sahab diff --base REF`` as a reviewer's CI runs it: throwaway git repositories holding this project, two commits,
real ``git``, real synthesis of both sides (the base in a temporary worktree with its own code) and the real gate."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.cost.estimate import load_prices

pytestmark = pytest.mark.slow

PROJECT_ROOT = Path(__file__).resolve().parents[2]
COPIED = ("environments", "modules", "stacks", "infra", "policies", "features", "training", "bento_services", "tools",
          "pyproject.toml", "cdktf.json")


def git(repo: Path, *argv: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *argv], check=True, capture_output=True, text=True).stdout


def sahab_diff(repo: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "COLUMNS": "200", "SAHAB_CHECKOV_HOME": str(PROJECT_ROOT / ".tools" / "checkov")}
    return subprocess.run([sys.executable, "-m", "infra.cli.main", "diff", *argv], cwd=repo, env=environment,
                          capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository whose one commit is this project's code and environments."""
    root = tmp_path_factory.mktemp("gitops") / "sahab"
    root.mkdir()
    for name in COPIED:
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, root / name)
    git(root, "init", "-q", "-b", "main")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "base")
    return root


def edit(file: Path, old: str, new: str) -> None:
    text = file.read_text()
    assert old in text, f"{file} no longer holds {old!r}: update this test's edit"
    file.write_text(text.replace(old, new, 1))


SCRATCH_BUCKET = '''
        from modules.cdk import s3_bucket, s3_bucket_server_side_encryption_configuration as sse

        scratch = s3_bucket.S3Bucket(self, "ScratchBucket", bucket=env.resource_name("scratch"))
        sse.S3BucketServerSideEncryptionConfigurationA(self, "ScratchEncryption", bucket=scratch.id, rule=[
            sse.S3BucketServerSideEncryptionConfigurationRuleA(
                apply_server_side_encryption_by_default=sse.S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                    sse_algorithm="aws:kms"))])  # an AWS-managed key
'''


@pytest.fixture(scope="module")
def changed(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str, subprocess.CompletedProcess[str]]:
    """A clone with a second commit: the CPU pool 2 → 4 nodes, buckets renamed, Kafka's construct renamed in code,
    a bucket added with an AWS-managed key; then ``sahab diff --base HEAD~1 smb``."""
    clone = tmp_path_factory.mktemp("pr") / "sahab"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    edit(clone / "environments" / "smb.yaml", "instance_types: [m7i.large]\n    min_size: 2\n",
         "instance_types: [m7i.large]\n    min_size: 2\n    desired_size: 4\n")
    data = clone / "stacks" / "data.py"
    edit(data, "bucket_name=names.account_scoped(env.resource_name(purpose)",
         'bucket_name=names.account_scoped(env.resource_name(f"{purpose}-v2")')
    edit(data, '"Kafka",\n                props=KafkaClusterProps', '"Streaming",\n                props=KafkaClusterProps')
    data.write_text(data.read_text() + SCRATCH_BUCKET)
    git(clone, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-am", "change")
    out = clone.parent / "out"
    completed = sahab_diff(clone, "--base", "HEAD~1", "smb", "--markdown", str(out / "comment.md"),
                           "--json", str(out / "diff.json"), "--reports", str(out / "reports"))
    assert completed.returncode in (0, 1), completed.stdout + completed.stderr
    assert git(clone, "worktree", "list").count("\n") == 1  # the base's worktree is gone
    return json.loads((out / "diff.json").read_text()), (out / "comment.md").read_text(), completed


def by_path(report: dict[str, Any], path: str) -> dict[str, Any]:
    (change,) = [c for c in report["changes"] if c["path"] == path]
    return change


def test_an_untouched_tree_says_no_infrastructure_change_and_exits_0(repo: Path, tmp_path: Path) -> None:
    completed = sahab_diff(repo, "--base", "HEAD", "smb", "--json", str(tmp_path / "diff.json"), "--reports", str(tmp_path))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    report = json.loads((tmp_path / "diff.json").read_text())
    assert report["verdict"] == "no infrastructure change" and report["changes"] == []
    assert completed.stdout.startswith("<!-- sahab-diff -->\n### Sahab infrastructure diff: **no infrastructure change**")
    assert git(repo, "worktree", "list").count("\n") == 1


def test_a_node_pool_grown_from_2_to_4_is_an_in_place_change_with_its_cost_in_aed(changed) -> None:
    report, comment, _ = changed
    pool = by_path(report, "CpuPool/NodeGroup")
    assert pool["action"] == "update"
    assert [(a["path"], a["old"], a["new"]) for a in pool["attributes"]] == [("scaling_config.desired_size", 2, 4)]
    prices = load_prices()
    two_nodes = 2 * prices.hourly_usd["ec2"]["m7i.large"] * prices.hours_per_month * prices.aed_per_usd
    (smb,) = report["costs"]
    assert smb["head_aed"] - smb["base_aed"] == pytest.approx(two_nodes + 2 * 50 * prices.monthly_usd["gp3_gb"] * prices.aed_per_usd
                                                              + prices.monthly_aed("s3_standard_gb", 100))  # + the scratch bucket
    assert "CpuPool/NodeGroup: 4 × m7i.large" in comment and "AED/month" in comment.splitlines()[1]


def test_a_renamed_bucket_is_a_replacement(changed) -> None:
    report, comment, _ = changed
    bucket = by_path(report, "DataBucket/Bucket")
    assert bucket["action"] == "replace"
    (attribute,) = bucket["attributes"]
    assert attribute["path"] == "bucket" and attribute["forces_replacement"]
    assert attribute["new"] == "sahab-smb-data-v2-${ref(CallerIdentity).account_id}"
    assert "`-/+` **DataBucket/Bucket** (`aws_s3_bucket`): **destroyed and re-created**" in comment


def test_a_construct_renamed_in_code_is_a_move_and_nothing_that_points_at_it_changes(changed) -> None:
    report, comment, _ = changed
    cluster = by_path(report, "Streaming/Cluster")
    assert cluster["action"] == "move" and cluster["moved_from"].startswith("smb-data:aws_msk_cluster.Kafka_Cluster_")
    assert not [c for c in report["changes"] if c["path"].startswith("Kafka/")]
    # the workloads read the cluster through cross-stack outputs: their grants moved with it (they are named after
    # the construct), nothing that points at it changed; the one update there is the environment file they mount
    workloads = [c for c in report["changes"] if c["stack"] == "smb-workloads"]
    assert {c["action"] for c in workloads if c["path"] != "ConfigMapSahabEnvironment"} == {"move"}
    assert "add a `moved` block" in comment


def test_a_changed_multi_line_value_shows_only_its_changed_lines(changed) -> None:
    report, comment, _ = changed
    (attribute,) = by_path(report, "ConfigMapSahabEnvironment")["attributes"]
    assert attribute["path"] == "manifest.data.smb.yaml"
    assert "    ```diff\n    -    desired_size: 2\n    +    desired_size: 4\n    ```" in comment


def test_a_bucket_with_an_aws_managed_key_is_a_new_policy_failure_the_verdict_names(changed) -> None:
    report, comment, completed = changed
    assert by_path(report, "ScratchBucket")["action"] == "create"
    new = {(f["check_id"], f["address"].split(".")[0]) for f in report["policy"]["newly_failing"]}
    assert ("CKV_SAHAB_8", "aws_s3_bucket_server_side_encryption_configuration") in new
    assert report["gate_failed"] and completed.returncode == 1
    assert "new policy failure" in report["verdict"] and report["verdict"] in completed.stderr
    assert "CKV_SAHAB_8" in comment


def test_a_base_that_does_not_synthesise_fails_naming_it_and_leaves_no_worktree(repo: Path, tmp_path: Path) -> None:
    clone = tmp_path / "sahab"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    edit(clone / "environments" / "smb.yaml", "region: me-central-1", "region: eu-west-1")
    git(clone, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-am", "a foreign region")
    edit(clone / "environments" / "smb.yaml", "region: eu-west-1", "region: me-central-1")
    git(clone, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-am", "back home")
    completed = sahab_diff(clone, "--base", "HEAD~1", "smb", "--reports", str(tmp_path / "reports"))
    assert completed.returncode == 1
    assert "the base commit's `sahab synth` exited 2; its last lines:" in completed.stderr
    assert "eu-west-1" in completed.stderr  # the base's own refusal, passed on
    assert git(clone, "worktree", "list").count("\n") == 1


def test_a_ref_that_is_not_a_commit_is_refused_naming_how_to_fetch_it(repo: Path) -> None:
    completed = sahab_diff(repo, "--base", "origin/no-such-branch", "smb")
    assert completed.returncode == 2
    assert "'--base' 'origin/no-such-branch' is not a commit" in completed.stderr and "git fetch origin main" in completed.stderr
