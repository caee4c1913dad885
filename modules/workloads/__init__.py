"""The ML plane on the cluster: one environment's ``workloads`` spec rendered as Kubernetes objects.

| module               | concern                                                                  |
|----------------------|--------------------------------------------------------------------------|
| ``manifests``        | ``render_workloads(env)``: every object, in apply order (the canonical form) |
| ``pod_templates``    | hardened pods and containers (Pod Security ``restricted``), placement      |
| ``network_policies`` | default deny plus one allow per flow                                      |

Plain data only: nothing here imports cdktf, so the gate and the Pulumi engine read the same objects.
"""
