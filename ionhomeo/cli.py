"""Command-line interface: ``ionhomeo <command>`` (also ``python -m ionhomeo``).

Each subcommand is a ``_cmd_<name>(args) -> int`` function registered in
:func:`build_parser`; to add one, add a sub-parser there with
``set_defaults(func=...)``.
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
from pathlib import Path

from . import _interrupt, build


def _cmd_build(args: argparse.Namespace) -> int:
    """Compile the mechanisms (unless cached) and print the build directory."""
    print(build.compile_mechanisms(args.mod_dir, force=args.force))
    return 0


def _cmd_mod_path(args: argparse.Namespace) -> int:
    """Print the directory holding the NMODL sources."""
    print(build.mod_dir())
    return 0


def _format_value(value: float, unit: str) -> str:
    if unit == "1" and float(value).is_integer():
        return str(int(value))
    return f"{value:.5g}"


#: the widest table format_summary prints side by side (characters)
WIDE_TABLE_CHARS = 110
#: words that name regions, for the row label of a per-region table
_REGION_WORDS = {"soma", "basal", "apical", "axon", "terminal", "dendrite", "dend", "bouton",
                 "ais", "trunk", "oblique", "tuft", "proximal", "distal", "all"}


def _grid(rows):
    """The summary rows named ``QUANTITY GROUP`` (GROUP: the last word, a
    region, a recipe, a condition) that form a full table: the largest set of
    groups (at least two) that have the same quantities (at least two), each
    quantity in one unit. Returns (groups, columns {quantity: unit}, cells
    {(group, quantity): (value, description)}), or None."""
    split = {}
    for q, v, u, d in rows:
        head, sep, last = q.rpartition(" ")
        if sep and head.strip():
            split.setdefault(last, {})[head.strip()] = (v, u, d)
    families = {}
    for group, quantities in split.items():
        families.setdefault(tuple(quantities), []).append(group)
    best = max(((len(g), len(q), q, g) for q, g in families.items()), default=None)
    if best is None or best[0] < 2 or best[1] < 2:
        return None
    _, _, heads, groups = best
    if any(len({split[g][h][1] for g in groups}) > 1 for h in heads):
        return None  # a quantity in different units: not one column
    columns = {h: split[groups[0]][h][1] for h in heads}
    cells = {(g, h): (split[g][h][0], split[g][h][2]) for g in groups for h in heads}
    return groups, columns, cells


def _grid_text(groups, columns, cells, label) -> list:
    head = [label] + [f"{h} ({u})" if u and u != "1" else h for h, u in columns.items()]
    body = [[g] + [_format_value(cells[(g, h)][0], u) if (g, h) in cells else ""
                   for h, u in columns.items()] for g in groups]
    widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
    fmt = lambda r: "  ".join([f"{r[0]:<{widths[0]}}"] + [  # noqa: E731
        f"{x:>{w}}" for x, w in zip(r[1:], widths[1:])])
    lines = [fmt(head)] + [fmt(r) for r in body]
    lines.insert(1, "-" * len(lines[0]))
    # the columns' meaning, once for columns that share it
    meaning = {}
    for h in columns:
        desc = next((cells[(g, h)][1] for g in groups if (g, h) in cells), "")
        meaning.setdefault(desc, []).append(h)
    lines += [f"  {', '.join(hs)}: {desc}" for desc, hs in meaning.items() if desc]
    return lines


def _grid_by_quantity(groups, columns, cells, label) -> list:
    """The grid turned over: a row per quantity, a column per group, then the
    unit and the meaning."""
    head = ["quantity"] + list(groups) + ["unit", "description"]
    body = [[h] + [_format_value(cells[(g, h)][0], u) if (g, h) in cells else ""
                   for g in groups]
            + ["" if u == "1" else u,
               next((cells[(g, h)][1] for g in groups if (g, h) in cells), "")]
            for h, u in columns.items()]
    n = len(groups)
    widths = [max(len(r[i]) for r in [head] + body) for i in range(n + 2)]
    fmt = lambda r: "  ".join([f"{r[0]:<{widths[0]}}"] + [  # noqa: E731
        f"{x:>{w}}" for x, w in zip(r[1:n + 1], widths[1:n + 1])]
        + [f"{r[n + 1]:<{widths[n + 1]}}", r[n + 2]])
    lines = [fmt(head)] + [fmt(r) for r in body]
    if label:
        lines.insert(0, " " * widths[0] + "  " + label)
    lines.insert(len(lines) - len(body), "-" * max(len(line) for line in lines))
    return lines


def format_summary(summary, metadata=None) -> str:
    """The summary DataFrame (quantity, value, unit, description) as aligned text.

    Quantities given per region (``Vm soma``, ``Vm apical``, ...), per
    recipe or per condition are printed as one table, a row per region
    (recipe, condition) and a column per quantity with its unit, followed by
    the columns' meaning (or, where that is wider than
    :data:`WIDE_TABLE_CHARS`, a row per quantity and a column per region,
    recipe or condition); the other quantities one per line.
    """
    table = list(summary[["quantity", "value", "unit", "description"]].itertuples(index=False))
    out = []
    grid = _grid(table)
    if grid is not None:
        groups, columns, cells = grid
        recipes = {r.get("name") for r in (metadata or {}).get("recipes") or []}
        label = ("region" if set(groups) <= _REGION_WORDS else
                 "recipe" if set(groups) <= recipes else "")
        wide = _grid_text(groups, columns, cells, label)
        if max(len(line) for line in wide[:len(groups) + 2]) > WIDE_TABLE_CHARS:
            wide = _grid_by_quantity(groups, columns, cells, label)  # few groups, long names
        if max(len(line) for line in wide[:len(columns) + 3]) <= WIDE_TABLE_CHARS \
                or len(groups) <= 4:
            out = wide + [""]
            covered = {f"{h} {g}" for g, h in cells}
            table = [row for row in table if row[0] not in covered]
    if table:
        rows = [("quantity", "value", "unit", "description")]
        rows += [(q, _format_value(v, u), "" if u == "1" else u, desc) for q, v, u, desc in table]
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = [f"{q:<{widths[0]}}  {v:>{widths[1]}}  {u:<{widths[2]}}  {d}"
                 for q, v, u, d in rows]
        lines.insert(1, "-" * max(len(line) for line in lines))
        out += lines
    return "\n".join(out).rstrip("\n")


def model_lines(metadata) -> list:
    """The printed header of a run: the recipes it ran on, whether each was
    calibrated (the recipe's [calibration] table), and the protocol's note on
    an idealised geometry, if it has one."""
    def state(r):
        if not r["calibrated"]:
            return "not calibrated"
        return f"calibrated: {r['method']}" if r.get("method") else "calibrated"

    recipes = metadata.get("recipes") or []
    text = ", ".join(f"{r['name']} ({state(r)})" for r in recipes) or "none recorded"
    lines = [f"recipe: {text}"]
    if metadata.get("idealised"):
        lines.append(f"idealised: {metadata['idealised']}")
    return lines


def _protocol_list() -> str:
    """Each protocol with its description and defaults (cell, recipe, duration)."""
    from .protocols import PROTOCOLS

    width = max(map(len, PROTOCOLS), default=0)
    lines = []
    for name, proto in sorted(PROTOCOLS.items()):
        params = inspect.signature(proto.run).parameters
        defaults = []
        for key, label, unit in (("morphology", "cell", ""), ("recipe", "recipe", ""),
                                 ("duration_s", "duration", " s")):
            default = params[key].default if key in params else None
            if default is not None and default is not inspect.Parameter.empty:
                defaults.append(f"{label} {default:g}{unit}" if isinstance(default, float)
                                else f"{label} {default}")
        shown = f" (default {', '.join(defaults)})" if defaults else ""
        lines.append(f"  {name:<{width}}  {proto.description}{shown}")
    return "\n".join(lines)


def cell_line(metadata) -> str:
    """The printed header's cell: the morphology the run used (bundled name or
    file), or the protocol's own geometry; with its segments when the cells
    recorded have one number of them."""
    from .morphology import BUNDLED

    spec = metadata.get("spec") or {}
    morph = spec.get("morphology")
    if morph:
        text = f"{morph} (bundled)" if str(morph) in BUNDLED else str(morph)
    else:
        text = "the protocol's own geometry"
    cells = [metadata.get("cell")] + list((metadata.get("cells") or {}).values()
                                          if isinstance(metadata.get("cells"), dict) else [])
    nseg = {c.get("nseg") for c in cells if isinstance(c, dict) and isinstance(c.get("nseg"), int)}
    return f"cell: {text}" + (f", {nseg.pop()} segments" if len(nseg) == 1 else "")


def _cmd_run(args: argparse.Namespace) -> int:
    """Run a protocol, print its summary table and the files written."""
    from . import mechanisms
    from .protocols import UnknownProtocolError, get

    if args.format == "parquet" and not args.options:
        from .results import _parquet_engine

        try:  # said before anything is computed
            _parquet_engine()
        except ImportError:
            print(f"ionhomeo run {args.protocol}: error: --format parquet needs pyarrow, which "
                  "is not installed: pip install pyarrow (or pip install 'ionhomeo[parquet]'); "
                  "or write CSV (--format csv, the default)", file=sys.stderr)
            return 2
    if args.protocol.lower() == "all":
        return _run_all(args)
    try:
        protocol = get(args.protocol)
    except UnknownProtocolError as err:
        print(f"ionhomeo run: error: {err}\nknown protocols:\n{_protocol_list()}",
              file=sys.stderr)
        return 2
    if args.options:
        print(_options_text(protocol))
        return 0
    out = args.out if args.out is not None else Path("results") / protocol.name
    kwargs = {"out_dir": out}
    accepted = inspect.signature(protocol.run).parameters
    try:
        kwargs.update(parse_settings(protocol, args.settings))
    except SettingError as err:
        print(f"ionhomeo run {protocol.name}: error: {err}", file=sys.stderr)
        return 2
    for option, key, value in (("--duration", "duration_s", args.duration),
                               ("--morphology", "morphology", args.morphology),
                               ("--recipe", "recipe", args.recipe)):
        if value is None:
            continue
        if key not in accepted:
            print(f"ionhomeo run {protocol.name}: error: this protocol takes no {option}",
                  file=sys.stderr)
            return 2
        kwargs[key] = _canonical(key, value)
    if "progress" in accepted:
        # the progress lines on stderr (--quiet: IONHOMEO_QUIET, which keeps the
        # same chunked runs, so a quiet run gives the same numbers)
        kwargs["progress"] = True
    if args.format != "csv":
        if "format" not in accepted:
            print(f"ionhomeo run {protocol.name}: error: this protocol writes CSV only; "
                  "leave out --format", file=sys.stderr)
            return 2
        kwargs["format"] = args.format

    from .cell import CellError
    from .geometry import GeometryError
    from .morphology import MorphologyError
    from .recipe import RecipeError
    from .recording import RecordingError
    from .regions import RegionError
    from .results import OutputError, check_output_dir
    from .simulate import SimulationError
    from .steady import SteadyStateError

    # an output folder that cannot take the results is refused before computing
    try:
        check_output_dir(out)
    except OutputError as err:
        print(f"ionhomeo run {protocol.name}: error: {err}", file=sys.stderr)
        return 2
    try:
        result = protocol(**kwargs)
    except OutputError as err:
        if err.result is not None:  # computed, not written: show it rather than lose it
            print(f"{protocol.name}: {protocol.description}\n")
            print(format_summary(err.result.summary))
        print(f"ionhomeo run {protocol.name}: error: {err}", file=sys.stderr)
        return 2
    except (mechanisms.ParameterError, mechanisms.UnknownMechanismError,
            mechanisms.UnknownVariableError, MorphologyError, RecipeError, RegionError,
            RecordingError, CellError, GeometryError, SteadyStateError, SimulationError,
            OSError) as err:
        print(f"ionhomeo run {protocol.name}: error: {err}", file=sys.stderr)
        return 2
    print(f"{protocol.name}: {protocol.description}")
    print(cell_line(result.metadata))
    print("\n".join(model_lines(result.metadata)))
    print()
    print(format_summary(result.summary, result.metadata))
    if result.checks:
        print()
        for check in result.checks:
            print(check.line())
    for warning in result.metadata.get("warnings", []):
        print(f"note: {warning}")
    print()
    runtime = result.metadata.get("runtime_s")
    if runtime is not None:
        print(f"runtime: {runtime:.1f} s")
    print("wrote:")
    for path in result.files:
        print(f"  {path}")
    return 0


def _canonical(key: str, value):
    """A bundled cell or preset named in another case (Pyramidal, MATURE) as its
    own name, so that the run records it so; files and other values as given."""
    if key not in ("morphology", "recipe") or Path(str(value)).exists():
        return value
    from .morphology import BUNDLED
    from .names import match
    from .recipe import preset_names

    return match(str(value), BUNDLED if key == "morphology" else preset_names()) or value


class SettingError(ValueError):
    """A --set NAME=VALUE that the protocol cannot take."""


#: options with a flag of their own, or not the user's to set
_FLAGGED = {"out_dir": "--out", "duration_s": "--duration", "morphology": "--morphology",
            "recipe": "--recipe", "format": "--format", "progress": None, "defaults": None}

def _option_unit(name: str, protocol=None):
    """The unit of option ``name``: the protocol's Spec declares it; otherwise
    the suffix of the name (onset_s: s, diam_um: um, hold_mV: mV); None for a
    pure number."""
    from . import units

    spec = getattr(getattr(protocol, "run", None), "Spec", None)
    if spec is not None:
        import dataclasses

        for field in dataclasses.fields(spec):
            if field.name == name:
                return field.metadata.get("unit") or None
    if name.endswith("_per_s"):
        return "1/s"
    suffix = name.rpartition("_")[2]
    if suffix in units.UNITS and suffix not in ("1", "M", "m", "h", "A", "S", "V"):
        return suffix
    for unit in units.UNITS:  # hz, kj: the case of a Python name
        if unit.lower() == suffix.lower() and unit in ("Hz", "kHz", "kj"):
            return "kJ/mol" if unit == "kj" else unit
    return None


def _number(name: str, text: str, protocol=None) -> float:
    """``text`` ("30", "500 ms") as a number in the unit of option ``name``."""
    from . import units

    try:
        value, unit = units.parse(text)
    except units.UnitError:
        raise SettingError(f"{name}={text.strip()!r} is not a number") from None
    target = _option_unit(name, protocol)
    if not unit or unit == target:
        return float(value)
    if target is None:
        raise SettingError(f"{name} is a pure number; {text!r} has a unit")
    try:
        return units.convert(value, unit, target)
    except units.UnitError:
        raise SettingError(f"{name} is in {target}; {unit!r} is not a unit of that kind "
                           f"(accepted: {', '.join(units.same_kind(target))})") from None


def _option_kind(param) -> str:
    annotation = str(param.annotation)
    default = param.default
    if isinstance(default, bool) or annotation == "bool":
        return "bool"
    if isinstance(default, (tuple, list)):
        return "strings" if default and isinstance(default[0], str) else "numbers"
    if isinstance(default, str) or annotation == "str":
        return "string"
    if isinstance(default, int) or annotation == "int":
        return "integer"
    return "number or none" if default is None or "None" in annotation else "number"


def parse_settings(protocol, settings) -> dict:
    """``--set NAME=VALUE`` items as keyword arguments of ``protocol.run``.

    The protocol validates the values (ranges); here: a known option, a value
    of its kind (a number, optionally with a unit of the option's kind, which
    is converted; true/false; a comma-separated list; none where the default
    is none). SettingError names the problem and the options.
    """
    params = inspect.signature(protocol.run).parameters
    options = [n for n in params if n not in _FLAGGED]
    out = {}
    for item in settings:
        name, sep, text = item.partition("=")
        name, text = name.strip(), text.strip()
        if not sep or not name:
            raise SettingError(f"--set takes NAME=VALUE, got {item!r}")
        if name in _FLAGGED:
            flag = _FLAGGED[name]
            raise SettingError(f"{name} is set with {flag}, not --set" if flag else
                               f"{name} is not an option")
        if name not in params:
            import difflib

            close = difflib.get_close_matches(name, options, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise SettingError(f"{protocol.name} has no option {name!r}.{hint} Its options: "
                               f"{', '.join(options) or '(none)'}")
        if name in out:
            raise SettingError(f"{name} is set twice")
        kind = _option_kind(params[name])
        if kind == "bool":
            lowered = text.lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                raise SettingError(f"{name} is true or false, got {text!r}")
            out[name] = lowered in ("true", "1", "yes", "on")
        elif kind == "strings":
            out[name] = tuple(x.strip() for x in text.split(",") if x.strip())
        elif kind == "numbers":
            out[name] = tuple(_number(name, x, protocol) for x in text.split(",") if x.strip())
        elif kind == "string":
            out[name] = text
        elif kind == "number or none" and text.lower() in ("none", "default", ""):
            out[name] = None
        elif kind == "integer":
            try:
                out[name] = int(text)
            except ValueError:
                raise SettingError(f"{name} is a whole number, got {text!r}") from None
        else:
            out[name] = _number(name, text, protocol)
    return out


def _options_text(protocol) -> str:
    """The protocol's options for --set: name, unit, default (and meaning)."""
    params = inspect.signature(protocol.run).parameters
    spec = getattr(protocol.run, "Spec", None)
    docs = {n: d for n, _, _, d in spec.options()} if spec is not None else {}

    def shown(value):
        text = repr(value)
        return text if len(text) <= 40 else text[:36] + " ..."

    rows = [(n, _option_unit(n, protocol) or "", shown(p.default), docs.get(n, ""))
            for n, p in params.items() if n not in _FLAGGED]
    if not rows:
        return f"{protocol.name} has no options beyond --duration, --morphology and --recipe"
    width = max(len(r[0]) for r in rows)
    lines = [f"{protocol.name}: options for --set NAME=VALUE (unit; default; meaning)"]
    lines += [f"  {n:<{width}}  {u:<6}  default {d}{'  ' + doc if doc else ''}"
              for n, u, d, doc in rows]
    return "\n".join(lines)


def _run_all(args: argparse.Namespace) -> int:
    """Run every protocol into OUT/<name>/ and write OUT/index.md with each
    figure and its check (pass, fail, or none for protocols without one), and
    OUT/index.html, the same as a page with the checks' values and the
    provenance (:mod:`ionhomeo.htmlreport`).

    A protocol that fails is recorded in the index with its error and the
    others still run; the exit status is 1 if any protocol failed or any
    check did not pass.
    """
    import datetime

    from .protocols import PROTOCOLS

    out = args.out if args.out is not None else Path("results") / "all"
    if args.morphology or args.recipe or args.duration or args.settings or args.options:
        print("ionhomeo run all: error: --morphology, --recipe, --duration, --set and "
              "--options apply to one protocol at a time; run all uses each protocol's "
              "defaults", file=sys.stderr)
        return 2
    from .results import OutputError, check_output_dir

    for name in sorted(PROTOCOLS):  # every folder proven writable before any computing
        try:
            check_output_dir(out / name)
        except OutputError as err:
            print(f"ionhomeo run all: error: {err}", file=sys.stderr)
            return 2
    rows = []
    for name in sorted(PROTOCOLS):
        protocol = PROTOCOLS[name]
        print(f"== {name}: {protocol.description}", flush=True)
        target = out / name
        try:
            result = protocol(out_dir=target, **({"format": args.format}
                                                 if args.format != "csv" else {}))
        except Exception as err:  # noqa: BLE001 - record it, keep the other protocols
            _interrupt.check()  # unless it came from a Ctrl-C that NEURON swallowed
            rows.append((name, protocol.description, "error", f"{type(err).__name__}: {err}",
                         None, {}))
            print(f"   error: {err}", file=sys.stderr)
            continue
        if result.passed is None:
            status, text = "no check", ""
        else:
            status = "PASS" if result.passed else "FAIL"
            text = "\n".join(c.line() for c in result.checks)
        png = next((p for p in result.files if str(p).endswith(".png")), None)
        rows.append((name, protocol.description, status, text,
                     None if png is None else Path(png).relative_to(out), result.metadata))
        print(f"   {status}")
    lines = ["# ionhomeo protocols: results index",
             "",
             f"Generated {datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}"
             " by `ionhomeo run all`. Each protocol's folder holds its table (CSV), its",
             "provenance (JSON) and its figure.",
             "",
             "| protocol | check | criterion | calibrated recipe |",
             "|---|---|---|---|"]
    lines += [f"| [{n}]({n}/) | {st} | {txt.replace('|', '/').replace(chr(10), '<br>')} | "
              f"{_calibrated_cell(meta)} |" for n, _, st, txt, _, meta in rows]
    for name, desc, status, text, png, meta in rows:
        lines += ["", f"## {name}: {status}", "", desc, ""]
        if meta:
            lines += [f"{line}  " for line in model_lines(meta)] + [""]
        if text:
            lines += ["Checks:", ""] + [f"- {line}" for line in text.split("\n")] + [""]
        if png is not None:
            lines += [f"![{name}]({png.as_posix()})", ""]
    from .results import write_text

    index = write_text("\n".join(lines) + "\n", out / "index.md")
    print(f"wrote: {index}")
    import shlex

    from .htmlreport import write_index  # the same, as a page: figures, checks, provenance

    # the command as given (its options, --format and --quiet included)
    given = getattr(args, "argv", None)
    command = "ionhomeo " + " ".join(shlex.quote(str(a)) for a in given) if given else \
        "ionhomeo run all" + (f" --out {args.out}" if args.out is not None else "")
    page = write_index(out, [row[:4] for row in rows], command=command)
    print(f"wrote: {page}")
    return 0 if all(st in ("PASS", "no check") for _, _, st, _, _, _ in rows) else 1


def _calibrated_cell(metadata) -> str:
    """The index's calibrated column: yes/no with the recipes' names (- after an error)."""
    if not metadata:
        return "-"
    names = ", ".join(r["name"] for r in metadata.get("recipes") or [])
    return f"{'yes' if metadata.get('calibrated') else 'no'} ({names})"


_NAME = r"[A-Z][A-Za-z'\-]+"
_CITATION = re.compile(
    rf"(?:(?:de|del|la|los|van|von|der|du) )*{_NAME}(?: et al\.|(?:, {_NAME})*,? (?:&|and) {_NAME})?"
    r",? \(?(?:19|20)\d\d[a-z]?\)?(?:,? \(?[A-Z][A-Za-z. ]+ \d+:[A-Z]?\d+\)?)?")


def _references(mod_file: str) -> list[str]:
    """Literature cited in a mod file's COMMENT block (author year, journal)."""
    text = Path(mod_file).read_text()
    comment = re.search(r"^\s*COMMENT\b(.*?)^\s*ENDCOMMENT", text, re.M | re.S)
    words = " ".join((comment.group(1) if comment else "").split())
    refs = []
    for match in _CITATION.finditer(words):
        ref = match.group(0).strip()
        while ref.count(")") > ref.count("(") and ref.endswith(")"):
            ref = ref[:-1]
        if ref not in refs:
            refs.append(ref)
    return refs


def _cmd_list(args: argparse.Namespace) -> int:
    """Print the mechanisms with their parameters (all, or the one named)."""
    from . import mechanisms

    if args.name is not None:
        from .names import match

        try:  # any case: list KCC2 shows kcc2 (NEURON's own names stay case-sensitive)
            names = [mechanisms.get(match(args.name, mechanisms.catalog()) or args.name).name]
        except mechanisms.UnknownMechanismError as err:
            print(f"ionhomeo list: error: {err}", file=sys.stderr)
            return 2
    else:
        names = sorted(mechanisms.catalog(), key=str.lower)
    print("parameter = default  units  [allowed range]  scope (range: per segment, "
          "global: shared)  description")
    print()
    for name in names:
        mech = mechanisms.get(name)
        print(mechanisms.describe(name))
        print(f"  source: {mech.file}")
        refs = _references(mech.file)
        if refs:
            print(f"  references: {'; '.join(refs)}")
        print()
    return 0


#: figure formats ``ionhomeo regions --out`` writes (by the file's suffix)
_FIGURE_SUFFIXES = (".png", ".svg", ".pdf")


def _regions_output(out) -> Path:
    """The figure's path from --out (default regions.png here; a folder gets regions.png)."""
    from .results import OutputError

    path = Path("regions.png") if out is None else Path(out)
    if path.is_dir():
        path = path / "regions.png"
    if path.suffix.lower() not in _FIGURE_SUFFIXES:
        raise OutputError(f"--out {out}: give a figure file ending in "
                          f"{', '.join(_FIGURE_SUFFIXES)} (e.g. --out regions.png)")
    return path


def _regions_cell(args):
    """The Cell of --morphology with --recipe, and the warnings it gave (as notes)."""
    import warnings

    from . import defaults
    from .cell import Cell

    defaults.apply()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cell = Cell(args.morphology, args.recipe)
    return cell, [str(w.message) for w in caught]


def _regions_table_text(rows) -> str:
    head = ("region", "segments", "sections", "area_um2")
    body = [(r.region, str(r.segments), str(r.sections), f"{r.area_um2:.1f}") for r in rows]
    width = [max(len(x[i]) for x in [head] + body) for i in range(4)]
    fmt = lambda x: (f"{x[0]:<{width[0]}}  {x[1]:>{width[1]}}  {x[2]:>{width[2]}}  "  # noqa: E731
                     f"{x[3]:>{width[3]}}")
    return "\n".join([fmt(head)] + [fmt(x) for x in body])


def _cmd_regions(args: argparse.Namespace) -> int:
    """Draw the cell coloured by region (and a parameter); print the regions' table."""
    from . import mechanisms, regionmap, regions
    from .cell import CellError
    from .morphology import MorphologyError
    from .recipe import RecipeError
    from .results import OutputError, save_figure

    def fail(err) -> int:
        print(f"ionhomeo regions: error: {err}", file=sys.stderr)
        return 2

    optional = () if args.regions else regionmap.default_regions()
    exprs = args.regions or list(optional)
    cell = None
    try:
        # the arguments are checked before the cell is built (a typo fails at once)
        for expr in exprs:
            regions.parse(expr)
        param = None if args.parameter is None else regionmap.parameter(args.parameter)
        out = _regions_output(args.out)
        cell, notes = _regions_cell(args)
        rows, where, missing = regionmap.table(cell, exprs, optional)
        title = Path(cell.morphology.path).name
        fig = regionmap.figure(cell, rows, where, title, param)
        try:
            save_figure(fig, out)
        except OSError as err:
            raise OutputError(err.errno, f"cannot write the figure {out}: "
                                         f"{err.strerror or err}; choose another --out") from None
        head = (f"{title}, recipe {cell.recipe.name}: {len(where.sections)} sections, "
                f"{len(where.segments)} segments")
        if param is not None and not any(sec.has_membrane(param.mechanism)
                                         for sec in where.sections):
            notes.append(f"the recipe places {param.mechanism} nowhere in this cell, so "
                         f"{param} has no value to draw")
        del where, fig
    except (regions.RegionError, regionmap.RegionMapError, MorphologyError, RecipeError,
            CellError, mechanisms.ParameterError, mechanisms.UnknownMechanismError,
            OutputError, OSError) as err:
        return fail(err)
    finally:
        if cell is not None:
            cell.destroy()
    print(head)
    print()
    print(_regions_table_text(rows))
    if missing:
        print(f"\nnot on this cell: {', '.join(missing)}")
    for note in notes:
        print(f"note: {note}")
    print(f"\nwrote: {out.resolve()}")
    return 0


class _VersionAction(argparse.Action):
    """--version: ionhomeo's, NEURON's (read without starting NEURON) and Python's."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS,
                 help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_text())
        parser.exit()


def version_text() -> str:
    """``ionhomeo 0.1.0 (NEURON 9.0.2, Python 3.11.7 on Linux x86_64)``."""
    import platform

    from . import __version__
    from .results import _neuron_version

    return (f"ionhomeo {__version__} (NEURON {_neuron_version()}, Python "
            f"{platform.python_version()} on {platform.system()} {platform.machine()})")


def _add_quiet(p) -> None:
    """--quiet after the command too (``ionhomeo run rest --quiet``); SUPPRESS keeps
    a --quiet given before the command."""
    p.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                   help="no progress on stderr (also IONHOMEO_QUIET=1)")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with all subcommands registered."""
    parser = argparse.ArgumentParser(
        prog="ionhomeo",
        description="Tools for the ionhomeo NEURON ion-homeostasis mechanisms.",
        epilog="Progress (the one-time compile of the mechanisms, slow steady states, a "
        "protocol's conditions, a simulation's progress line) goes to stderr, results to "
        "stdout and files; --quiet (or IONHOMEO_QUIET=1) drops the progress.",
    )
    parser.add_argument("--version", action=_VersionAction,
                        help="print the versions of ionhomeo, NEURON and Python, and exit")
    parser.add_argument("-q", "--quiet", action="store_true", default=False,
                        help="no progress on stderr (for scripts; also IONHOMEO_QUIET=1); "
                             "errors are still printed")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = commands.add_parser(
        "build",
        help="compile the NMODL mechanisms into the cache and print the build directory",
        description="Compile the NMODL mechanisms with nrnivmodl into the ionhomeo "
        "cache ($IONHOMEO_CACHE, else $XDG_CACHE_HOME/ionhomeo, else "
        "~/.cache/ionhomeo) and print the build directory. Does nothing if an "
        "up-to-date build exists.",
    )
    p.add_argument("--force", action="store_true", help="recompile even if a build exists")
    _add_quiet(p)
    p.add_argument("--mod-dir", type=Path, default=None, metavar="DIR",
                   help="compile the *.mod files in DIR instead of ionhomeo's own")
    p.set_defaults(func=_cmd_build)

    p = commands.add_parser(
        "mod-path",
        help="print the directory holding the NMODL sources",
        description="Print the directory holding ionhomeo's *.mod files, e.g. for "
        "hoc users: nrnivmodl $(ionhomeo mod-path)",
    )
    _add_quiet(p)
    p.set_defaults(func=_cmd_mod_path)

    p = commands.add_parser(
        "run",
        help="run a simulation protocol, print its summary and save csv/json/png results",
        description="Run a simulation protocol, print its summary table and write "
        "PROTOCOL.csv (time course), PROTOCOL.json (provenance, parameters, summary) "
        "and PROTOCOL.png (figure) to the output directory.",
        epilog="protocols:\n" + _protocol_list(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("protocol", metavar="PROTOCOL",
                   help="name of the protocol (listed below), or 'all' for every protocol "
                        "and an index (OUT/index.md)")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="results directory (default: results/PROTOCOL)")
    p.add_argument("--duration", type=_positive_float, default=None, metavar="SECONDS",
                   help="simulated time in seconds, or with a unit ('500 ms', '2 min'; "
                        "default: the protocol's own)")
    p.add_argument("--morphology", default=None, metavar="FILE",
                   help="SWC or Neurolucida ASC file, or a bundled cell "
                        "(ball_and_stick, pyramidal); default: the protocol's own")
    p.add_argument("--recipe", default=None, metavar="FILE",
                   help="recipe TOML file or preset name (mature, immature); "
                        "default: the protocol's own")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   dest="settings",
                   help="a protocol option, e.g. --set onset_s=30 or --set 'diam_um=5 um' "
                        "(a unit converts within its kind: '500 ms' for a time in s); lists "
                        "comma-separated (--set dye_uM=0,50,100); repeat for several; "
                        "`ionhomeo run PROTOCOL --options` lists them")
    p.add_argument("--format", choices=("csv", "parquet"), default="csv", type=str.lower,
                   help="format of the tables written (default csv; parquet needs pyarrow: "
                        "pip install pyarrow)")
    p.add_argument("--options", action="store_true",
                   help="list the protocol's options (for --set) with their defaults, and exit")
    _add_quiet(p)
    p.set_defaults(func=_cmd_run)

    p = commands.add_parser(
        "list",
        help="list the mechanisms with their parameters, units, defaults, ranges and sources",
        description="List every ionhomeo mechanism (or the one named) with its "
        "parameters: default, units, allowed range, scope and description, the mod "
        "file it comes from and the literature cited there.",
    )
    p.add_argument("name", nargs="?", default=None, metavar="NAME",
                   help="show only this mechanism (any case: KCC2 is kcc2)")
    _add_quiet(p)
    p.set_defaults(func=_cmd_list)

    p = commands.add_parser(
        "regions",
        help="draw a cell coloured by region (and a parameter along it); print each "
             "region's segments, sections and membrane area",
        description="Build the cell of --morphology with --recipe, draw its x-y projection "
        "coloured by region (a segment in several regions takes the colour of the last "
        "listed) and, with --parameter, the parameter's value per segment and against the "
        "path distance from the soma; print a table of each region's segments, sections "
        "and membrane area (um2) and the figure's path.",
    )
    p.add_argument("--morphology", required=True, metavar="FILE",
                   help="SWC or Neurolucida ASC file, or a bundled cell (ball_and_stick, "
                        "pyramidal)")
    p.add_argument("--recipe", default=None, metavar="R",
                   help="recipe TOML file or preset name (default: mature)")
    p.add_argument("--region", action="append", default=[], metavar="EXPR", dest="regions",
                   help="a region expression to show, e.g. 'apical & distance > 300'; repeat "
                        "for several (default: soma, axon, basal, apical and the finer named "
                        "regions, those the cell has)")
    p.add_argument("--parameter", default=None, metavar="MECH.PARAM",
                   help="also draw this range parameter per segment after the recipe, e.g. "
                        "kcc2.imax (ionhomeo list shows them)")
    p.add_argument("--out", type=Path, default=None, metavar="FILE.png",
                   help="the figure (.png, .svg or .pdf; default: regions.png here)")
    _add_quiet(p)
    p.set_defaults(func=_cmd_regions)

    from . import sweep

    sweep.add_parser(commands)  # ionhomeo sweep: its options and command live in sweep.py
    return parser


def _positive_float(text: str) -> float:
    """--duration: seconds, or a number with a unit of time ("500 ms", "2 min")."""
    from . import units

    try:
        value, shown = float(text), f"{text} s"
    except ValueError:
        try:
            number, unit = units.parse(text)
            value = units.convert(number, unit, "s")
        except units.UnitError:
            raise argparse.ArgumentTypeError(
                f"not a number of seconds, nor a number with a unit of time: {text!r} "
                f"(units: {', '.join(units.same_kind('s'))})") from None
        shown = f"{text.strip()} ({value:g} s)"
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    if not MIN_DURATION_S <= value <= MAX_DURATION_S:
        raise argparse.ArgumentTypeError(
            f"{shown} is outside {MIN_DURATION_S:g}..{MAX_DURATION_S:g} s: shorter than a "
            "millisecond gives a protocol nothing to analyse, longer than 10^7 s (four "
            "months of simulated time) is beyond what the protocols are built for")
    return value


#: the --duration a protocol accepts (s)
MIN_DURATION_S, MAX_DURATION_S = 1e-3, 1e7


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 on build errors)."""
    import os

    from . import _guard, progress
    from ._guard import DamagedLibraryError

    # the command line never draws with NEURON: no "no DISPLAY" warning, and an
    # unreachable DISPLAY cannot stop it (before NEURON's first import)
    _guard.nogui_always = True
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # the command as given, for records
    before = os.environ.get(progress.ENV)
    if args.quiet:  # for this command and the processes it starts (sweep workers)
        os.environ[progress.ENV] = "1"
    try:
        with _interrupt.guard():  # a Ctrl-C that NEURON swallowed still ends the command
            return args.func(args)
    except (build.BuildError, DamagedLibraryError) as err:
        print(f"ionhomeo {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ionhomeo {args.command}: interrupted (Ctrl-C)", file=sys.stderr)
        return 130
    finally:
        if args.quiet:
            if before is None:
                os.environ.pop(progress.ENV, None)
            else:
                os.environ[progress.ENV] = before


if __name__ == "__main__":
    sys.exit(main())
