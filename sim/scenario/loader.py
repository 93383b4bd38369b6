"""YAML scenario files → validated :class:`Scenario`, or one readable :class:`InputError`.

Every message names the file, the line and column, and the dotted key, and suggests the
nearest valid name for a typo: ``hotel.yaml:14:5: networks.hotel.nat.mapping: ...``. The YAML
is composed (not just loaded) so that each value keeps its position.
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from sim.errors import ImplausibleValue, InputError
from sim.scenario.model import RefError, Scenario, suggest
from sim.scenario.plausible import implausible


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (YAML would silently keep the last)."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, yaml.Node] = {}
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key_node, yaml.ScalarNode):   # `? {a: b}`: YAML allows it, we don't
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a plain value, not a mapping or a list",
                key_node.start_mark)
        if key in seen:
            first = seen[key].start_mark.line + 1
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first at line {first})",
                key_node.start_mark)
        seen[key] = key_node
    return loader.construct_mapping(node, deep=deep)


def _construct_timestamp(loader: _Loader, node: yaml.ScalarNode) -> Any:
    """A date or time, or an error at its place (2027-13-01 looks like one to YAML)."""
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError as exc:
        raise yaml.constructor.ConstructorError(
            None, None, f"{node.value!r} is not a valid date or time: {exc}",
            node.start_mark) from None


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def _node_at(root: yaml.Node | None, loc: tuple) -> tuple[yaml.Node | None, bool]:
    """The node at ``loc`` (or its deepest existing parent) and whether it was found whole;
    for a bad key, the key's own node."""
    node = root
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == str(part):
                    node = v
                    break
            else:
                return node, False
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) \
                and part < len(node.value):
            node = node.value[part]
        else:
            return node, False
    return node, True


def _key_node(root: yaml.Node | None, loc: tuple) -> yaml.Node | None:
    parent, _ = _node_at(root, loc[:-1])
    if isinstance(parent, yaml.MappingNode):
        for k, _v in parent.value:
            if k.value == str(loc[-1]):
                return k
    return parent


def _where(source: str, node: yaml.Node | None) -> str:
    if node is None:
        return source
    mark = node.start_mark
    return f"{source}:{mark.line + 1}:{mark.column + 1}"


def _dotted(loc: tuple) -> str:
    return ".".join(str(p) for p in loc if not _tag(p)) or "(top level)"


def _tag(part: Any) -> bool:
    """A union's branch in an error's place (``list[NrptRuleConfig]``,
    ``literal['wizard']``): pydantic's, not the user's."""
    return isinstance(part, str) and ("[" in part or part.startswith(("function-", "lax-")))


def _one_branch(errors: list) -> list:
    """The errors of a union's value told once: a literal's branch ('wizard') drops out when
    another branch of the same value says more (a rule inside the list)."""
    deep = {tuple(p for p in e["loc"] if not _tag(p))[:1] for e in errors
            if e["type"] != "literal_error"}
    kept = [e for e in errors if not (e["type"] == "literal_error" and any(_tag(p) for p in
            e["loc"]) and tuple(p for p in e["loc"] if not _tag(p))[:1] in deep)]
    return kept or errors


def _valid_keys(model: Any, loc: tuple) -> list[str]:
    """The field names allowed where an unknown key ``loc[-1]`` was found (under a mapping's
    own names and a list's indexes too: ``networks.hotel.firewall.alow``)."""
    current: Any = model
    for part in loc[:-1]:
        current = _step(current, part)
        if current is None:
            return []
    current = _model_or_container(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _step(annotation: Any, part: Any) -> Any:
    """The type one key or index further down."""
    current = _model_or_container(annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        field = current.model_fields.get(str(part))
        return None if field is None else field.annotation
    if get_origin(current) in (list, dict):
        return get_args(current)[-1]
    return None


def _model_or_container(annotation: Any) -> Any:
    """A model, list or dict type, looking inside Optional, unions and Annotated."""
    if (isinstance(annotation, type) and issubclass(annotation, BaseModel)) or \
            get_origin(annotation) in (list, dict):
        return annotation
    for arg in get_args(annotation):
        inner = _model_or_container(arg)
        if inner is not None:
            return inner
    return None


def _is_section(loc: tuple) -> bool:
    """Whether ``loc`` names a mapping the schema allows there (``networks.home.link``), which
    ``--set networks.home.link.latency=40ms`` may create when the file has none."""
    if str(loc[-1]) not in _valid_keys(Scenario, loc):   # a field, not a name of the file's
        return False
    current: Any = Scenario
    for part in loc:
        current = _step(current, part)
        if current is None:
            return False
    inner = _model_or_container(current)
    return (isinstance(inner, type) and issubclass(inner, BaseModel)) or \
        get_origin(inner) is dict


def _message(err: dict[str, Any], root: yaml.Node | None, source: str,
             overrides: dict[str, Any] | None = None,
             model: type[BaseModel] = Scenario) -> tuple[int, str]:
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and (
        p.startswith("function-") or p in ("date", "datetime", "str", "int", "float"))))
    kind = err["type"]
    ctx_error = (err.get("ctx") or {}).get("error")
    if isinstance(ctx_error, RefError):
        loc, text = ctx_error.loc, str(ctx_error)
    elif kind == "extra_forbidden":
        valid = _valid_keys(model, loc)
        text = f"unknown key{suggest(loc[-1], valid)}"
        if valid and not suggest(loc[-1], valid):
            text += f"; expected one of {', '.join(valid)}"
    elif kind == "missing":
        text = "required key is missing"
    elif kind == "literal_error":
        expected = (err.get("ctx") or {}).get("expected", "")
        options = [o.strip().strip("'") for o in expected.replace(" or ", ", ").split(",")]
        text = f"{err['input']!r} is not one of {', '.join(options)}" + suggest(
            err["input"], options)
    else:
        text = err["msg"].removeprefix("Value error, ")
    # a value from --set is not where the file's line would say: name the option instead
    parts = [str(p) for p in loc]
    for path, value in (overrides or {}).items():
        if parts[:len(path.split("."))] == path.split("."):
            shown = yaml.safe_dump(value, default_flow_style=True, sort_keys=False,
                                   width=1 << 16).split("\n")[0]
            return -1, f"{source}: --set {path}={shown}: {_dotted(loc)}: {text}"
    if kind == "extra_forbidden":
        node = _key_node(root, loc)
    else:
        node, _found = _node_at(root, loc)
    line = node.start_mark.line if node is not None else 0
    return line, f"{_where(source, node)}: {_dotted(loc)}: {text}"


def read_yaml(text: str, source: str) -> tuple[yaml.Node | None, Any]:
    """The YAML ``text`` composed (each value's position) and loaded, or one InputError
    naming ``source``, the line and the column."""
    try:
        root = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        what = "" if isinstance(exc, yaml.constructor.ConstructorError) else "not valid YAML: "
        raise InputError(f"{where}: {what}{exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: not valid YAML: {exc}") from None
    if data is None:
        raise InputError(f"{source}: the file is empty")
    return root, data


def validate(model: type[BaseModel], data: Any, root: yaml.Node | None, source: str,
             overrides: dict[str, Any] | None = None) -> Any:
    """``data`` as a ``model``, or one InputError naming the file, line and dotted key of the
    first mistake (an unknown key first: a typo usually explains a missing one)."""
    try:
        scenario = model.model_validate(data)
    except ValidationError as exc:
        errors = _one_branch(exc.errors())
        errors = sorted(errors, key=lambda e: e["type"] != "extra_forbidden")
        msgs = [_message(e, root, source, overrides, model) for e in errors]
        if errors[0]["type"] != "extra_forbidden":
            msgs.sort()
        first = msgs[0][1]
        more = len(msgs) - 1
        raise InputError(first + (f" (and {more} more)" if more else "")) from None
    for loc, text in implausible(scenario) if isinstance(scenario, Scenario) else ():
        warnings.warn(ImplausibleValue(_place(loc, root, source, overrides) + text),
                      stacklevel=2)
    return scenario


def _place(loc: tuple, root: yaml.Node | None, source: str,
           overrides: dict[str, Any] | None) -> str:
    """``file:line:col: key: `` of a value, or ``file: --set PATH=V: key: `` for one that an
    option set."""
    parts = [str(p) for p in loc]
    for path, value in (overrides or {}).items():
        if parts[:len(path.split("."))] == path.split("."):
            shown = yaml.safe_dump(value, default_flow_style=True, sort_keys=False,
                                   width=1 << 16).split("\n")[0]
            return f"{source}: --set {path}={shown}: {_dotted(loc)}: "
    node, _found = _node_at(root, loc)
    return f"{_where(source, node)}: {_dotted(loc)}: "


def parse_scenario(text: str, source: str = "<string>", base_dir: Path | None = None,
                   overrides: dict[str, Any] | None = None) -> Scenario:
    """Validate scenario ``text``; ``source`` names it in messages."""
    root, data = read_yaml(text, source)
    if not isinstance(data, dict):
        raise InputError(f"{source}:1:1: a scenario is a mapping of keys (name, server, "
                         f"networks, clients, ...), not a {type(data).__name__}")
    if overrides:
        data = apply_overrides(data, overrides, source)
    if base_dir is not None and "base_dir" not in data:
        data["base_dir"] = str(base_dir)
    return validate(Scenario, data, root, source, overrides)


def read_text(path: str | Path, kind: str = "scenario file") -> str:
    """A file's UTF-8 text, or one InputError naming it (``kind``: what it should be)."""
    try:
        return Path(path).read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such {kind}") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a {kind}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Read and validate a scenario file."""
    text = read_text(path)
    return parse_scenario(text, str(path), Path(path).resolve().parent, overrides)


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any], source: str) -> dict:
    """Set dotted paths (``networks.home.nat.udp_timeout``, ``clients.0.profile``)."""
    data = copy.deepcopy(data)
    for path, value in overrides.items():
        parts = path.split(".")
        node: Any = data
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise InputError(f"{source}: --set {path}: {'.'.join(parts[:i])} has no "
                                     f"item {part}")
                key: Any = int(part)
            elif isinstance(node, dict):
                key = part
                if not last and key not in node and _is_section(tuple(parts[:i + 1])):
                    node[key] = {}   # a section the file leaves out: --set fills it in
                if not last and key not in node:
                    known = [*node, *_valid_keys(Scenario, tuple(parts[:i + 1]))]
                    raise InputError(f"{source}: --set {path}: no key "
                                     f"{'.'.join(parts[:i + 1])}{suggest(part, known)}")
            else:
                raise InputError(f"{source}: --set {path}: {'.'.join(parts[:i])} is a value, "
                                 "not a mapping or list")
            if last:
                node[key] = copy.deepcopy(value)   # a later path may change inside it
            else:
                node = node[key]
    return data
