"""Pages of the documentation generated at build time, never kept in git.

* ``mechanisms/<name>.md``: one page per mechanism, from the catalogue that
  :mod:`ionhomeo.mechanisms` reads out of ``mod/*.mod`` (title, kind, ions
  read and written, every PARAMETER with its default, units, range and
  meaning, the ASSIGNED and STATE variables, the COMMENT block with its
  equations, sources and sign conventions) and the bundled presets that
  place it; ``mechanisms/table.inc``, the overview table that
  ``mechanisms.md`` includes.
* ``api/<module>.md``: one autodoc page per public module of the package
  (``api.md`` groups them: a module missing there would be a page in no
  toctree, which the build, with warnings as errors, refuses).
* ``gallery/<notebook>.ipynb``: the notebooks of ``notebooks/``, copied so
  that MyST-NB can read (and execute) them inside the source tree.

A file is written only when its text changes, so an incremental build
re-reads only what moved; a file these folders hold that the sources no
longer produce (a mod file or a notebook removed) is deleted.
"""

from __future__ import annotations

import math
import pkgutil
import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1]
REPO = DOCS.parent
#: the folders this extension writes (git-ignored)
GENERATED = ("mechanisms", "api", "gallery")

_PUNCTUATION = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])""")


def escape(text: str) -> str:
    """``text`` as literal Markdown: every ASCII punctuation character
    backslash-escaped (CommonMark allows it for each of them, so the result
    renders exactly as written, whatever the mod file's prose contains)."""
    return _PUNCTUATION.sub(r"\\\1", text)


def code(text: str) -> str:
    """``text`` as inline code."""
    if "`" in text:
        raise ValueError(f"no backticks expected in a name: {text!r}")
    return f"`{text}`"


def number(x: float) -> str:
    if math.isinf(x):
        return "+inf" if x > 0 else "-inf"
    return f"{x:g}"


def comment_markdown(comment: str) -> str:
    """A mod file's COMMENT as Markdown: runs of unindented lines are
    paragraphs (escaped), runs of indented lines (equations, numbered and
    bulleted lists, small tables) are code blocks, kept exactly as written."""
    out, para, block = [], [], []

    def flush():
        if para:
            out.append(escape(" ".join(line.strip() for line in para)))
            para.clear()
        if block:
            while block and not block[-1].strip():
                block.pop()
            indent = min(len(x) - len(x.lstrip()) for x in block if x.strip())
            body = "\n".join(x[indent:] for x in block)
            fence = "`" * max(3, 1 + max((len(m) for m in re.findall(r"`+", body)), default=0))
            out.append(f"{fence}text\n{body}\n{fence}")
            block.clear()

    for line in comment.expandtabs(4).splitlines():
        if not line.strip():
            if block:
                block.append("")  # a blank line inside an indented block belongs to it
            else:
                flush()
        elif line[0].isspace():
            if para:
                flush()
            block.append(line)
        else:
            if block:
                flush()
            para.append(line)
    flush()
    return "\n\n".join(out)


def placements() -> dict:
    """{mechanism: [(preset, [region, ...])]} over the bundled presets, in
    the order of their rules."""
    from ionhomeo import recipe

    out = {}
    for preset in recipe.preset_names():
        regions = {}
        for rule in recipe.preset(preset).rules:
            regions.setdefault(rule.mechanism, []).append(str(rule.region))
        for mech, where in regions.items():
            out.setdefault(mech, []).append((preset, list(dict.fromkeys(where))))
    return out


def _table(header, rows) -> list:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def mechanism_page(mech, placed, model_presets=()) -> str:
    """The Markdown page of one :class:`ionhomeo.mechanisms.Mechanism`."""
    name = mech.name
    subject = mech.title.split(":", 1)[1].strip() if mech.title.startswith(f"{name}:") \
        else mech.title
    point = mech.kind == "point"
    lines = [f"# {code(name)}: {escape(subject)}", ""]
    if point:
        use = (f"point process ({code('POINT_PROCESS ' + name)}): one object at one place, "
               f"{code(f'ionhomeo.mechanisms.add_point(segment, {name!r})')}, in hoc "
               f"{code(f'new {name}(x)')}")
    else:
        use = (f"density mechanism ({code('SUFFIX ' + name)}): a recipe rule, "
               f"{code(f'ionhomeo.mechanisms.insert(section, {name!r})')}, in hoc "
               f"{code(f'insert {name}')}")
    def where(models: bool) -> str:
        return "; ".join(f"{code(p)} ({', '.join(code(r) for r in regions)})"
                         for p, regions in placed if (p in model_presets) == models) or "none"

    rows = [
        ("kind", use),
        ("ions", ", ".join(code(i) for i in mech.ions) or "none"),
        ("reads", ", ".join(code(v) for v in mech.reads) or "nothing"),
        ("writes", ", ".join(code(v) for v in mech.writes) or "nothing"),
        ("mod file", f"{code('mod/' + Path(mech.file).name)} (its folder: "
                     f"{code('ionhomeo mod-path')})"),
        ("placed by the presets (regions)", where(False)),
        ("in the protocols' models (regions)", where(True)),
    ]
    for term, definition in rows:
        lines += [term, f": {definition}", ""]
    lines += ["## Parameters", ""]
    if mech.parameters:
        if point:
            access = (f"A range parameter belongs to each object ({code('syn.name')}); a global "
                      f"one is shared by all ({code(f'h.name_{name}')}, "
                      f"{code('ionhomeo.mechanisms.set_globals')}).")
        else:
            access = (f"A range parameter is set per segment ({code(f'seg.{name}.name')}, in hoc "
                      f"{code(f'name_{name}(x)')}, or a recipe rule's {code('params')}); a "
                      f"global one once for every instance ({code(f'h.name_{name}')}, a "
                      f"recipe's {code(f'[globals.{name}]')}, "
                      f"{code('ionhomeo.mechanisms.set_globals')}).")
        lines += [
            "Defaults, units and allowed ranges as declared in the mod file's PARAMETER "
            "block; a value outside its range is refused (by ionhomeo; NEURON itself "
            f"does not check). {access}", ""]
        lines += _table(("name", "default", "units", "allowed range", "scope", "meaning"), [
            (code(p.name), number(p.default), code(p.units),
             f"{number(p.low)} to {number(p.high)}", p.scope, escape(p.doc) or "-")
            for p in mech.parameters.values()])
    else:
        lines.append("None.")
    lines += ["", "## Variables", ""]
    visible = [v for v in mech.variables if v.scope != "internal"]
    internal = [v for v in mech.variables if v.scope == "internal"]
    if visible:
        recorded = ("the object's attribute" if point else
                    f"recorded as {code('name_' + name)} by {code('ionhomeo.recording.Recorder')}")
        lines += [f"Computed by the mechanism (ASSIGNED) or integrated (STATE); {recorded}.", ""]
        lines += _table(("name", "units", "kind", "scope", "meaning"), [
            (code(v.name), code(v.units), v.kind, v.scope, escape(v.doc) or "-")
            for v in visible])
    else:
        lines.append("None besides the ion currents and concentrations above.")
    if internal:
        lines += ["", "Internal (ASSIGNED, neither RANGE nor GLOBAL: kept per thread, not "
                  "visible from hoc or Python): " + ", ".join(code(v.name) for v in internal)
                  + "."]
    sources = cited(mech)
    lines += ["", "## Sources", ""]
    if sources:
        lines += ["The literature the mod file's COMMENT cites (as `ionhomeo list` prints it; the "
                  "text below says what each supports):", ""]
        lines += [f"* {escape(ref)}" for ref in sources]
    else:
        lines.append("The COMMENT cites no literature (see the text below).")
    lines += ["", "## From the mod file", "",
              f"The COMMENT block of {code('mod/' + Path(mech.file).name)}, as written there: "
              "the equations, the sources of the defaults, the sign conventions, what it "
              "reads and writes.", "", comment_markdown(mech.comment) or "(no COMMENT block)", ""]
    return "\n".join(lines)


def cited(mech) -> list:
    """The citations in the mechanism's COMMENT, found by the same rule as
    ``ionhomeo list`` (its ``references:`` line), so that the two agree."""
    from ionhomeo.cli import _references

    return _references(mech.file)


def mechanism_table(catalog) -> str:
    """The overview table: name (linked), kind, title, reads, writes."""
    rows = []
    for name in sorted(catalog, key=str.lower):
        m = catalog[name]
        subject = m.title.split(":", 1)[1].strip() if m.title.startswith(f"{name}:") else m.title
        rows.append((f"[{code(name)}](mechanisms/{name}.md)",
                     "point process" if m.kind == "point" else "density",
                     escape(subject),
                     ", ".join(code(v) for v in m.reads) or "-",
                     ", ".join(code(v) for v in m.writes) or "-"))
    return "\n".join(_table(("name", "kind", "what it models", "reads", "writes"), rows)) + "\n"


def public_modules() -> list:
    """``ionhomeo.<name>`` of every top-level module and subpackage not named
    with a leading underscore (and not ``__main__``)."""
    import ionhomeo

    return sorted(f"ionhomeo.{m.name}" for m in pkgutil.iter_modules(ionhomeo.__path__)
                  if not m.name.startswith("_"))


def api_page(module: str) -> str:
    # eval-rst: autodoc writes reST, which a MyST directive would read as Markdown
    return (f"# {code(module)}\n\n"
            f"```{{eval-rst}}\n.. automodule:: {module}\n   :members:\n   :show-inheritance:\n```\n")


def _write(path: Path, text, written: set) -> None:
    """Write ``text`` (str or bytes) to ``path`` unless it already holds it."""
    written.add(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8") if isinstance(text, str) else text
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)


def generate(docs: Path = DOCS) -> set:
    """Write every generated page under ``docs``; returns the paths written."""
    from ionhomeo import mechanisms

    written = set()
    catalog = mechanisms.catalog()
    from ionhomeo import presets

    placed = placements()
    for name, mech in catalog.items():
        page = mechanism_page(mech, placed.get(name, []), presets.MODEL_NAMES)
        _write(docs / "mechanisms" / f"{name}.md", page, written)
    _write(docs / "mechanisms" / "table.inc", mechanism_table(catalog), written)
    for module in public_modules():
        _write(docs / "api" / f"{module}.md", api_page(module), written)
    for nb in sorted((REPO / "notebooks").glob("*.ipynb")):
        _write(docs / "gallery" / nb.name, nb.read_bytes(), written)
    for folder in GENERATED:
        for path in (docs / folder).rglob("*"):
            if path.is_file() and path not in written:
                path.unlink()
    return written


def _on_builder_inited(app) -> None:
    generate(Path(app.srcdir))


def _numpy_sections(app, what, name, obj, options, lines) -> None:
    """The NumPy-style sections of some docstrings ("Parameters" over a line
    of dashes) as Sphinx fields, by napoleon's own parser; but not for module
    data, attributes and properties, whose "#:" comments read "what (unit):
    meaning", which napoleon would take for "type: description"."""
    if what in ("attribute", "data", "property"):
        return
    from sphinx.ext.napoleon import Config
    from sphinx.ext.napoleon.docstring import NumpyDocstring

    config = Config(napoleon_google_docstring=False, napoleon_numpy_docstring=True)
    lines[:] = NumpyDocstring(lines, config, app, what, name, obj, options).lines()


def _public_bases(app, name, obj, options, bases) -> None:
    """A class's private bases (regions.And's _Group) replaced by their own
    public bases, so that "Bases:" names documented classes only."""
    out = []
    for base in bases:
        while base.__name__.startswith("_") and base.__bases__:
            base = base.__bases__[0]
        if base not in out:
            out.append(base)
    bases[:] = out


def setup(app):
    from pygments.lexers.c_cpp import CLexer

    app.setup_extension("sphinx.ext.autodoc")
    app.connect("autodoc-process-docstring", _numpy_sections)
    app.connect("autodoc-process-bases", _public_bases)

    # hoc, NEURON's own language, has no Pygments lexer; its syntax is C's
    app.add_lexer("hoc", CLexer)
    app.connect("builder-inited", _on_builder_inited)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
