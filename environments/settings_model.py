"""The base of every settings model: frozen, unknown keys refused.

Refusing unknown keys turns a typo (``min_szie``) into an error instead of a silently ignored field.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class SettingsModel(BaseModel):
    """Base for every section of an environment file: frozen, unknown keys refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
