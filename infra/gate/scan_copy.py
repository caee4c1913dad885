"""Scan copies of the stacks and manifests: what Checkov reads instead of the synthesised files themselves.

Why copies: Checkov 3.3 cannot parse a ``terraform.required_version`` in Terraform JSON (checkov
issue 7454: the file turns into a parsing error and the run still exits 0), so the gate removes it
from a copy, says so in the report, and never touches the stack that will be applied.

Why an address index: Checkov's JSON names a resource found by a Python check ``resource.<name>``
without its type, and every AWS provider ``provider.aws`` whatever its alias. The copies are
written in one known layout (``json.dumps(indent=2)``), so the line a record starts on tells which
``<type>.<name>``, ``data.<type>.<name>`` or ``provider.aws.<alias>`` it is.

Rendered Kubernetes manifests (``<env>-manifests``, framework ``kubernetes``) are copied as they are: Checkov
names their objects ``<Kind>.<namespace>.<name>`` itself. Each document must be an object with a ``kind``
and a ``metadata.name``, or the copy is refused (an unreadable manifest can never be reported clean).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from environments.errors import GateFailed

SCAN_FILE_NAME = "cdk.tf.json"
MANIFESTS_COPY_NAME = "workloads.yaml"
TERRAFORM_JSON = "terraform_json"
KUBERNETES = "kubernetes"
#: Checkov's block type of a Kubernetes check.
K8S_BLOCK_TYPE = "k8"
_KEY_OPENS_BLOCK = re.compile(r'^(?P<indent> *)(?P<key>"(?:[^"\\]|\\.)*"): [{\[]$')
_PROVIDER_ITEM_OPENS = "      {"
_PROVIDER_ALIAS = re.compile(r'^ {8}"alias": (?P<alias>"(?:[^"\\]|\\.)*"),?$')


@dataclass(frozen=True)
class ScanTarget:
    """One stack to check: a unique name (``smb-data``, ``smb-manifests``), its file and Checkov's framework for it."""

    name: str
    file: Path
    framework: str = TERRAFORM_JSON
    """``terraform_json`` (a synthesised stack) or ``kubernetes`` (rendered workload manifests)."""


@dataclass
class ScanCopy:
    """A target's scan copy, the addresses of the blocks it holds, and the types it uses."""

    target: ScanTarget
    copy: Path
    addresses: dict[int, str] = field(default_factory=dict)
    resource_types: set[str] = field(default_factory=set)
    data_types: set[str] = field(default_factory=set)
    providers: set[str] = field(default_factory=set)
    kinds: set[str] = field(default_factory=set)

    def entities(self, block_type: str) -> set[str]:
        """The entity types of one kind of block (``resource``, ``data``, ``provider``, ``k8``)."""
        return {"resource": self.resource_types, "data": self.data_types, "provider": self.providers,
                K8S_BLOCK_TYPE: self.kinds}.get(block_type, set())


def write_scan_copies(targets: list[ScanTarget], scan_root: Path) -> tuple[list[ScanCopy], list[str]]:
    """Copy every target to ``scan_root/<name>/cdk.tf.json``; return the copies and notes for the report.

    Raises ``GateFailed`` naming every unreadable target at once: a stack that cannot be read can
    never be reported clean.
    """
    problems: list[str] = []
    notes: list[str] = []
    copies: list[ScanCopy] = []
    names = [t.name for t in targets]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise GateFailed(f"stack names must be unique in one scan; repeated: {duplicates}")
    if not targets:
        raise GateFailed("there is nothing to check: no stacks were given (synthesise with `sahab synth` first)")
    for target in targets:
        if target.framework == KUBERNETES:
            manifests = _copy_manifests(target, scan_root, problems)
            if manifests is not None:
                copies.append(manifests)
            continue
        document = _read_document(target, problems)
        if document is None:
            continue
        terraform = document.get("terraform")
        if isinstance(terraform, dict) and "required_version" in terraform:
            terraform = {k: v for k, v in terraform.items() if k != "required_version"}
            document = {**document, "terraform": terraform}
            notes.append(
                f"{target.name}: terraform.required_version removed from the scan copy only "
                "(Checkov cannot parse it, checkov issue 7454); the stack itself is unchanged"
            )
        copy = scan_root / target.name / SCAN_FILE_NAME
        copy.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(document, indent=2)
        copy.write_text(text)
        scanned = ScanCopy(target=target, copy=copy, addresses=index_addresses(text))
        scanned.resource_types = set(_mapping(document.get("resource")))
        scanned.data_types = set(_mapping(document.get("data")))
        scanned.providers = set(_mapping(document.get("provider")))
        copies.append(scanned)
    if problems:
        raise GateFailed(problem_list("the stacks cannot be checked", problems))
    return copies, notes


def _read_document(target: ScanTarget, problems: list[str]) -> dict | None:
    if not target.file.is_file():
        problems.append(f"{target.name}: {target.file} does not exist (run `sahab synth` for this environment)")
        return None
    try:
        document = json.loads(target.file.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        problems.append(f"{target.name}: {target.file} is not valid JSON ({exc}); re-run `sahab synth`")
        return None
    if not isinstance(document, dict):
        problems.append(f"{target.name}: {target.file} must hold a JSON object (Terraform JSON), not {type(document).__name__}")
        return None
    return document


def _copy_manifests(target: ScanTarget, scan_root: Path, problems: list[str]) -> ScanCopy | None:
    """Copy a multi-document YAML of Kubernetes objects as it is; refuse one Checkov could not read."""
    if not target.file.is_file():
        problems.append(f"{target.name}: {target.file} does not exist (run `sahab synth` for this environment)")
        return None
    text = target.file.read_text()
    try:
        documents: list[Any] = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        problems.append(f"{target.name}: {target.file} is not valid YAML ({exc}); re-run `sahab synth`")
        return None
    unreadable = [i for i, d in enumerate(documents)
                  if not (isinstance(d, dict) and d.get("kind") and isinstance(d.get("metadata"), dict) and d["metadata"].get("name"))]
    if unreadable or not documents:
        problems.append(f"{target.name}: {target.file} must hold Kubernetes objects with 'kind' and 'metadata.name' "
                        f"(documents without them: {unreadable or 'the file is empty'})")
        return None
    copy = scan_root / target.name / MANIFESTS_COPY_NAME
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_text(text)
    return ScanCopy(target=target, copy=copy, kinds={str(d["kind"]) for d in documents})


def _mapping(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def index_addresses(text: str) -> dict[int, str]:
    """Map the line each block starts on to its address, for text written by ``json.dumps(indent=2)``."""
    addresses: dict[int, str] = {}
    path: list[str] = []
    provider_item: int | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        opened = _KEY_OPENS_BLOCK.match(line)
        if opened:
            depth = len(opened["indent"]) // 2
            del path[depth - 1:]
            path.append(json.loads(opened["key"]))
            if depth == 1:
                provider_item = None
            if depth == 3 and path[0] == "resource":
                addresses[number] = f"{path[1]}.{path[2]}"
            elif depth == 3 and path[0] == "data":
                addresses[number] = f"data.{path[1]}.{path[2]}"
            continue
        in_provider = len(path) >= 2 and path[0] == "provider"
        if in_provider and line == _PROVIDER_ITEM_OPENS:  # one item of "provider": {"aws": [...]}
            del path[2:]
            provider_item = number
            addresses[number] = f"provider.{path[1]}"
        elif in_provider and provider_item is not None and (alias := _PROVIDER_ALIAS.match(line)):
            addresses[provider_item] = f"provider.{path[1]}.{json.loads(alias['alias'])}"
    return addresses


def problem_list(headline: str, problems: list[str]) -> str:
    """One message naming every problem, the way ``ConfigError`` lists them."""
    return f"{headline}:\n" + "\n".join(f"  - {p}" for p in problems)
