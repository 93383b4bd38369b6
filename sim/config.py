"""The base of every configuration type. Each device and protocol owns its own (the PKI's is
:mod:`sim.pki.spec`); the scenario file's schema (:mod:`sim.scenario.model`) assembles them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """A configuration: frozen, and an unknown key is an error (a typo is never ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
