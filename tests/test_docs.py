"""The documentation (docs/) builds with every warning an error, has a page
for each mechanism, public module, protocol and notebook, and the code on
its pages runs as written.

The default run builds without executing the notebooks (tests/test_notebooks.py
executes them); the slow test builds the site as published, notebooks
executed. Both need the ``docs`` extra (part of the ``test`` extra):
without it they are skipped, saying so.
"""

import html as html_text
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
README = REPO / "README.md"
#: hand-written pages whose code blocks are run (each page in one fresh interpreter)
PAGES = sorted([DOCS / "getting-started.md",
                *(p for p in (DOCS / "concepts").glob("*.md") if p.stem != "index")])
#: the modules of the docs extra (pyproject.toml), by import name
DOCS_EXTRA = ("sphinx", "myst_nb", "furo")
MISSING = [name for name in DOCS_EXTRA if importlib.util.find_spec(name) is None]
needs_docs_extra = pytest.mark.skipif(
    bool(MISSING), reason=f"the docs extra is not installed (no {', '.join(MISSING)}): "
                          "pip install '.[docs]' (the test extra includes it)")


def fenced(text: str, language: str) -> list:
    """The code blocks of a Markdown page written as ```language."""
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.S | re.M)


def the_documented_command() -> list:
    """The README's build command (its Documentation section), as argv."""
    text = README.read_text()
    section = text[text.index("## Documentation\n"):]
    section = section[:section.index("\n## ", 1)]
    [block] = fenced(section, "bash")
    build = block.strip().split(" && ")[-1]
    assert build.startswith("sphinx-build "), build
    return build.split()


def build(out: Path, *options) -> subprocess.CompletedProcess:
    """Run the README's sphinx-build command (with ``options``) into ``out``."""
    argv = the_documented_command()
    assert {"-W", "--keep-going"} <= set(argv), "the documented build must fail on warnings"
    assert argv[-2:] == ["docs", "docs/_build/html"], argv
    argv = [sys.executable, "-m", "sphinx", *argv[1:-1], str(out / "html"),
            "-d", str(out / "doctrees"), *options]
    env = dict(os.environ, MPLBACKEND="Agg", TMPDIR=str(out))
    return subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=3600)


def check_site(html: Path, log: str) -> None:
    """What every build must contain."""
    import ionhomeo.cell  # noqa: F401  (their docstrings are compared with the pages)
    import ionhomeo.recipe  # noqa: F401
    import ionhomeo.steady  # noqa: F401
    import ionhomeo.thermo  # noqa: F401
    from ionhomeo import mechanisms

    # Sphinx's own ("file:line: WARNING: ..."); -W has failed the build on any of them
    # already (the kernels' log lines, "[IPKernelApp] WARNING | ...", are not Sphinx's)
    problems = re.findall(r"^(?:.*: )?(?:WARNING|ERROR|CRITICAL): .*$", log, re.M)
    assert not problems, problems
    assert (html / "index.html").is_file()
    for name, mech in mechanisms.catalog().items():
        page = (html / "mechanisms" / f"{name}.html").read_text()
        for p in mech.parameters.values():
            assert f">{p.name}<" in page, (name, p.name)
        # the COMMENT's first sentence, as written in the mod file
        first = " ".join(mech.comment.split()).split(". ")[0]
        words = " ".join(html_text.unescape(re.sub(r"<[^>]+>", "", page)).split())
        assert first in words, (name, first)
    kcc2 = (html / "mechanisms" / "kcc2.html").read_text()
    assert "mA/cm2" in kcc2 and "0.05" in kcc2 and "Payne 1997" in kcc2
    assert "icc = imax * a * (ki cli - ko clo) / D" in html_text.unescape(kcc2)
    for module in ("ionhomeo.thermo", "ionhomeo.cell", "ionhomeo.recipe", "ionhomeo.steady"):
        page = html_text.unescape((html / "api" / f"{module}.html").read_text())
        summary = sys.modules[module].__doc__.split("\n")[0]
        assert " ".join(summary.split()[:6]) in " ".join(re.sub(r"<[^>]+>", "", page).split())
    api = (html / "api" / "ionhomeo.thermo.html").read_text()
    assert 'id="ionhomeo.thermo.nernst"' in api and 'id="ionhomeo.cell.Cell.initialize"' in \
        (html / "api" / "ionhomeo.cell.html").read_text()
    for md in (DOCS / "protocols").glob("*.md"):
        assert (html / "protocols" / f"{md.stem}.html").is_file(), md.name
    for nb in (REPO / "notebooks").glob("*.ipynb"):
        assert (html / "gallery" / f"{nb.stem}.html").is_file(), nb.name


@needs_docs_extra
def test_the_site_builds_without_warnings(tmp_path):
    """The whole site, notebooks not executed, every warning an error."""
    proc = build(tmp_path, "-D", "nb_execution_mode=off")
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-5000:]
    check_site(tmp_path / "html", log)
    # not executed: the notebook pages hold their code, no outputs
    page = (tmp_path / "html" / "gallery" / "your_own_cell.html").read_text()
    assert "cell.initialize()" in page and "<img" not in page


@needs_docs_extra
@pytest.mark.slow
def test_the_site_builds_with_the_notebooks_executed(tmp_path):
    """The site as published: every notebook of the gallery executed in a
    fresh kernel (a cell that raises fails the build), its figures shown."""
    before, wall = os.times(), time.time()
    proc = build(tmp_path)
    after = os.times()
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-5000:]
    check_site(tmp_path / "html", log)
    for nb in (REPO / "notebooks").glob("*.ipynb"):
        page = (tmp_path / "html" / "gallery" / f"{nb.stem}.html").read_text()
        assert "<img" in page, f"{nb.name}: no figure in the executed page"
        assert "Traceback" not in page, nb.name
    cpu = (after.children_user - before.children_user
           + after.children_system - before.children_system)
    print(f"docs build with the notebooks executed: {time.time() - wall:.0f} s wall, "
          f"{cpu:.0f} s CPU (sphinx-build and the kernels)")


def test_the_page_generator_renders_text_as_written():
    """The mechanism pages escape the mod files' prose for Markdown: what a
    reader sees is the text of the COMMENT, whatever it contains."""
    pytest.importorskip("markdown_it", reason="the docs extra is not installed: "
                                              "pip install '.[docs]'")
    from markdown_it import MarkdownIt

    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        import ionhomeo_pages
    finally:
        sys.path.remove(str(DOCS / "_ext"))
    from ionhomeo import mechanisms

    md = MarkdownIt("commonmark")
    tricky = "a*b*c _x_ `code` <tag> [link](url) #1 |pipe| 2 < 3 > 1 & E_GABA \\ end"
    text = html_text.unescape(re.sub(r"<[^>]+>", "", md.render(ionhomeo_pages.escape(tricky))))
    assert text.strip() == tricky
    for mech in mechanisms.catalog().values():
        rendered = md.render(ionhomeo_pages.comment_markdown(mech.comment))
        text = html_text.unescape(re.sub(r"<[^>]+>", " ", rendered))
        # every word of the COMMENT appears, in order, and nothing else
        assert text.split() == mech.comment.split(), mech.name


def _page_session(page: Path) -> str:
    return "\n".join(fenced(page.read_text(), "python"))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_the_code_of_each_page_runs_as_written(page, tmp_path):
    """A page's python blocks, in order, in one fresh interpreter (as a
    reader pasting them into one session); they assert what the text says."""
    code = _page_session(page)
    if not code:
        pytest.skip(f"{page.name} has no python block")
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=os.pathsep.join(
        [str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    assert "was not loaded" not in proc.stdout and "celsius is 6.3" not in proc.stdout


def test_every_concept_page_has_code_that_runs():
    assert {p.stem for p in PAGES} >= {"getting-started", "owners", "organelles",
                                       "steady-state", "regions", "recipes"}
    for page in PAGES:
        if page.stem != "index":
            assert fenced(page.read_text(), "python"), f"{page.name}: no python example"


def test_hoc_and_toml_blocks_are_the_packages_own():
    """The hoc line of the steady-state page is steady.HOC_LINE (which
    tests/test_steady_any.py runs through nrniv); every TOML block is a
    recipe the package accepts."""
    from ionhomeo import steady
    from ionhomeo.recipe import Recipe

    hoc = [b for p in PAGES for b in fenced(p.read_text(), "hoc")]
    assert [b.strip() for b in hoc] == [steady.HOC_LINE]
    toml = [b for p in PAGES for b in fenced(p.read_text(), "toml")]
    assert toml
    for block in toml:
        recipe = Recipe.from_toml(block)
        assert recipe.rules


def test_shell_commands_of_getting_started(tmp_path):
    """Its install and build commands are the README's; its ionhomeo commands
    run as written, and the output it quotes has the shape they print."""
    page = (DOCS / "getting-started.md").read_text()
    readme = README.read_text()
    commands = [line for block in fenced(page, "bash") for line in block.splitlines()
                if line.strip()]
    assert any(c.startswith("ionhomeo run rest") for c in commands)
    env = dict(os.environ, MPLBACKEND="Agg",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    outputs = []
    for command in commands:
        if not command.startswith("ionhomeo "):
            assert command in readme, f"not the README's: {command}"
            continue
        proc = subprocess.run(["bash", "-e", "-c", command], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, command + "\n" + proc.stdout + proc.stderr
        outputs.append(proc.stdout)
    quoted = [line for block in fenced(page, "text") for line in block.splitlines()]
    for line in quoted:
        # the numbers may differ; the rest of the line is as printed
        parts = re.split(r"((?<![A-Za-z_])[-+]?\d[\d.]*(?:e[-+]?\d+)?)", line)
        shape = "".join(r"[-+]?\d[\d.]*(?:e[-+]?\d+)?" if i % 2 else re.escape(part)
                        for i, part in enumerate(parts))
        assert any(re.search(shape, out, re.M) for out in outputs), line
    written = {p.name for p in (tmp_path / "results" / "rest").iterdir()}
    named = set(re.findall(r"`(rest[\w.]*\.(?:csv|png|json))`", page))
    assert named == written
    meta = json.loads((tmp_path / "results" / "rest" / "rest.json").read_text())
    assert meta["cell"]["morphology"]["sha256"] and meta["files"]
