"""Synthesised Terraform JSON read as a reviewer reads it: resources by their construct path, references by name.

cdktf names every resource ``<type>.<Path_Parts_HASH>`` and wires stacks together through
``data.terraform_remote_state.cross-stack-reference-input-<stack>.outputs.cross-stack-output-<type><id><attr>``.
Neither says anything to a reviewer. Here each reference inside ``${...}`` is rewritten as
``ref(<construct path>).<attribute>`` (``ref(<stack>:<path>)`` for another stack's resource), the path being the one
cdktf records in each block's ``//`` metadata. The same references can also be *normalised* (``ref(<type>)``) so that
two resources compare equal when only the names they point at differ: how a move is recognised.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STACK_FILE = "cdk.tf.json"
REMOTE_STATE = "terraform_remote_state"
_REMOTE_INPUT_PREFIX = "cross-stack-reference-input-"
_INTERPOLATION = re.compile(r"\$\{[^{}]*\}")
_ADDRESS = re.compile(r"(?<![\w.])(data\.)?([a-z][a-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_\-]*)((?:\.[A-Za-z0-9_\-]+)*)")
#: What a changed output, provider or backend is listed under (they have no construct path).
SETTINGS_TYPES = ("provider", "backend")


@dataclass(frozen=True)
class Key:
    """Where a block lives: ``stack`` plus Terraform's address parts. ``mode`` is ``resource`` or ``data``."""

    stack: str
    mode: str
    type: str
    name: str

    @property
    def address(self) -> str:
        prefix = "data." if self.mode == "data" else ""
        return f"{prefix}{self.type}.{self.name}"


@dataclass(frozen=True)
class Block:
    """A resource or data source: its key, construct path and body (without cdktf's ``//`` metadata)."""

    key: Key
    path: str
    """The construct path below the stack, e.g. ``DataBucket/Bucket``."""
    body: Mapping[str, Any]


@dataclass(frozen=True)
class Target:
    """What a reference points at: the stack and construct path of a block (``resolve`` maps keys to these)."""

    stack: str
    path: str


@dataclass(frozen=True)
class StackDocument:
    """One synthesised stack: its blocks by key, its outputs and its settings (provider, backend)."""

    name: str
    blocks: Mapping[Key, Block]
    outputs: Mapping[str, Any]
    settings: Mapping[str, Any]
    raw: Mapping[str, Any]
    """The document as cdktf wrote it (what the cost estimate reads)."""


def load_outdir(outdir: Path, env_names: tuple[str, ...] = ()) -> dict[str, StackDocument]:
    """Every stack under ``<outdir>/stacks`` (or those of ``env_names``), by stack name."""
    documents = {}
    for file in sorted((outdir / "stacks").glob(f"*/{STACK_FILE}")):
        name = file.parent.name
        if env_names and not any(name.startswith(f"{env}-") for env in env_names):
            continue
        documents[name] = parse_stack(name, json.loads(file.read_text()))
    return documents


def parse_stack(name: str, document: Mapping[str, Any]) -> StackDocument:
    """A stack document from cdktf's JSON (``remote_state`` plumbing is left out: it is how stacks talk)."""
    blocks: dict[Key, Block] = {}
    for mode, section in (("resource", document.get("resource", {})), ("data", document.get("data", {}))):
        for type_, named in section.items():
            if mode == "data" and type_ == REMOTE_STATE:
                continue
            for block_name, body in named.items():
                key = Key(name, mode, type_, block_name)
                metadata = body.get("//", {}).get("metadata", {})
                path = str(metadata.get("path", f"{name}/{block_name}")).removeprefix(f"{name}/")
                blocks[key] = Block(key, path, {k: v for k, v in body.items() if k != "//"})
    settings = {"provider": document.get("provider", {}), "backend": document.get("terraform", {}).get("backend", {})}
    return StackDocument(name, blocks, document.get("output", {}), settings, document)


class References:
    """Rewrites the references inside one side's bodies, resolving cross-stack outputs to their producers."""

    def __init__(self, documents: Mapping[str, StackDocument], renamed: Mapping[Key, Target] | None = None) -> None:
        self._documents = documents
        self._renamed = dict(renamed or {})

    def target(self, stack: str, mode: str, type_: str, name: str, attribute: str) -> tuple[Key, str] | None:
        """The block a reference from ``stack`` names, and the attribute read (``None``: not a block of ours)."""
        if mode == "data" and type_ == REMOTE_STATE and name.startswith(_REMOTE_INPUT_PREFIX):
            producer = self._documents.get(name.removeprefix(_REMOTE_INPUT_PREFIX))
            output = attribute.removeprefix(".outputs.").split(".")[0]
            value = producer.outputs.get(output, {}).get("value") if producer else None
            if not isinstance(value, str):
                return None
            match = _ADDRESS.search(value)
            if match is None:
                return None
            return self.target(producer.name, "data" if match[1] else "resource", match[2], match[3], match[4] or "")
        key = Key(stack, mode, type_, name)
        document = self._documents.get(stack)
        if document is None or key not in document.blocks:
            return None
        return key, attribute

    def referenced(self, stack: str, value: Any) -> list[tuple[Key, str]]:
        """Every block of ours that the string ``value`` (of a block in ``stack``) names inside ``${...}``, with the
        attribute read, cross-stack outputs followed to their producer (``[]`` for a literal or a non-string)."""
        if not isinstance(value, str):
            return []
        found = []
        for span in _INTERPOLATION.findall(value):
            for match in _ADDRESS.finditer(span):
                hit = self.target(stack, "data" if match[1] else "resource", match[2], match[3], match[4] or "")
                if hit is not None:
                    found.append(hit)
        return found

    def display(self, stack: str, value: Any, *, viewer: str | None = None) -> Any:
        """``value`` (of a block in ``stack``) with every reference to one of our blocks shown as ``ref(<path>)``;
        ``ref(<stack>:<path>)`` when the block lives in another stack than ``viewer`` (default: ``stack``)."""

        def name(key: Key) -> str:
            target = self._renamed.get(key) or Target(key.stack, self._documents[key.stack].blocks[key].path)
            return f"ref({target.path})" if target.stack == (viewer or stack) else f"ref({target.stack}:{target.path})"

        return self._rewrite(stack, value, name)

    def normalised(self, stack: str, value: Any) -> Any:
        """``value`` with every reference to one of our blocks shown by its type only: equal bodies then mean a move."""
        return self._rewrite(stack, value, lambda key: f"ref({key.type})")

    def _rewrite(self, stack: str, value: Any, name: Callable[[Key], str]) -> Any:
        if isinstance(value, Mapping):
            return {k: self._rewrite(stack, v, name) for k, v in value.items()}
        if isinstance(value, list):
            return [self._rewrite(stack, v, name) for v in value]
        if not isinstance(value, str):
            return value

        def in_span(span: re.Match[str]) -> str:
            def one(match: re.Match[str]) -> str:
                found = self.target(stack, "data" if match[1] else "resource", match[2], match[3], match[4] or "")
                if found is None:
                    return match[0]
                key, attribute = found
                return name(key) + attribute

            return _ADDRESS.sub(one, span[0])

        if "${" in value:
            return _INTERPOLATION.sub(in_span, value)
        whole = _ADDRESS.fullmatch(value)  # depends_on lists name blocks without ${...}
        if whole is not None and self.target(stack, "data" if whole[1] else "resource", whole[2], whole[3], ""):
            return in_span(whole)
        return value
