"""The typed configuration every layer shares: a strict pydantic base and durations.

A device's configuration type lives with the device (``sim.net.firewall.FirewallConfig``,
``sim.net.natsettings.NatSettings``, …) and derives from :class:`Strict`, so that the scenario
file's schema is built from the devices' own types and a key is defined, defaulted and checked
in one place.
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


class Strict(BaseModel):
    """Frozen, and no unknown keys: a typo in a scenario is an error, never ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def suggest(name: str, valid: Any) -> str:
    """`` (did you mean 'x'?)`` for the nearest valid name, or nothing."""
    close = difflib.get_close_matches(str(name), [str(v) for v in valid], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def one_word(value: Any, word: str, expected: str) -> Any:
    """``value`` as given, unless it is a string other than ``word``: then one readable
    ValueError (``expected`` says what else the key takes) instead of a union's internals."""
    if isinstance(value, str) and value != word:
        raise ValueError(f"{value!r}: expected {word} ({expected}){suggest(value, [word])}")
    return value


def parse_duration(value: Any) -> float:
    """Seconds from a number or a string like "20ms", "90s", "5m", "2h", "3d", "1h30m"."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like 5m")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        parts = re.fullmatch(r"((\d+(\.\d+)?)(ms|[smhd]))+", text)
        if parts:
            return float(sum(float(n) * _UNITS[u] for n, _f, u in
                             re.findall(r"(\d+(\.\d+)?)(ms|[smhd])", text)))
        try:
            return parse_duration(float(text))
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a duration (seconds, or e.g. 20ms, 90s, 5m, 2h, 3d)")


Duration = Annotated[float, BeforeValidator(parse_duration)]


def duration_range(what: str) -> Any:
    """A validator of a duration, or of ``[low, high]`` from which each site, laptop or guest
    draws its own (homes and hotels are not all as far from the Internet, guests do not all
    log in at once)."""
    def parse(value: Any) -> Any:
        if isinstance(value, list | tuple):
            if len(value) != 2:
                raise ValueError(f"a {what} range is [low, high], e.g. [5ms, 40ms]")
            low, high = parse_duration(value[0]), parse_duration(value[1])
            if low > high:
                raise ValueError(f"{what} range [{value[0]}, {value[1]}]: low is above high")
            return [low, high]
        return parse_duration(value)
    return parse


DurationRange = Annotated[float | list[float], BeforeValidator(duration_range("latency"))]
