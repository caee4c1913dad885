"""Network policies of the workloads namespace: deny everything, then allow each flow the platform needs.

AWS services have no pod selectors, so flows to them are written as ports to address ranges: Redis and MSK
live in the VPC (its CIDR), AWS APIs (S3 through the gateway endpoint's public ranges, KMS, STS, ECR and
Secrets Manager through interface endpoints) answer on 443.

| policy                 | pods                 | allows                                                          |
|------------------------|----------------------|-----------------------------------------------------------------|
| default-deny           | all                  | nothing (ingress and egress)                                    |
| dns                    | all                  | egress to kube-dns (kube-system) on 53                          |
| aws-apis               | all                  | egress on 443 (S3, KMS, STS, Secrets Manager)                   |
| scoring-ingress        | scoring, scoring-gpu | ingress on the service port from the VPC (load balancer, peers) |
| data-services          | all but training     | egress to the VPC on 6379 (Redis) and 9098 (MSK, IAM over TLS)  |
| training-peers         | training             | ingress and egress among training pods (rendezvous, NCCL)       |
"""

from __future__ import annotations

from typing import Any

from modules.workloads.pod_templates import labels, metadata

REDIS_PORT = 6379
MSK_IAM_PORT = 9098
NAME_LABEL = "app.kubernetes.io/name"


def _policy(name: str, namespace: str, env_name: str, pod_selector: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": metadata(name, namespace, labels(env_name, "network-policy")),
            "spec": {"podSelector": pod_selector, **spec}}


def render(env_name: str, namespace: str, *, vpc_cidr: str, scoring_port: int) -> list[dict[str, Any]]:
    """The namespace's policies: default deny first, then one allow per flow (see the module table)."""
    everyone: dict[str, Any] = {}
    scoring = {"matchExpressions": [{"key": NAME_LABEL, "operator": "In", "values": ["scoring", "scoring-gpu"]}]}
    not_training = {"matchExpressions": [{"key": NAME_LABEL, "operator": "NotIn", "values": ["training"]}]}
    training = {"matchLabels": {NAME_LABEL: "training"}}
    return [
        _policy("default-deny", namespace, env_name, everyone, {"policyTypes": ["Ingress", "Egress"]}),
        _policy("dns", namespace, env_name, everyone, {"policyTypes": ["Egress"], "egress": [{
            "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}]}),
        _policy("aws-apis", namespace, env_name, everyone, {"policyTypes": ["Egress"], "egress": [{
            "ports": [{"protocol": "TCP", "port": 443}]}]}),
        _policy("scoring-ingress", namespace, env_name, scoring, {"policyTypes": ["Ingress"], "ingress": [{
            "from": [{"ipBlock": {"cidr": vpc_cidr}}], "ports": [{"protocol": "TCP", "port": scoring_port}]}]}),
        _policy("data-services", namespace, env_name, not_training, {"policyTypes": ["Egress"], "egress": [{
            "to": [{"ipBlock": {"cidr": vpc_cidr}}],
            "ports": [{"protocol": "TCP", "port": REDIS_PORT}, {"protocol": "TCP", "port": MSK_IAM_PORT}]}]}),
        _policy("training-peers", namespace, env_name, training, {
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"podSelector": training}]}],
            "egress": [{"to": [{"podSelector": training}]}]}),
    ]
