"""Two syntheses compared block by block: creates, deletes, in-place changes, replacements and moves.

A block is matched by its stack and Terraform address first. What is left on each side is then paired as a
*move* when type and body are equal once references are reduced to their types: a construct renamed in code
(every block under it gets a new address) or moved to another stack. Terraform would otherwise destroy and
re-create it; the comment shows it as a move so the reviewer adds a ``moved`` block (or, across stacks, a
``terraform state mv``). A renamed data source is no change at all (it keeps no state) and is left out.
References in the base are then shown under the moved blocks' new names, so a
dependent whose reference only followed the move shows no change.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from infra.diff.model import AttributeChange, ResourceChange
from infra.diff.replacements import forces_replacement, is_set, schema_path
from infra.diff.terraform_json import SETTINGS_TYPES, Block, Key, References, StackDocument, Target


def compare(base: Mapping[str, StackDocument], head: Mapping[str, StackDocument]) -> list[ResourceChange]:
    """Every difference between ``base`` and ``head`` (stacks by name), in stack then construct-path order."""
    base_blocks = {k: b for d in base.values() for k, b in d.blocks.items()}
    head_blocks = {k: b for d in head.values() for k, b in d.blocks.items()}
    removed = [k for k in base_blocks if k not in head_blocks]
    added = [k for k in head_blocks if k not in base_blocks]
    moves = _pair_moves(removed, added, base_blocks, head_blocks, References(base), References(head))
    renamed = {old: Target(new.stack, head_blocks[new].path) for old, new in moves.items()}
    base_refs, head_refs = References(base, renamed), References(head)

    changes: list[ResourceChange] = []
    for old, new in moves.items():
        attributes = tuple(attribute_changes(
            new.type,
            base_refs.display(old.stack, base_blocks[old].body, viewer=new.stack),
            head_refs.display(new.stack, head_blocks[new].body),
        ))
        if new.mode == "data" and not attributes:
            continue  # a data source keeps no state: renaming it changes nothing
        action = "replace" if any(a.forces_replacement for a in attributes) else "move"
        changes.append(_change(head_blocks[new], action, attributes, moved_from=f"{old.stack}:{old.address}"))
    for key in added:
        if key not in moves.values():
            changes.append(_change(head_blocks[key], "create"))
    for key in removed:
        if key not in moves:
            changes.append(_change(base_blocks[key], "delete"))
    for key in base_blocks.keys() & head_blocks.keys():
        attributes = tuple(attribute_changes(
            key.type,
            base_refs.display(key.stack, base_blocks[key].body),
            head_refs.display(key.stack, head_blocks[key].body),
            ignored=_ignored(head_blocks[key].body),
        ))
        if attributes:
            action = "replace" if any(a.forces_replacement for a in attributes) else "update"
            changes.append(_change(head_blocks[key], action, attributes))
    changes += _settings_changes(base, head)
    return sorted(changes, key=lambda c: (c.stack, c.path, c.address))


def _change(
    block: Block, action: str, attributes: tuple[AttributeChange, ...] = (), moved_from: str = ""
) -> ResourceChange:
    key = block.key
    return ResourceChange(key.stack, key.address, key.type, block.path, action, attributes, moved_from)  # type: ignore[arg-type]


def _pair_moves(
    removed: list[Key], added: list[Key], base: Mapping[Key, Block], head: Mapping[Key, Block],
    base_refs: References, head_refs: References,
) -> dict[Key, Key]:
    """Removed → added pairs of one environment with equal type and normalised body (closest path first)."""

    def fingerprint(refs: References, block: Block) -> str:
        return json.dumps([block.key.mode, block.key.type, refs.normalised(block.key.stack, block.body)], sort_keys=True)

    candidates: dict[tuple[str, str], list[Key]] = {}
    for key in added:
        candidates.setdefault((_env_of(key.stack), fingerprint(head_refs, head[key])), []).append(key)
    moves: dict[Key, Key] = {}
    for key in removed:
        pool = candidates.get((_env_of(key.stack), fingerprint(base_refs, base[key])), [])
        if not pool:
            continue
        closest = max(pool, key=lambda k: difflib.SequenceMatcher(None, base[key].path, head[k].path).ratio())
        pool.remove(closest)
        moves[key] = closest
    return moves


def _env_of(stack: str) -> str:
    return stack.rsplit("-", 1)[0]


def _ignored(body: Mapping[str, Any]) -> frozenset[str]:
    lifecycle = body.get("lifecycle") or {}
    return frozenset(schema_path(p) for p in lifecycle.get("ignore_changes", []) if isinstance(p, str))


def attribute_changes(
    type_: str, old: Any, new: Any, *, ignored: frozenset[str] = frozenset(),
    forces: Callable[[str], bool] | None = None, path: str = "",
) -> Iterator[AttributeChange]:
    """Yield the leaf-most changed paths between ``old`` and ``new`` (set-like lists compared without order).

    ``forces`` says whether a changed path forces replacement (default: the table in ``replacements``).
    """
    if old == new:
        return
    forces = forces or (lambda changed: forces_replacement(type_, changed))
    if isinstance(old, dict) and isinstance(new, dict):
        for name in sorted(old.keys() | new.keys()):
            yield from attribute_changes(type_, old.get(name), new.get(name), ignored=ignored, forces=forces,
                                         path=f"{path}.{name}" if path else name)
        return
    if isinstance(old, list) and isinstance(new, list):
        if is_set(path):
            gone, came = _set_difference(old, new)
            if not gone and not came:
                return
            if len(gone) == len(came) == 1 and isinstance(gone[0], dict) and isinstance(came[0], dict):
                yield from attribute_changes(type_, gone[0], came[0], ignored=ignored, forces=forces,
                                             path=f"{path}[{new.index(came[0])}]")
                return
        elif len(old) == len(new) and all(isinstance(v, (dict, list)) for v in old + new):
            for index, (a, b) in enumerate(zip(old, new)):
                yield from attribute_changes(type_, a, b, ignored=ignored, forces=forces, path=f"{path}[{index}]")
            return
    yield AttributeChange(path, old, new, forces_replacement=forces(path),
                          ignored_after_create=schema_path(path) in ignored)


def _set_difference(old: list[Any], new: list[Any]) -> tuple[list[Any], list[Any]]:
    """Elements only in ``old`` and only in ``new``, compared as multisets."""
    remaining = [_canonical(v) for v in new]
    gone = []
    for value in old:
        if _canonical(value) in remaining:
            remaining.remove(_canonical(value))
        else:
            gone.append(value)
    came = [v for v in new if _canonical(v) in remaining and not remaining.remove(_canonical(v))]
    return gone, came


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _settings_changes(base: Mapping[str, StackDocument], head: Mapping[str, StackDocument]) -> list[ResourceChange]:
    """Provider and backend settings (a region or a state key) changed in a stack that both sides have."""
    changes = []
    for name in sorted(base.keys() & head.keys()):
        for kind in SETTINGS_TYPES:
            attributes = tuple(attribute_changes(kind, base[name].settings[kind], head[name].settings[kind]))
            if attributes:
                changes.append(ResourceChange(name, kind, kind, kind, "update", attributes))
    return changes
