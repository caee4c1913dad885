"""``<env>-workloads``: the ML plane on the cluster, applied after ``data``.

Three things, all derived from the environment's one ``workloads`` spec:

1. one IRSA role per service account, holding only what that workload does (grants of the constructs that
   own the resources; the table below);
2. the kubernetes provider, pointed at the compute layer's cluster and authenticated with
   ``aws eks get-token`` in the environment's region (no static credentials anywhere);
3. every object of ``modules.workloads.render_workloads(env)`` as a ``kubernetes_manifest``: the same
   objects the gate scanned and the Pulumi engine applies.

| service account | models bucket | data bucket | signing key | pseudonym key | Redis AUTH | Kafka                                   |
|-----------------|---------------|-------------|-------------|---------------|------------|-----------------------------------------|
| scoring         | read          | read        | verify      | GenerateMac   | read       | write the prediction topic              |
| ingestor        | -             | read/write  | -           | GenerateMac   | read       | read transactions, write the DLQ, group |
| feast           | -             | read/write  | -           | -             | read       | -                                       |
| training        | read/write    | read        | sign        | -             | -          | -                                       |
| drift           | read          | read/write  | verify      | -             | -          | -                                       |

The scoring role also reads the service's routing key and API-token digests (``ServingSecrets``, made here).
"""

from __future__ import annotations

from typing import Any

from environments import Environment, names
from modules.cdk import Construct, Fn, iam_role, kubernetes_manifest, kubernetes_provider
from modules.serving_secrets import ServingSecrets, ServingSecretsProps
from modules.workloads.manifests import render_workloads
from stacks.base import LayerStack
from stacks.compute import ComputeStack
from stacks.data import DataStack
from stacks.security import PSEUDONYMISING_WORKLOADS, SecurityStack

def manifest_id(obj: dict[str, Any]) -> str:
    """``DeploymentScoring``, ``NetworkPolicyDefaultDeny``: a construct id per object, stable across renders."""
    name = "".join(part.capitalize() for part in obj["metadata"]["name"].replace(".", "-").split("-"))
    return f"{obj['kind']}{name}"


class WorkloadsStack(LayerStack):
    layer = "workloads"

    def __init__(
        self, scope: Construct, env: Environment, *, security: SecurityStack, compute: ComputeStack, data: DataStack
    ) -> None:
        super().__init__(scope, env)
        cluster = compute.cluster
        kubernetes_provider.KubernetesProvider(
            self, "kubernetes",
            host=cluster.cluster.endpoint,
            cluster_ca_certificate=Fn.base64decode(cluster.cluster.certificate_authority.get(0).data),
            exec=[kubernetes_provider.KubernetesProviderExec(
                api_version="client.authentication.k8s.io/v1beta1", command="aws",
                args=["eks", "get-token", "--cluster-name", cluster.name, "--region", env.region],
            )],
        )
        self.roles: dict[str, iam_role.IamRole] = {
            account: cluster.service_account_role(
                f"{account.capitalize()}Role", role_name=names.workload_role_name(env.name, account),
                namespace=env.workloads.namespace, service_account=account, scope=self,
            )
            for account in env.workloads.by_name()  # one service account per workload, named like it
        }
        self._grant(env, security, data)
        self.manifests = [
            kubernetes_manifest.Manifest(self, manifest_id(obj), manifest=obj) for obj in render_workloads(env)
        ]
        for account, role in self.roles.items():
            self.output(f"{account}_role_arn", role.arn, f"IRSA role of the {account} service account")

    def _grant(self, env: Environment, security: SecurityStack, data: DataStack) -> None:
        roles, keys = self.roles, security.keys
        models, data_bucket = data.buckets[names.MODELS], data.buckets["data"]
        models.grant_read(roles["scoring"])
        models.grant_read_write(roles["training"])
        models.grant_read(roles["drift"])
        for account in ("scoring", "training"):
            data_bucket.grant_read(roles[account])
        for account in ("ingestor", "feast", "drift"):
            data_bucket.grant_read_write(roles[account])
        keys.grant_sign(roles["training"])
        for account in ("scoring", "drift"):
            keys.grant_verify(roles[account])
        for account in PSEUDONYMISING_WORKLOADS:
            keys.grant_generate_mac(roles[account])
        for account in ("scoring", "ingestor", "feast"):
            data.online_store.grant_auth_token_read(roles[account])
        self.serving_secrets = ServingSecrets(self, "ServingSecrets", props=ServingSecretsProps(
            routing_key_name=names.routing_key_secret(env.name), tokens_name=names.api_tokens_secret(env.name),
            key=keys.key("data"),
        ))
        self.serving_secrets.grant_read(roles["scoring"])
        if data.kafka is not None:
            streaming = env.streaming
            data.kafka.grant_client(roles["scoring"], write_topics=(env.serving.prediction_topic,))
            data.kafka.grant_client(roles["ingestor"], read_topics=(streaming.topic,), write_topics=(streaming.dlq_topic,),
                                    consumer_group=streaming.consumer_group)
