"""Reading role policies back from synthesised JSON: Sahab renders them as ``aws_iam_policy_document``."""

from __future__ import annotations

from typing import Any


def policies_by_role(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """``{role reference: statements}`` of a synthesised stack's ``aws_iam_role_policy`` resources, each read
    from the ``aws_iam_policy_document`` it references, with the JSON policy's keys (Sid, Effect, Action, Resource)."""
    documents = document.get("data", {}).get("aws_iam_policy_document", {})
    found: dict[str, list[dict[str, Any]]] = {}
    for policy in document.get("resource", {}).get("aws_iam_role_policy", {}).values():
        name = policy["policy"].removeprefix("${data.aws_iam_policy_document.").removesuffix(".json}")
        found.setdefault(policy["role"], []).extend(
            {"Sid": s.get("sid"), "Effect": s.get("effect"), "Action": s["actions"], "Resource": s.get("resources")}
            for s in documents[name]["statement"]
        )
    return found
