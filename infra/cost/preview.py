"""The cost preview of an environment (``sahab cost ENV``, ``sahab up ENV --plan``): monthly AED and USD per layer."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from infra.cost.estimate import CostLine, PriceTable, estimate, load_prices


@dataclass(frozen=True)
class LayerCost:
    stack: str
    aed: float
    usd: float
    lines: tuple[CostLine, ...]


@dataclass(frozen=True)
class CostPreview:
    layers: tuple[LayerCost, ...]
    prices: PriceTable

    @property
    def aed(self) -> float:
        return sum(layer.aed for layer in self.layers)

    @property
    def usd(self) -> float:
        return sum(layer.usd for layer in self.layers)

    @property
    def unpriced(self) -> tuple[str, ...]:
        return tuple(f"{line.item}: {line.unpriced}" for layer in self.layers for line in layer.lines if line.unpriced)


def cost_preview(stack_files: Iterable[Path], prices: PriceTable | None = None) -> CostPreview:
    """Price each synthesised stack (``<outdir>/stacks/<stack>/cdk.tf.json``) in the order given."""
    prices = prices or load_prices()
    layers = []
    for file in stack_files:
        lines = tuple(estimate({file.parent.name: json.loads(file.read_text())}, prices))
        aed = sum(line.monthly_aed for line in lines)
        layers.append(LayerCost(file.parent.name, aed, aed / prices.aed_per_usd, lines))
    return CostPreview(tuple(layers), prices)
