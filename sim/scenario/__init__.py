"""Scenario files: schema, loading with clear errors, and building a simulation from them."""

from sim.scenario.loader import apply_overrides, load_scenario, parse_scenario
from sim.scenario.model import Scenario, parse_duration

__all__ = ["Scenario", "apply_overrides", "load_scenario", "parse_duration", "parse_scenario"]
