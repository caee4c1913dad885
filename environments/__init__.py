"""The ground floor: the environment model, its loader and the project's error types.

Beside the YAML files it validates (``environments/<env>.yaml``). Every other folder imports from here and
nothing here imports from them (an import-linter contract in ``tests/test_layers.py`` keeps it so).

| module              | concern                                                                      |
|---------------------|------------------------------------------------------------------------------|
| ``schema``          | ``Environment``: residency, tags, cross-section rules, derived names/paths  |
| ``cloud_sections``  | network, EKS, node pools, Kafka, online store, buckets, state backend        |
| ``ml_sections``     | data, training, serving, streaming, drift, model registry                    |
| ``privacy_section`` | retention per personal-data store, the pseudonym key                         |
| ``rules``           | rules the schema and the constructs share (node pools, endpoints, weights)   |
| ``names``           | physical names ``sahab-<env>-<concern>``, key aliases                        |
| ``data_paths``      | the project root and the subfolders of an environment's data folder          |
| ``loader``          | find, parse and validate environment files, every problem at once            |
| ``errors``          | ``SahabError`` and its exit codes                                             |
| ``process_records`` | pid records of the processes started for an environment, stopped by pid      |
| ``telemetry``       | every library's phone-home switched off, here, for every Sahab process       |
"""

from environments import telemetry

telemetry.switch_off()  # first: before any library that phones home is imported by anything below or above


from environments.cloud_sections import (
    BucketConfig,
    EksConfig,
    KafkaConfig,
    KafkaMode,
    NatStrategy,
    NetworkConfig,
    NodePoolConfig,
    NodePoolKind,
    OnlineStoreConfig,
    SecurityConfig,
    StateBackendConfig,
    Taint,
    TaintEffect,
)
from environments.data_paths import DataPaths, project_root
from environments.loader import available_environments, environments_dir, load_environment, load_environments, parse_environment
from environments.ml_sections import (
    CanaryConfig,
    DataConfig,
    DriftConfig,
    ModelRegistryConfig,
    ServingConfig,
    StreamingConfig,
    TrainingConfig,
    VariantConfig,
)
from environments.privacy_section import PrivacyConfig
from environments.schema import (
    LOG_RETENTION_DAYS_ALLOWED,
    MANDATORY_TAG_KEYS,
    UAE_RESIDENT_REGIONS,
    Environment,
    Target,
)
from environments.workload_sections import ImagesCiConfig, WorkloadsConfig

__all__ = [
    "LOG_RETENTION_DAYS_ALLOWED", "MANDATORY_TAG_KEYS", "UAE_RESIDENT_REGIONS",
    "BucketConfig", "CanaryConfig", "ImagesCiConfig", "WorkloadsConfig", "DataConfig", "DataPaths", "DriftConfig", "EksConfig", "Environment", "KafkaConfig",
    "KafkaMode", "ModelRegistryConfig", "NatStrategy", "NetworkConfig", "NodePoolConfig", "NodePoolKind",
    "OnlineStoreConfig", "PrivacyConfig", "SecurityConfig", "ServingConfig", "StateBackendConfig", "StreamingConfig", "Taint", "TaintEffect", "Target",
    "TrainingConfig", "VariantConfig",
    "available_environments", "environments_dir", "load_environment", "load_environments", "parse_environment",
    "project_root",
]
