"""Python 3.10 support: no unguarded use of the standard library of 3.11+.

``requires-python = ">=3.10"``, but ``tomllib`` (and a few other names) only
exist from 3.11: an unconditional ``import tomllib`` makes every command fail
on 3.10 with ModuleNotFoundError. These checks read the source with ``ast``,
so they fail on any Python, not only on 3.10 (where CI also runs a smoke
subset of the suite, see README "Development").
"""

import ast
import json
import re
import shlex
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import ionhomeo

REPO = Path(__file__).resolve().parents[1]
# the package as imported (installed or editable), and the repository's scripts
SOURCES = sorted(Path(ionhomeo.__file__).parent.rglob("*.py")) + sorted(
    p for d in ("tests", "benchmarks", "morphologies") for p in (REPO / d).glob("*.py"))
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))

# modules, and names in modules, that Python 3.10 does not have
NEW_MODULES = {"tomllib", "wsgiref.types"}
NEW_NAMES = {
    "typing": {"Self", "LiteralString", "Never", "assert_never", "assert_type", "reveal_type",
               "TypeVarTuple", "Unpack", "Required", "NotRequired", "dataclass_transform",
               "get_overloads", "clear_overloads", "override", "TypeAliasType"},
    "datetime": {"UTC"},
    "enum": {"StrEnum", "ReprEnum", "EnumCheck", "FlagBoundary", "verify", "member",
             "nonmember", "global_enum"},
    "hashlib": {"file_digest"},
    "contextlib": {"chdir"},
    "asyncio": {"TaskGroup", "timeout", "Runner"},
    "itertools": {"batched"},
    "math": {"cbrt", "exp2", "sumprod"},
    "operator": {"call"},
}
NEW_BUILTINS = {"ExceptionGroup", "BaseExceptionGroup"}


def _guarded(parents) -> bool:
    """Whether a node sits in a try that catches ImportError or under an ``if sys.version_info``."""
    for node, field in parents:
        if isinstance(node, ast.Try) and field == "body":
            for handler in node.handlers:
                names = [handler.type] if not isinstance(handler.type, ast.Tuple) else handler.type.elts
                if handler.type is None or any(
                        isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError",
                                                             "AttributeError")
                        for n in names):
                    return True
        if isinstance(node, ast.If) and "version_info" in ast.unparse(node.test):
            return True
    return False


def _walk(node, parents=()):
    yield node, parents
    for field, value in ast.iter_fields(node):
        for child in value if isinstance(value, list) else [value]:
            if isinstance(child, ast.AST):
                yield from _walk(child, parents + ((node, field),))


def problems(source: str, where: str) -> list[str]:
    """Uses of 3.11+-only standard library in ``source`` that are not guarded."""
    tree = ast.parse(source, where)  # on 3.10, ``except*`` fails already here
    found = []
    for node, parents in _walk(tree):
        bad = None
        if isinstance(node, ast.Import):
            bad = [a.name for a in node.names if a.name in NEW_MODULES]
        elif isinstance(node, ast.ImportFrom):
            if node.module in NEW_MODULES:
                bad = [node.module]
            else:
                bad = [f"{node.module}.{a.name}" for a in node.names
                       if a.name in NEW_NAMES.get(node.module, ())]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.attr in NEW_NAMES.get(node.value.id, ()):
                bad = [f"{node.value.id}.{node.attr}"]
        elif isinstance(node, ast.Name) and node.id in NEW_BUILTINS:
            bad = [node.id]
        elif type(node).__name__ == "TryStar":
            bad = ["except*"]
        if bad and not _guarded(parents):
            found.append(f"{where}:{node.lineno}: {', '.join(bad)} (Python 3.11+)")
    return found


def test_detector_finds_an_unguarded_tomllib_and_accepts_the_fallbacks():
    assert problems("import tomllib\n", "x") == ["x:1: tomllib (Python 3.11+)"]
    assert problems("def f():\n    from datetime import UTC\n", "x") == ["x:2: datetime.UTC (Python 3.11+)"]
    assert problems("import typing\nT = typing.Self\n", "x") == ["x:2: typing.Self (Python 3.11+)"]
    # a try whose handler does not catch ImportError is no guard
    assert problems("try:\n    import tomllib\nexcept ValueError:\n    pass\n", "x")
    assert problems("try:\n    import tomllib\nexcept ImportError:\n"
                    "    import tomli as tomllib\n", "x") == []
    assert problems("import sys\nif sys.version_info >= (3, 11):\n    import tomllib\n"
                    "else:\n    import tomli as tomllib\n", "x") == []


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_no_unguarded_311_stdlib(path):
    assert problems(path.read_text(encoding="utf-8"), str(path)) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_no_unguarded_311_stdlib(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for i, cell in enumerate(c for c in cells if c["cell_type"] == "code"):
        source = "".join(cell["source"])
        # IPython magics and shell escapes are not Python
        source = "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                           for line in source.splitlines())
        assert problems(source, f"{path.name} code cell {i}") == []


def test_pyproject_declares_tomli_before_311():
    """The ``tomllib`` fallback (``tomli``) is a dependency on 3.10, and only there."""
    pyproject = REPO / "pyproject.toml"
    if not pyproject.exists():
        pytest.skip("no pyproject.toml next to the tests")
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    deps = [Requirement(d) for d in tomllib.loads(pyproject.read_text())["project"]["dependencies"]]
    tomli = [r for r in deps if r.name == "tomli"]
    assert len(tomli) == 1, "pyproject.toml: add \"tomli>=1.1; python_version < '3.11'\""
    marker = tomli[0].marker
    assert marker is not None
    assert marker.evaluate({"python_version": "3.10"})
    for version in ("3.11", "3.12", "3.13"):
        assert not marker.evaluate({"python_version": version})


def test_recipe_toml_loads_on_this_python():
    """The TOML reader the recipes use works here (tomllib, or tomli on 3.10)."""
    from ionhomeo import recipe

    assert recipe.tomllib.loads('a = 1\n[b]\nc = "2 mM"\n') == {"a": 1, "b": {"c": "2 mM"}}
    assert sys.version_info >= (3, 10)


def test_the_310_smoke_subset_is_the_same_in_readme_and_ci():
    """README "Development" and .ci/run name the same existing test files."""
    ci, readme = REPO / ".ci" / "run", REPO / "README.md"
    if not ci.exists() or not readme.exists():
        pytest.skip("not a checkout (no .ci/run or README.md)")
    listed = re.search(r"^PY310_SMOKE=\(([^)]*)\)", ci.read_text(), re.M)
    assert listed, ".ci/run: no PY310_SMOKE=(...) list"
    in_ci = shlex.split(listed.group(1))
    commands = [line for line in readme.read_text().splitlines()
                if line.startswith("python3.10 -m venv")]
    assert len(commands) == 1, "README: expected one 'python3.10 -m venv ...' command"
    in_readme = [w for w in shlex.split(commands[0]) if w.startswith("tests/")]
    assert in_readme == in_ci
    assert in_ci and all((REPO / f).is_file() for f in in_ci)
    assert "tests/test_python_versions.py" in in_ci
