"""The protocols are small declarations on one skeleton (ionhomeo.experiment):
each module at most 300 lines, each function at most 80, and every protocol
an ionhomeo.experiment.Protocol whose options are a validated Spec."""

import ast
import dataclasses
from pathlib import Path

import pytest

import ionhomeo
from ionhomeo.experiment import Protocol, Spec
from ionhomeo.protocols import PROTOCOLS

PROTOCOL_DIR = Path(ionhomeo.__file__).parent / "protocols"
MODULES = sorted(PROTOCOL_DIR.glob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_module_is_at_most_300_lines(path):
    n = len(path.read_text().splitlines())
    assert n <= 300, f"{path.name}: {n} lines"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_functions_are_at_most_80_lines(path):
    tree = ast.parse(path.read_text())
    long = [(node.name, node.end_lineno - node.lineno + 1) for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > 80]
    assert not long, f"{path.name}: {long}"


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_every_protocol_is_a_declaration_on_the_skeleton(name):
    protocol = PROTOCOLS[name].run
    assert isinstance(protocol, Protocol), f"{name} is not an ionhomeo.experiment.Protocol"
    assert issubclass(protocol.Spec, Spec)
    for field in dataclasses.fields(protocol.Spec):
        assert "unit" in field.metadata and "doc" in field.metadata, (name, field.name)
