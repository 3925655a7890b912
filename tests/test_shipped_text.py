"""What users receive (the package, mod files, README, docs, notebooks,
benchmarks, pyproject) names no file of the developers' own workspace: every fact there
carries its primary source instead."""

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: what the documentation's build writes into docs/ (git-ignored, not shipped):
#: its output and the pages it generates from the mod files, the package and
#: the notebooks, which are scanned themselves
DOCS_BUILT = ("_build", "mechanisms", "api", "gallery")
SHIPPED = [p for pattern in ("ionhomeo/**/*", "mod/*", "notebooks/*.ipynb", "benchmarks/*",
                             "docs/**/*", "morphologies/*", "README.md", "pyproject.toml",
                             "LICENSE", "CITATION.cff", ".readthedocs.yaml")
           for p in sorted(REPO.glob(pattern)) if p.is_file() and "__pycache__" not in p.parts
           and not (p.parts[len(REPO.parts)] == "docs"
                    and p.parts[len(REPO.parts) + 1] in DOCS_BUILT)]
#: the developers' workspace beside the repository, and its documents
PRIVATE = re.compile(r"\.\./shared|shared/(reference|morphologies)|DESIGN\.md|reference/README")


def test_the_scan_sees_the_shipped_files():
    names = {p.name for p in SHIPPED}
    assert {"README.md", "cadyn.mod", "recipe.py", "mature.toml", "LICENSE",
            "CITATION.cff"} <= names
    # the documentation's sources: pages, the configuration and its extension
    docs = {p.relative_to(REPO / "docs").as_posix() for p in SHIPPED
            if p.parts[len(REPO.parts)] == "docs"}
    assert {"conf.py", "_ext/ionhomeo_pages.py", "index.md", "getting-started.md",
            "concepts/owners.md", "protocols/rest.md"} <= docs
    assert not any(d.split("/")[0] in DOCS_BUILT for d in docs)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(REPO)))
def test_no_pointer_to_the_developers_workspace(path):
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return  # a binary file (a figure) says nothing
    hits = [f"line {text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}"
            for m in PRIVATE.finditer(text)]
    assert not hits, f"{path.relative_to(REPO)} points to files users never receive: {hits}"
