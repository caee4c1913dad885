"""What ``sahab down`` keeps: the blocks of an environment's stacks that hold data, by construct path.

A construct's path is the one place that says what it is, so the rule reads the synthesised JSON's ``//``
metadata: the audit trail's bucket (object lock: AWS refuses to delete locked objects before their retention
ends, and an auditor needs them) and its key (``stacks.security.AUDIT_KEY``) are never destroyed, nor is the backup
vault with its lock and key (the compliance lock refuses to delete a recovery point before its retention ends); the
data and models buckets, the backup plan that covers them and every key are kept unless the user asks for their data
to go (``--destroy-data``): a bucket without its key is unreadable.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from modules.keys import key_construct_id
from stacks.security import AUDIT_KEY

#: The data class whose key encrypts the backup vault (``modules.backup``).
BACKUP_KEY = "backup"

#: Construct paths (below the stack) that are never destroyed, with why.
NEVER_DESTROYED: tuple[tuple[str, str], ...] = (
    (r"AuditTrail/Bucket/", "the audit bucket: object lock keeps every log for its retention, and an auditor needs it"),
    (rf"Keys/{key_construct_id(AUDIT_KEY)}(Alias)?$", "the key of the audit logs: without it they cannot be read"),
    (r"BackupVault/", "the backup vault: its compliance lock keeps every recovery point for its retention"),
    (rf"Keys/{key_construct_id(BACKUP_KEY)}(Alias)?$", "the key of the backup vault: without it no recovery point can be restored"),
)
#: Construct paths kept unless ``--destroy-data``, with why.
HOLDS_DATA: tuple[tuple[str, str], ...] = (
    (r"[A-Z][A-Za-z0-9]*Bucket/", "holds data: kept unless --destroy-data"),
    (r"Keys/", "encrypts data that is kept: kept unless --destroy-data"),
    (r"BackupPlan/", "backs up the kept buckets: kept unless --destroy-data"),
)


def kept_on_destroy(document: Mapping[str, Any], *, destroy_data: bool) -> dict[str, str]:
    """Terraform addresses of ``document``'s resources that ``sahab down`` keeps, each with the reason."""
    rules = NEVER_DESTROYED + (() if destroy_data else HOLDS_DATA)
    stack = document.get("//", {}).get("metadata", {}).get("stackName", "")
    kept = {}
    for type_, named in document.get("resource", {}).items():
        for name, body in named.items():
            path = str(body.get("//", {}).get("metadata", {}).get("path", "")).removeprefix(f"{stack}/")
            for pattern, why in rules:
                if re.match(pattern, path):
                    kept[f"{type_}.{name}"] = why
                    break
    return kept
