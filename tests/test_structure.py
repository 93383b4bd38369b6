"""The shape of the package, held by the suite: small modules and functions (no module in
sim/ over 450 lines, no function over 60), class attributes at the top of their class, and
the layers importing only downwards (net → transition/pki → directaccess →
scenario/report/fleet/cli)."""

import ast
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parents[1] / "sim"
MODULES = sorted(SIM.rglob("*.py"))
MAX_MODULE, MAX_FUNCTION = 450, 60
# a layer may import its own and the layers below it
LAYERS = {"errors": 0, "config": 0, "net": 1, "pki": 2, "transition": 2, "directaccess": 3,
          "scenario": 4, "report": 5, "fleet": 5, "exercise": 5, "cli": 6, "__init__": 7}


def tree(path):
    return ast.parse(path.read_text(), str(path))


def layer(path):
    part = path.relative_to(SIM).parts[0].removesuffix(".py")
    return LAYERS[part]


def test_no_module_is_over_450_lines():
    long = {str(p.relative_to(SIM)): n for p in MODULES
            if (n := len(p.read_text().splitlines())) > MAX_MODULE}
    assert not long


def test_no_function_is_over_60_lines():
    long = {f"{p.relative_to(SIM)}:{node.name}": node.end_lineno - node.lineno + 1
            for p in MODULES for node in ast.walk(tree(p))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION}
    assert not long


def test_class_attributes_come_before_methods():
    late = []
    for p in MODULES:
        for cls in (n for n in ast.walk(tree(p)) if isinstance(n, ast.ClassDef)):
            seen_method = False
            for node in cls.body:
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    seen_method = True
                elif seen_method and isinstance(node, ast.Assign | ast.AnnAssign):
                    late.append(f"{p.relative_to(SIM)}:{cls.name}:{node.lineno}")
    assert not late


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(SIM)) for p in MODULES])
def test_imports_go_down_the_layers(path):
    """sim.net never imports pki or the scenario; pki never imports the scenario; …"""
    mine = layer(path)
    up = []
    module = tree(path)
    typing_only = {id(n) for block in ast.walk(module) if isinstance(block, ast.If)
                   and getattr(block.test, "id", None) == "TYPE_CHECKING"
                   for n in ast.walk(block)}
    for node in ast.walk(module):
        if id(node) in typing_only:
            continue
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
        for name in names:
            parts = name.split(".")
            if parts[0] == "sim" and len(parts) > 1 and LAYERS[parts[1]] > mine:
                up.append(name)
    assert not up
