"""The monthly cost delta of one environment: both sides priced by the same table, lines paired by what they price."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infra.cost.estimate import PriceTable, estimate
from infra.diff.model import EnvironmentCost, PriceSource


def environment_cost(
    env: str, base: Mapping[str, Mapping[str, Any]], head: Mapping[str, Mapping[str, Any]], prices: PriceTable,
    moved: Mapping[str, str] | None = None,
) -> EnvironmentCost:
    """``base`` and ``head``: that environment's cdktf JSON documents by stack name (empty for a side without it);
    ``moved``: base ``<stack>:<address>`` → head one, so a moved resource costs the same, not less and more."""
    before = {line.key: line for line in estimate(base, prices, moved)}
    after = {line.key: line for line in estimate(head, prices)}
    changed = []
    for key in sorted(before.keys() | after.keys()):
        old = before[key].monthly_aed if key in before else 0.0
        new = after[key].monthly_aed if key in after else 0.0
        if round(old, 2) != round(new, 2):
            changed.append(((after.get(key) or before[key]).item, old, new))
    return EnvironmentCost(
        env=env,
        base_aed=sum(line.monthly_aed for line in before.values()),
        head_aed=sum(line.monthly_aed for line in after.values()),
        changed=tuple(changed),
        unpriced=tuple(f"{line.item}: {line.unpriced}" for line in after.values() if line.unpriced),
    )


def price_source(prices: PriceTable) -> PriceSource:
    return PriceSource(prices.region, prices.date, prices.source, f"1 USD = {prices.aed_per_usd} AED")
