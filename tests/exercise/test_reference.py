"""docs/exercise.md names every key of the exercise file and every view a student may ask
for, so that the reference cannot fall behind the code."""

import re
from pathlib import Path

from pydantic import BaseModel

from sim.exercise import model

DOC = (Path(__file__).resolve().parents[2] / "docs" / "exercise.md").read_text()
PROSE = re.sub(r"```.*?```", "", DOC, flags=re.S)
NAMED = {w for span in re.findall(r"`([^`]+)`", PROSE) for w in re.split(r"[\s.,:=]+", span)}


def test_every_key_of_the_exercise_file_is_documented():
    keys = set()
    for cls in vars(model).values():
        if isinstance(cls, type) and issubclass(cls, BaseModel) \
                and cls.__module__ == model.__name__:
            keys |= {f.alias or name for name, f in cls.model_fields.items()}
    keys.discard("base_dir")   # set by the loader, not written
    assert not sorted(keys - NAMED)


def test_every_view_is_documented():
    assert not [v for v in model.ALL_VIEWS if v not in DOC]
