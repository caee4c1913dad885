"""``sahab image build``: the real ``bentoml build`` of the scoring service and the jobs context, listed for CI
with exactly the image references the rendered manifests pull."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from environments import load_environment, project_root
from environments.errors import ConfigError
from infra.images import IMAGES_FILE, build_images
from modules.workloads.manifests import render_workloads


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("images")
    build_images(load_environment("smb"), outdir)
    return outdir


def pulled_images(env_name: str) -> set[str]:
    images = set()
    for obj in render_workloads(load_environment(env_name)):
        text = json.dumps(obj)
        images |= {c["image"] for c in json.loads(text).get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])}
        job = obj.get("spec", {}).get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec", {})
        images |= {c["image"] for c in job.get("containers", [])}
    return images


def test_images_json_lists_exactly_the_images_the_manifests_pull(built: Path) -> None:
    listed = json.loads((built / IMAGES_FILE).read_text())
    assert {image for entry in listed for image in entry["images"]} == pulled_images("smb")
    assert sorted(entry["repository"] for entry in listed) == ["jobs", "scoring"]


def test_the_scoring_context_is_the_built_bento_with_the_ground_floor_and_no_model(built: Path) -> None:
    bento = built / "scoring"
    assert (bento / "env" / "docker" / "Dockerfile").is_file()
    assert (bento / "src" / "environments" / "schema.py").is_file()  # the service imports the environments package
    assert (bento / "src" / "bento_services" / "fraud_scoring" / "service.py").is_file()
    assert not list(bento.rglob("*.onnx")) and not (bento / "src" / "infra").exists()
    assert yaml.safe_load((bento / "bento.yaml").read_text())["service"] == "bento_services.fraud_scoring.service:FraudScoring"


def test_the_jobs_context_installs_the_package_and_runs_as_the_pods_user(built: Path) -> None:
    dockerfile = (built / "jobs" / "Dockerfile").read_text()
    assert "USER 10001:10001" in dockerfile and 'ENTRYPOINT ["sahab"]' in dockerfile and "pip install -c tools/python-lock.txt ." in dockerfile
    assert (built / "jobs" / "pyproject.toml").read_text() == (project_root() / "pyproject.toml").read_text()
    assert not list((built / "jobs").rglob("__pycache__"))


def test_a_repository_without_a_recipe_is_refused_by_name(tmp_path: Path) -> None:
    env = load_environment("smb")
    drift = env.workloads.drift.model_copy(update={"image": env.workloads.drift.image.model_copy(update={"repository": "custom"})})
    odd = env.model_copy(update={"workloads": env.workloads.model_copy(update={"drift": drift})})
    with pytest.raises(ConfigError, match=r"no build recipe for the repositories \['custom'\]"):
        build_images(odd, tmp_path)


def test_the_images_workflow_builds_what_sahab_image_build_lists() -> None:
    workflow = yaml.safe_load((project_root() / ".github" / "workflows" / "images.yml").read_text())
    steps = workflow["jobs"]["images"]["steps"]
    runs = "\n".join(step.get("run", "") for step in steps)
    assert '.venv/bin/sahab image build "${{ inputs.environment }}" --outdir build/images' in runs
    assert "build/images/images.json" in runs and '"docker", "push"' in runs
    assert workflow["permissions"] == {"contents": "read", "id-token": "write"}  # OIDC, no stored AWS keys


def test_every_action_of_every_workflow_is_pinned_to_a_commit() -> None:
    """A tag can be moved to other code by whoever controls the action's repository; a commit SHA cannot."""
    import re

    for path in sorted((project_root() / ".github" / "workflows").glob("*.yml")):
        jobs = yaml.safe_load(path.read_text())["jobs"].values()
        used = [step["uses"] for job in jobs for step in job["steps"] if "uses" in step]
        assert used, path
        floating = [u for u in used if not re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", u)]
        assert not floating, f"{path.name}: {floating}"
