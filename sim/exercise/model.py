"""The exercise file's schema: a world (a scenario file), a hidden fault, what the student may
see, what "DirectAccess works" means, and what the documented remedy keeps.

A fault is written as a change of a working world (``--set`` paths and events), so that the
checker can show the world works without it and a trainer can read what broke. Every later
kind of fault (IPsec, NRPT, proxies) is one more scenario key or event: the format needs no
change for it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from sim.config import Duration, Strict

# the views a student may ask for (sim.exercise.symptoms renders them)
View = Literal["user", "netsh interface httpstunnel show interfaces",
               "netsh interface teredo show state", "netsh interface 6to4 show state",
               "Get-NetIPHttpsState", "Get-DAConnectionStatus",
               "netsh namespace show policy", "netsh namespace show effectivepolicy",
               "netsh dnsclient show state", "netsh winhttp show proxy"]
# names and proxies: views an exercise asks for by name (not among the defaults)
NAME_VIEWS = ("netsh namespace show policy", "netsh namespace show effectivepolicy",
              "netsh dnsclient show state", "netsh winhttp show proxy")
ALL_VIEWS: tuple[str, ...] = tuple(
    v for v in View.__args__ if v not in NAME_VIEWS)   # type: ignore[attr-defined]
# the views of every world; Get-DAConnectionStatus needs the IPsec layer (server.ipsec)
IPSEC_VIEWS = ("Get-DAConnectionStatus",)
BASIC_VIEWS = tuple(v for v in ALL_VIEWS if v not in IPSEC_VIEWS)


class Change(Strict):
    """A change of the world: scenario values (dotted paths, as ``--set``) and events."""

    set: dict[str, Any] = Field(default_factory=dict)
    events: list[dict[str, Any]] = Field(default_factory=list)


class Fault(Change):
    """The hidden cause: the change that breaks the world, what it is, and the words and
    codes that would give it away (the symptom view never prints them)."""

    cause: str
    words: list[str] = Field(default_factory=list)


class Keep(Change):
    """One property of the documented remedy: with the student's fix in place, this change
    (a later renewal, the setting put back, another network of the same kind) is made too
    and DirectAccess must still work; otherwise the fix is a workaround, for ``why``."""

    why: str


class Capture(Strict):
    """The capture the exercise allows: where, and up to when."""

    point: str
    until: Duration | None = None


class Student(Strict):
    """What the student may see: views at the times asked for (``at``: the default ones),
    and a capture."""

    # default: every view the world has (Get-DAConnectionStatus only with IPsec modelled)
    views: list[View] | None = None
    at: list[Duration] = Field(default_factory=lambda: [300.0], min_length=1)
    pcap: Capture | None = None


class Fix(Strict):
    """A fix for the trainer's solution (and the library's tests): ``--try`` text, ``--set``
    values, or both, with what the trainer says about it."""

    try_: str | None = Field(default=None, alias="try")
    set: dict[str, Any] = Field(default_factory=dict)
    says: str

    @model_validator(mode="after")
    def _something(self) -> Fix:
        if self.try_ is None and not self.set:
            raise ValueError("a fix is a try (events) or a set (values), or both")
        return self


class Solution(Strict):
    """The trainer's answer: the documented remedy, and a workaround and a wrong fix that
    students propose, each with what the checker should say about it (no workaround: none
    is known that works where the user is)."""

    remedy: Fix
    workaround: Fix | None = None
    wrong: Fix


class Exercise(Strict):
    """One break/fix exercise."""

    exercise: str
    title: str
    source: str
    world: str
    setup: Change = Field(default_factory=Change)
    fault: Fault
    client: str
    ticket: str
    # connected: a tunnel carries its traffic (or it is inside); inside: it found its NLS;
    # directaccess: with server.ipsec, Get-DAConnectionStatus ConnectedRemotely (or inside)
    goal: Literal["connected", "inside", "directaccess"] = "connected"
    # DirectAccess must work this soon after the fix (or the start, for a --set): a fault
    # that only delays it (6to4 failing silently first) is a fault too
    within: Duration | None = None
    fix_at: Duration = 0.0
    student: Student = Field(default_factory=Student)
    keeps: list[Keep] = Field(default_factory=list)
    hints: list[str] = Field(min_length=1)
    solution: Solution
    base_dir: str | None = None

    @field_validator("exercise")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v or any(c.isspace() for c in v):
            raise ValueError(f"{v!r}: an exercise's name is one word (kb2980667-root)")
        return v
