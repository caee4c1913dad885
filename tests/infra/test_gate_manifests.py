"""The gate on rendered workloads: the shipped manifests pass, an edited one fails naming the object and why,
and a manifest Checkov could not read never passes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from environments import load_environment
from environments.errors import GateFailed
from infra.gate.check import check_targets, require_clean
from infra.gate.scan_copy import KUBERNETES, ScanTarget
from infra.synth import write_manifests


@pytest.fixture(scope="module")
def smb_manifests(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_manifests(load_environment("smb"), tmp_path_factory.mktemp("manifests")).path


def edited(source: Path, folder: Path, edit) -> ScanTarget:
    objects = list(yaml.safe_load_all(source.read_text()))
    edit(objects)
    path = folder / "workloads.yaml"
    path.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    return ScanTarget(name="smb-manifests", file=path, framework=KUBERNETES)


def test_the_rendered_smb_workloads_pass_the_gate(smb_manifests: Path, tmp_path: Path) -> None:
    run = check_targets([ScanTarget(name="smb-manifests", file=smb_manifests, framework=KUBERNETES)], reports_dir=tmp_path)
    require_clean(run)
    checks = {o.check_id for o in run.report.outcomes}
    assert {"CKV_SAHAB_36", "CKV_SAHAB_37", "CKV_SAHAB_38", "CKV_K8S_20", "CKV_K8S_22"} <= checks
    assert run.report.passed > 500


def test_a_public_image_and_a_root_container_fail_the_gate_naming_object_and_fix(smb_manifests: Path, tmp_path: Path) -> None:
    def edit(objects: list[dict]) -> None:
        scoring = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "scoring")
        container = scoring["spec"]["template"]["spec"]["containers"][0]
        container["image"] = "bentoml/fraud-scoring:latest"
        container["securityContext"]["readOnlyRootFilesystem"] = False

    run = check_targets([edited(smb_manifests, tmp_path, edit)], reports_dir=tmp_path / "reports")
    failed = {(o.check_id, o.address): o.details for o in run.report.failures}
    assert ("CKV_SAHAB_36", "Deployment.sahab.scoring") in failed
    assert "is not in an ECR registry" in failed[("CKV_SAHAB_36", "Deployment.sahab.scoring")][0]
    assert failed[("CKV_SAHAB_37", "Deployment.sahab.scoring")] == (
        "containers[scoring] must set 'readOnlyRootFilesystem: true' (mount writable volumes where it writes)",)
    with pytest.raises(GateFailed, match=r"smb-manifests: CKV_SAHAB_36 Deployment\.sahab\.scoring"):
        require_clean(run)


def test_a_manifest_without_kinds_cannot_be_reported_clean(tmp_path: Path) -> None:
    path = tmp_path / "workloads.yaml"
    path.write_text("just: a mapping\n---\n- a list\n")
    with pytest.raises(GateFailed, match=r"must hold Kubernetes objects with 'kind' and 'metadata.name'"):
        check_targets([ScanTarget(name="smb-manifests", file=path, framework=KUBERNETES)], reports_dir=tmp_path)
