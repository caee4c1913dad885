"""The Pulumi engine under Pulumi's own mocks (no CLI, no cluster): it creates exactly the objects that the
cdktf workloads layer applies and the gate scanned, kind, namespace, name and every field compared."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from environments import load_environment
from environments.errors import ConfigError
from infra.pulumi_program import resource_arguments, resource_class, workloads_program
from modules.workloads.manifests import render_workloads


def normalised(value: Any) -> Any:
    """Pulumi's mocks carry numbers as floats (protobuf Struct): compare 2 and 2.0 as one."""
    if isinstance(value, dict):
        return {k: normalised(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalised(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@pytest.fixture(scope="module")
def created() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    import pulumi

    # Pulumi's runtime takes the current event loop; an earlier test's asyncio.run may have left none set.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    resources: list[tuple[str, dict[str, Any]]] = []

    class Mocks(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs):
            resources.append((args.typ, args.inputs))
            return [f"{args.name}-id", args.inputs]

        def call(self, args: pulumi.runtime.MockCallArgs):
            return {}

    pulumi.runtime.set_mocks(Mocks(), project="sahab", stack="smb", preview=False)

    @pulumi.runtime.test
    def run() -> Any:
        workloads_program(load_environment("smb"))()
        return pulumi.Output.from_input(None)

    run()
    yield resources
    asyncio.set_event_loop(None)
    loop.close()


def test_the_pulumi_program_creates_exactly_the_rendered_objects(created) -> None:
    objects = [normalised(inputs) for typ, inputs in created if not typ.startswith("pulumi:providers:")]
    canonical = lambda items: sorted(json.dumps(i, sort_keys=True) for i in items)  # noqa: E731
    assert canonical(objects) == canonical(normalised(render_workloads(load_environment("smb"))))


def test_each_object_becomes_the_typed_resource_of_its_kind_through_one_kubernetes_provider(created) -> None:
    types = {typ for typ, _ in created}
    assert {"kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:CronJob", "kubernetes:networking.k8s.io/v1:NetworkPolicy",
            "kubernetes:core/v1:Namespace", "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"} <= types
    assert [typ for typ in types if typ.startswith("pulumi:providers:")] == ["pulumi:providers:kubernetes"]


def test_top_level_fields_become_snake_case_arguments_and_nested_fields_keep_the_api_spelling() -> None:
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "a"}, "automountServiceAccountToken": False}
    assert resource_arguments(account) == {"metadata": {"name": "a"}, "automount_service_account_token": False}


def test_a_kind_pulumi_kubernetes_does_not_know_is_refused_by_name() -> None:
    import pulumi_kubernetes as k8s

    assert resource_class(k8s, "networking.k8s.io/v1", "NetworkPolicy") is k8s.networking.v1.NetworkPolicy
    with pytest.raises(ConfigError, match="apiVersion 'example.com/v1' kind 'Widget'"):
        resource_class(k8s, "example.com/v1", "Widget")
