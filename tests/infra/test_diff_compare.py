"""The diff engine on the shipped environments' real Terraform JSON, edited as a pull request would change it."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infra.cost.estimate import load_prices
from infra.diff.compare import compare
from infra.diff.cost_delta import environment_cost
from infra.diff.model import DiffReport, Finding
from infra.diff.policy import policy_delta, read_findings
from infra.diff.render import MARKER, MAX_COMMENT_CHARS, render_json, render_markdown
from infra.diff.terraform_json import StackDocument, load_outdir, parse_stack

Raw = dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def raw(synthesized_all) -> Raw:
    """The smb and prod stacks as cdktf wrote them (JSON documents by stack name)."""
    return {s.name: json.loads(s.path.read_text()) for s in synthesized_all.stacks if s.env in ("smb", "prod")}


def parsed(raw: Raw) -> dict[str, StackDocument]:
    return {name: parse_stack(name, document) for name, document in raw.items()}


def edited(raw: Raw, stack: str, edit: Callable[[dict[str, Any]], None]) -> Raw:
    head = copy.deepcopy(raw)
    edit(head[stack])
    return head


def one(resources: dict[str, dict[str, Any]], prefix: str) -> tuple[str, dict[str, Any]]:
    (found,) = [(n, b) for n, b in resources.items() if n.startswith(prefix)]
    return found


def renamed_construct(document: dict[str, Any], old: str, new: str) -> None:
    """What renaming a construct id in code does to cdktf's JSON: new addresses and paths, same content."""
    text = json.dumps(document)
    for named in document["resource"].values():
        for name in list(named):
            if name.startswith(f"{old}_"):
                text = text.replace(f".{name}", f".{new}_{name.removeprefix(old + '_')}")
                text = text.replace(f'"{name}"', f'"{new}_{name.removeprefix(old + "_")}"')
    text = text.replace(f'/{old}/', f'/{new}/')
    document.clear()
    document.update(json.loads(text))


def test_the_same_synthesis_on_both_sides_is_no_change(raw: Raw) -> None:
    assert compare(parsed(raw), parsed(raw)) == []


def test_a_node_pool_grown_from_2_to_4_is_an_in_place_change_applied_only_at_creation(raw: Raw) -> None:
    def grow(document: dict[str, Any]) -> None:
        _, pool = one(document["resource"]["aws_eks_node_group"], "CpuPool")
        pool["scaling_config"]["desired_size"] = 4

    (change,) = compare(parsed(raw), parsed(edited(raw, "smb-compute", grow)))
    assert (change.stack, change.path, change.action) == ("smb-compute", "CpuPool/NodeGroup", "update")
    (attribute,) = change.attributes
    assert (attribute.path, attribute.old, attribute.new) == ("scaling_config.desired_size", 2, 4)
    assert attribute.ignored_after_create and not attribute.forces_replacement


def test_reordering_a_list_terraform_treats_as_a_set_is_no_change_but_reordering_an_ordered_one_is(raw: Raw) -> None:
    def reorder_subnets(document: dict[str, Any]) -> None:
        _, pool = one(document["resource"]["aws_eks_node_group"], "CpuPool")
        pool["subnet_ids"].reverse()

    assert compare(parsed(raw), parsed(edited(raw, "smb-compute", reorder_subnets))) == []

    def reorder_mappings(document: dict[str, Any]) -> None:
        _, template = one(document["resource"]["aws_launch_template"], "CpuPool")
        template["block_device_mappings"].append({"device_name": "/dev/xvdb"})
        template["block_device_mappings"].reverse()

    (change,) = compare(parsed(raw), parsed(edited(raw, "smb-compute", reorder_mappings)))
    assert change.path == "CpuPool/LaunchTemplate" and change.action == "update"


def test_a_renamed_bucket_is_a_replacement_naming_the_attribute_that_forces_it(raw: Raw) -> None:
    def rename(document: dict[str, Any]) -> None:
        _, bucket = one(document["resource"]["aws_s3_bucket"], "ModelsBucket")
        bucket["bucket"] = bucket["bucket"].replace("models", "artifacts")

    (change,) = compare(parsed(raw), parsed(edited(raw, "smb-data", rename)))
    assert (change.path, change.action) == ("ModelsBucket/Bucket", "replace")
    (attribute,) = change.replacing
    assert attribute.path == "bucket"
    assert attribute.new == "sahab-smb-artifacts-${ref(CallerIdentity).account_id}"  # the reference shown by name


def test_a_construct_renamed_in_code_is_a_move_of_each_block_and_its_dependents_do_not_change(raw: Raw) -> None:
    head = edited(raw, "smb-data", lambda d: renamed_construct(d, "Kafka", "Streaming"))
    changes = compare(parsed(raw), parsed(head))
    assert changes and {c.action for c in changes} == {"move"}
    cluster = next(c for c in changes if c.type == "aws_msk_cluster")
    assert cluster.path == "Streaming/Cluster" and cluster.moved_from.startswith("smb-data:aws_msk_cluster.Kafka_Cluster_")
    # the security-group rules, log group and configuration moved with it; nothing else is touched
    assert all(c.path.startswith("Streaming/") for c in changes)


def test_a_block_moved_to_another_stack_is_a_move_not_a_delete_and_a_create(raw: Raw) -> None:
    head = copy.deepcopy(raw)
    name, group = one(head["smb-data"]["resource"]["aws_cloudwatch_log_group"], "OnlineStore_SlowLog")
    del head["smb-data"]["resource"]["aws_cloudwatch_log_group"][name]
    moved = copy.deepcopy(group)
    moved["//"]["metadata"]["path"] = "smb-security/Logs/OnlineStoreSlowLog"
    head["smb-security"]["resource"].setdefault("aws_cloudwatch_log_group", {})["Logs_OnlineStoreSlowLog_1"] = moved

    changes = [c for c in compare(parsed(raw), parsed(head)) if c.type == "aws_cloudwatch_log_group"]
    (change,) = changes
    assert (change.action, change.stack, change.path) == ("move", "smb-security", "Logs/OnlineStoreSlowLog")
    assert change.moved_from == f"smb-data:aws_cloudwatch_log_group.{name}"


def test_references_are_shown_by_the_name_of_their_target_never_as_cdktf_tokens(raw: Raw) -> None:
    def data_bucket_on_the_models_key(document: dict[str, Any]) -> None:
        configurations = document["resource"]["aws_s3_bucket_server_side_encryption_configuration"]
        _, data = one(configurations, "DataBucket")
        _, models = one(configurations, "ModelsBucket")
        default = data["rule"][0]["apply_server_side_encryption_by_default"]
        default["kms_master_key_id"] = models["rule"][0]["apply_server_side_encryption_by_default"]["kms_master_key_id"]

    (change,) = compare(parsed(raw), parsed(edited(raw, "smb-data", data_bucket_on_the_models_key)))
    (attribute,) = change.attributes
    assert attribute.path == "rule[0].apply_server_side_encryption_by_default.kms_master_key_id"
    assert (attribute.old, attribute.new) == ("${ref(smb-security:Keys/Data).arn}", "${ref(smb-security:Keys/Models).arn}")
    assert not re.search(r"(data\.)?(aws_|terraform_remote_state)", json.dumps([attribute.old, attribute.new]))


def test_a_provider_region_change_is_shown_on_the_stack(raw: Raw) -> None:
    def move_region(document: dict[str, Any]) -> None:
        document["provider"]["aws"][0]["region"] = "me-south-1"

    (change,) = compare(parsed(raw), parsed(edited(raw, "prod-network", move_region)))
    assert (change.stack, change.type, change.action) == ("prod-network", "provider", "update")
    assert (change.attributes[0].old, change.attributes[0].new) == ("me-central-1", "me-south-1")


def test_the_cost_delta_of_two_more_nodes_is_their_hourly_price_for_a_month_in_aed(raw: Raw) -> None:
    prices = load_prices()

    def grow(document: dict[str, Any]) -> None:
        _, pool = one(document["resource"]["aws_eks_node_group"], "CpuPool")
        pool["scaling_config"]["desired_size"] = 4

    smb = {n: d for n, d in raw.items() if n.startswith("smb-")}
    cost = environment_cost("smb", smb, edited(smb, "smb-compute", grow), prices)
    nodes = 2 * prices.hourly_usd["ec2"]["m7i.large"] * prices.hours_per_month * prices.aed_per_usd
    volumes = 2 * 50 * prices.monthly_usd["gp3_gb"] * prices.aed_per_usd  # the pool's 50 GB gp3 root volumes
    assert cost.delta_aed == pytest.approx(nodes + volumes)
    assert {item for item, _, _ in cost.changed} == {"CpuPool/NodeGroup: 4 × m7i.large",
                                                       "CpuPool/NodeGroup: 4 × 50 GB gp3 root volumes"}


def test_an_instance_type_missing_from_the_price_table_is_reported_unpriced_not_free(raw: Raw) -> None:
    def exotic(document: dict[str, Any]) -> None:
        _, pool = one(document["resource"]["aws_eks_node_group"], "CpuPool")
        pool["instance_types"] = ["x8g.metal-48xl"]

    smb = {n: d for n, d in raw.items() if n.startswith("smb-")}
    cost = environment_cost("smb", smb, edited(smb, "smb-compute", exotic), load_prices())
    assert any("'x8g.metal-48xl' is not in the price table" in u for u in cost.unpriced)


def test_a_failure_of_a_moved_block_is_not_new_but_a_failure_of_a_new_block_is() -> None:
    base = [Finding("CKV_SAHAB_8", "smb-data", "aws_s3_bucket.Old_1", "")]
    head = [Finding("CKV_SAHAB_8", "smb-data", "aws_s3_bucket.New_1", ""),
            Finding("CKV_SAHAB_8", "smb-data", "aws_s3_bucket.Scratch_2", "")]
    delta = policy_delta(base, head, {"smb-data:aws_s3_bucket.Old_1": "smb-data:aws_s3_bucket.New_1"})
    assert [f.address for f in delta.newly_failing] == ["aws_s3_bucket.Scratch_2"]
    assert delta.newly_passing == () and delta.head_failures == 2


def test_the_gates_sarif_is_read_back_as_failures_by_stack_and_address(tmp_path: Path) -> None:
    from infra.gate.model import GateReport, Outcome, StackReport
    from infra.gate.sarif import write_sarif

    failed = Outcome("CKV_SAHAB_8", "S3 default encryption uses a CMK", "FAILED", "smb-data", "aws_s3_bucket.Scratch_1",
                     tmp_path / "cdk.tf.json", (1, 2), ("use the data key",))
    passed = Outcome("CKV_SAHAB_9", "other", "PASSED", "smb-data", "aws_s3_bucket.Data_1", tmp_path / "cdk.tf.json", (3, 4))
    report = GateReport(stacks=(StackReport("smb-data", tmp_path / "cdk.tf.json", (failed, passed)),), skips=(),
                        custom_checks=(), checkov_version="3.3.30", seconds=1.0)
    (finding,) = read_findings(write_sarif(report, tmp_path / "gate.sarif"))
    assert (finding.check_id, finding.stack, finding.address) == ("CKV_SAHAB_8", "smb-data", "aws_s3_bucket.Scratch_1")


def test_the_comment_starts_with_its_marker_and_the_verdict_and_stays_under_githubs_limit(raw: Raw) -> None:
    empty = {n: {"resource": {}} for n in raw}
    changes = compare(parsed(empty), parsed(raw))  # every block of smb and prod created
    report = DiffReport(base="main (abc)", environments=("smb", "prod"), changes=tuple(changes))
    text = render_markdown(report)
    assert text.startswith(MARKER + "\n### Sahab infrastructure diff: **")
    assert f"**{len(changes)} changes, 0 replacements**" in text
    assert len(text) <= MAX_COMMENT_CHARS + 200
    assert json.loads(render_json(report))["verdict"] == report.verdict()


def test_the_verdict_of_an_untouched_tree_is_no_infrastructure_change() -> None:
    from infra.diff.model import PolicyDelta

    report = DiffReport(base="main", environments=("smb",), changes=(), policy=PolicyDelta((), (), 0))
    assert report.verdict() == "no infrastructure change" and not report.gate_failed


def test_load_outdir_keeps_only_the_named_environments(synthesized_all) -> None:
    stacks = load_outdir(synthesized_all.outdir, ("smb",))
    assert stacks and all(name.startswith("smb-") for name in stacks)


def test_a_moved_resource_costs_the_same_on_both_sides_not_less_and_more(raw: Raw) -> None:
    smb = {n: d for n, d in raw.items() if n.startswith("smb-")}
    head = edited(smb, "smb-data", lambda d: renamed_construct(d, "Kafka", "Streaming"))
    moved = {c.moved_from: f"{c.stack}:{c.address}" for c in compare(parsed(smb), parsed(head)) if c.moved_from}
    cost = environment_cost("smb", smb, head, load_prices(), moved)
    assert cost.delta_aed == pytest.approx(0.0) and cost.changed == ()
    unpaired = environment_cost("smb", smb, head, load_prices())  # without the moves, lines differ but sum the same
    assert unpaired.changed and unpaired.delta_aed == pytest.approx(0.0)


def test_a_data_source_renamed_in_code_is_no_change(raw: Raw) -> None:
    def rename_document(document: dict[str, Any]) -> None:
        documents = document["data"]["aws_iam_policy_document"]
        name = next(iter(documents))
        text = json.dumps(document).replace(name, f"Renamed_{name}")
        document.clear()
        document.update(json.loads(text))

    stack = next(n for n, d in raw.items() if d.get("data", {}).get("aws_iam_policy_document"))
    assert compare(parsed(raw), parsed(edited(raw, stack, rename_document))) == []


def test_synthesising_twice_writes_the_same_json(synthesized_all, tmp_path: Path) -> None:
    """``sahab diff`` reads "no change" from equal JSON: synthesis must not vary between runs."""
    from environments import load_environments
    from infra.synth import synth

    again = synth(load_environments(["smb"]), tmp_path)
    assert again.stacks
    for stack in again.stacks:
        assert stack.path.read_text() == (synthesized_all.outdir / "stacks" / stack.name / "cdk.tf.json").read_text()


def test_a_base_whose_gate_did_not_run_is_said_and_every_head_failure_is_listed_as_new() -> None:
    head = [Finding("CKV_SAHAB_8", "smb-data", "aws_s3_bucket.Scratch_1", "set kms_master_key_id")]
    delta = policy_delta(None, head, base_unavailable="its `sahab check` exited 2 without a SARIF report")
    report = DiffReport(base="main", environments=("smb",), changes=(), policy=delta)
    assert delta.newly_failing == tuple(head) and delta.head_failures == 1 and report.gate_failed
    assert report.verdict() == "no infrastructure change, policy gate FAILS (1 failure; base not gated)"
    text = render_markdown(report)
    assert "Base side not gated (its `sahab check` exited 2 without a SARIF report)" in text
    assert "**1 failure(s)** on the head side" in text and "`aws_s3_bucket.Scratch_1`" in text
