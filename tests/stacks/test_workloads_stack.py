"""``<env>-workloads``: the rendered objects as kubernetes_manifest resources, one least-privilege IRSA role per
service account, and a kubernetes provider that authenticates through ``aws eks get-token`` in the UAE region."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from iam_documents import policies_by_role

from environments import load_environment, load_environments
from modules.workloads.manifests import render_workloads

CLOUD_ENVS = [e.name for e in load_environments() if e.is_cloud]


def stack(synthesized_all, env: str, layer: str = "workloads") -> dict[str, Any]:
    (found,) = [s for s in synthesized_all.stacks if s.name == f"{env}-{layer}"]
    return json.loads(found.path.read_text())


def role_policies(document: dict[str, Any], account: str) -> list[dict[str, Any]]:
    """Every statement of the inline policies attached to the IRSA role of ``account``."""
    (role_address,) = [a for a, r in document["resource"]["aws_iam_role"].items() if r["name"].endswith(f"-wl-{account}")]
    return policies_by_role(document)[f"${{aws_iam_role.{role_address}.id}}"]


def actions(statements: list[dict[str, Any]]) -> set[str]:
    return {action for s in statements for action in s["Action"]}


@pytest.mark.parametrize("env", CLOUD_ENVS)
def test_the_layer_applies_exactly_the_objects_the_gate_scanned(synthesized_all, env) -> None:
    manifests = [r["manifest"] for r in stack(synthesized_all, env)["resource"]["kubernetes_manifest"].values()]
    (written,) = [m for m in synthesized_all.manifests if m.env == env]
    scanned = list(yaml.safe_load_all(written.path.read_text()))
    canonical = lambda objects: sorted(json.dumps(o, sort_keys=True) for o in objects)  # noqa: E731
    assert canonical(manifests) == canonical(scanned) == canonical(render_workloads(load_environment(env)))


def test_the_kubernetes_provider_authenticates_with_eks_get_token_in_the_uae(synthesized_all) -> None:
    (provider,) = stack(synthesized_all, "smb")["provider"]["kubernetes"]
    (exec_,) = provider["exec"]
    assert exec_["command"] == "aws" and exec_["args"][:2] == ["eks", "get-token"]
    assert exec_["args"][-2:] == ["--region", "me-central-1"]
    assert "token" not in provider and "client_key" not in provider  # no static credential


def test_each_service_account_role_trusts_only_its_own_service_account(synthesized_all) -> None:
    document = stack(synthesized_all, "smb")
    subjects = set()
    for document_ in document["data"]["aws_iam_policy_document"].values():
        for statement in document_["statement"]:
            if statement.get("sid") == "IrsaAssumeRole":
                subjects |= {v for c in statement["condition"] if c["variable"].endswith(":sub") for v in c["values"]}
    assert subjects == {f"system:serviceaccount:sahab:{a}" for a in ("scoring", "ingestor", "feast", "training", "drift")}


def test_only_training_may_sign_models_and_only_training_may_write_the_models_bucket(synthesized_all) -> None:
    document = stack(synthesized_all, "smb")
    for account in ("scoring", "ingestor", "feast", "drift"):
        assert "kms:Sign" not in actions(role_policies(document, account)), account
    assert "kms:Sign" in actions(role_policies(document, "training"))
    models_writers = {
        account for account in ("scoring", "ingestor", "feast", "training", "drift")
        if any("s3:PutObject" in s["Action"] and "ModelsBucket" in json.dumps(s["Resource"])
               for s in role_policies(document, account))
    }
    assert models_writers == {"training"}


def test_the_scoring_role_writes_only_the_prediction_topic_and_reads_no_topic(synthesized_all) -> None:
    statements = role_policies(stack(synthesized_all, "smb"), "scoring")
    kafka = [s for s in statements if any(a.startswith("kafka-cluster:") for a in s["Action"])]
    writes = [s for s in kafka if "kafka-cluster:WriteData" in s["Action"]]
    (write,) = writes
    (resource,) = write["Resource"]
    assert resource.startswith("arn:aws:kafka:me-central-1:${data.terraform_remote_state.")
    assert resource.endswith("}:topic/sahab-smb-kafka/*/predictions")
    assert not any("kafka-cluster:ReadData" in s["Action"] for s in kafka)


def test_the_compute_layer_creates_an_immutable_repository_for_every_image_the_workloads_use(synthesized_all) -> None:
    repositories = stack(synthesized_all, "smb", "compute")["resource"]["aws_ecr_repository"].values()
    assert sorted(r["name"] for r in repositories) == ["sahab-smb/jobs", "sahab-smb/scoring"]
    assert {r["image_tag_mutability"] for r in repositories} == {"IMMUTABLE"}


def test_an_images_ci_repository_adds_a_push_role_that_passes_the_gate(tmp_path) -> None:
    """With workloads.images_ci.github_repository set, the compute layer trusts that repository's workflow."""
    from environments import ImagesCiConfig
    from infra.gate.check import check_targets, require_clean
    from infra.gate.scan_copy import ScanTarget
    from infra.synth import synth

    env = load_environment("smb")
    env = env.model_copy(update={"workloads": env.workloads.model_copy(
        update={"images_ci": ImagesCiConfig(github_repository="example-org/sahab")})})
    (compute,) = [s for s in synth([env], tmp_path / "out").stacks if s.layer == "compute"]
    document = json.loads(compute.path.read_text())
    assert [r["name"] for r in document["resource"]["aws_iam_role"].values() if r["name"].endswith("images-ci")] == [
        "sahab-smb-images-ci"]
    assert "images_ci_role_arn" in document["output"]
    require_clean(check_targets([ScanTarget(name=compute.name, file=compute.path)], reports_dir=tmp_path / "reports"))


def test_only_the_scoring_role_reads_the_routing_key_and_the_token_digests(synthesized_all) -> None:
    document = stack(synthesized_all, "smb")
    secrets = document["resource"]["aws_secretsmanager_secret"]
    names = {r["name"] for r in secrets.values()}
    assert {"sahab-smb-routing-key", "sahab-smb-api-tokens"} <= names
    assert all(r["kms_key_id"].startswith("${data.terraform_remote_state.") for r in secrets.values())  # the data CMK

    def reads_serving_secrets(account: str) -> bool:
        return any("secretsmanager:GetSecretValue" in s["Action"] and "ServingSecrets" in json.dumps(s["Resource"])
                   for s in role_policies(document, account))

    assert [a for a in ("scoring", "ingestor", "feast", "training", "drift") if reads_serving_secrets(a)] == ["scoring"]
