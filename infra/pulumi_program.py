"""The Pulumi engine: the same rendered workload objects, applied to a cluster Sahab did not build.

For users who run their own Kubernetes (on premises, or another UAE-resident cloud): ``sahab deploy ENV
--engine pulumi`` applies ``render_workloads(env)``, the very objects the gate scanned and the cdktf
``workloads`` layer applies, through ``pulumi-kubernetes`` with Pulumi's Automation API. Each object
becomes the typed resource of its ``apiVersion`` and ``kind`` (``apps/v1`` ``Deployment`` →
``kubernetes.apps.v1.Deployment``), its fields passed as they are; namespaced objects depend on their
Namespace, so it is created first and deleted last.

The ``pulumi`` CLI is the user's install (the Automation API drives it); state stays on this machine
(``file://`` backend under the environment's data folder) unless the user points ``PULUMI_BACKEND_URL``
elsewhere, and Pulumi's own update checks are off.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from environments import Environment
from environments.errors import ConfigError

#: Top-level fields that are the resource's type, not its arguments.
_TYPE_FIELDS = frozenset({"apiVersion", "kind"})
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def resource_class(k8s: Any, api_version: str, kind: str) -> Any:
    """The pulumi-kubernetes class of ``apiVersion``/``kind`` (``networking.k8s.io/v1`` → ``networking.v1``)."""
    group, _, version = api_version.rpartition("/")
    module = getattr(getattr(k8s, group.split(".")[0] if group else "core", None), version, None)
    cls = getattr(module, kind, None)
    if cls is None:
        raise ConfigError(f"pulumi-kubernetes has no resource for apiVersion {api_version!r} kind {kind!r}")
    return cls


def resource_arguments(obj: dict[str, Any]) -> dict[str, Any]:
    """The object's top-level fields as the typed constructor's keyword arguments (``automountServiceAccountToken``
    → ``automount_service_account_token``); nested fields stay in the API's own spelling."""
    return {_CAMEL.sub("_", key).lower(): value for key, value in obj.items() if key not in _TYPE_FIELDS}


def resource_name(obj: dict[str, Any]) -> str:
    """A Pulumi name unique in the stack: ``<kind>-<namespace>-<name>``, lower case."""
    meta = obj["metadata"]
    return f"{obj['kind']}-{meta.get('namespace', 'cluster')}-{meta['name']}".lower()


def workloads_program(env: Environment, *, kubeconfig: str | None = None, context: str | None = None) -> Callable[[], None]:
    """A Pulumi program (a function Pulumi runs) that creates every object of ``env``'s workloads."""
    from modules.workloads.manifests import render_workloads

    objects = render_workloads(env)

    def program() -> None:
        import pulumi
        import pulumi_kubernetes as k8s

        provider = k8s.Provider("cluster", kubeconfig=kubeconfig, context=context, enable_server_side_apply=True)
        namespaces: dict[str, Any] = {}
        for obj in objects:
            namespace = obj["metadata"].get("namespace")
            depends_on = [namespaces[namespace]] if namespace in namespaces else []
            resource = resource_class(k8s, obj["apiVersion"], obj["kind"])(
                resource_name(obj), **resource_arguments(obj),
                opts=pulumi.ResourceOptions(provider=provider, depends_on=depends_on),
            )
            if obj["kind"] == "Namespace":
                namespaces[obj["metadata"]["name"]] = resource

    return program
