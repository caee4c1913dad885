"""Print the catalogue of Sahab's checks as JSON (run with Checkov's interpreter, not .venv's).

Usage: ``.tools/checkov/bin/python policies/list_checks.py policies/checks``

The gate needs, for every ``CKV_SAHAB`` check, the entities it applies to: a check that applies
to a scanned stack but reported nothing crashed or never loaded, and must fail the gate. Asking
Checkov's own registries (rather than parsing our files) gives the catalogue Checkov will run.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import yaml


def _yaml_id(path: Path) -> str:
    """The ``metadata.id`` of a YAML graph check (the file is named after the check, not its id)."""
    return str((yaml.safe_load(path.read_text()) or {}).get("metadata", {}).get("id", ""))


def main(checks_dir: str) -> None:
    logging.disable(logging.CRITICAL)
    from checkov.common.bridgecrew.check_type import CheckType
    from checkov.common.checks_infra.registry import get_graph_checks_registry
    from checkov.kubernetes.checks.resource.registry import registry as kubernetes_registry
    from checkov.terraform.checks.data.registry import data_registry
    from checkov.terraform.checks.provider.registry import provider_registry
    from checkov.terraform.checks.resource.registry import resource_registry

    resource_registry.load_external_checks(checks_dir)  # registers provider, data and Kubernetes checks too
    graph_registry = get_graph_checks_registry(CheckType.TERRAFORM)
    graph_registry.load_external_checks(checks_dir)

    catalogue = []
    for registry in (resource_registry, provider_registry, data_registry, kubernetes_registry):
        groups = (registry.checks, registry.wildcard_checks)
        for check in {id(c): c for group in groups for checks in group.values() for c in checks}.values():
            if check.id.startswith("CKV_SAHAB_"):
                catalogue.append({
                    "id": check.id, "name": check.name, "block_type": check.block_type,
                    "entities": sorted(check.supported_entities), "rationale": check.guideline or "",
                    "source": type(check).__name__,
                })
    yaml_sources = {_yaml_id(path): path.stem for path in Path(checks_dir).glob("*.yaml")}
    for check in graph_registry.checks:
        if check.id.startswith("CKV_SAHAB_"):
            catalogue.append({
                "id": check.id, "name": check.name, "block_type": "resource",
                "entities": sorted(check.resource_types), "rationale": check.guideline or "",
                "source": yaml_sources.get(check.id, check.id),
            })
    json.dump(sorted(catalogue, key=lambda c: int(c["id"].rsplit("_", 1)[1])), sys.stdout, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
