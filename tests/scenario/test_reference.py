"""docs/scenario.md names every key of the schema, every event action and every choice of the
keys users pick from, so that the reference cannot fall behind the code."""

import inspect
import re
from pathlib import Path
from typing import Literal, get_args, get_origin

from pydantic import BaseModel

from sim.pki import spec as pki_spec
from sim.scenario import model

DOC = (Path(__file__).resolve().parents[2] / "docs" / "scenario.md").read_text()
NAMED = set(re.findall(r"`([^`]+)`", DOC))
# the words of the code spans: `crl.url` names crl and url, `allow`, `deny`, `reject` each
WORDS = {w for span in NAMED for w in re.split(r"[\s.,:=\[\]{}]+", span) if w}


def models():   # the scenario's own types and those it takes from the devices (pki:)
    return [c for mod in (model, pki_spec) for _, c in inspect.getmembers(mod, inspect.isclass)
            if issubclass(c, BaseModel) and c.__module__ == mod.__name__
            and c is not model.Strict]


def literals(annotation):
    if get_origin(annotation) is Literal:
        yield from get_args(annotation)
    for arg in get_args(annotation):
        yield from literals(arg)


def test_every_key_is_described():
    missing = {f"{c.__name__}.{name}" for c in models() for name in c.model_fields
               if name not in WORDS}
    assert not missing


def test_every_choice_and_action_is_named():
    words = " ".join(NAMED)
    missing = {value for c in models() for f in c.model_fields.values()
               for value in literals(f.annotation) if str(value) not in words}
    assert not missing
