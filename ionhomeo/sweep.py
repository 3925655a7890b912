"""Parameter sweeps: one protocol run at many points, each in isolation.

A sweep spec (TOML, :func:`load`) names a registered protocol, the
morphologies and recipes to run it on, fixed options, and the quantities to
vary: protocol options (as ``ionhomeo run NAME --set`` takes them, with
units) and recipe parameters (``mechanism.parameter`` in a region, or a
GLOBAL parameter). Each varied quantity is a list of values, a grid
(``start``, ``stop``, ``num``, linear or log) or a range (``low``, ``high``)
sampled with the ``[sample]`` method (``random`` or Latin-hypercube
``lhs``) from ``seed``. The points are the product morphologies x recipes x
lists and grids x samples, in that order: a deterministic function of the
spec and the seed (:func:`points`).

Layout of a sweep's folder ``OUT``:

* ``sweep.json``: the spec, its hash and every point (written once; a later
  run into the same folder must have the same spec);
* ``points/<id>/``: one point's protocol outputs and ``point.json`` (its
  options, recipe, status, error, wall and CPU time, versions, summary and
  checks). The folder is written under a hidden name and renamed into
  place when the point is done, so a point is either complete or absent;
* ``results.csv`` (``results.parquet`` with ``format="parquet"``, ``--format
  parquet``) and ``results.json``:
  one tidy table of every point's summary and checks, rebuilt from the
  ``point.json`` files (:func:`table`);
* ``results.png``: each swept quantity against each summary quantity.

A killed sweep, run again into the same folder, runs only the points
without a ``point.json``; a point that fails records its error there and the
sweep goes on. The runners (:func:`run`): in this process (``jobs=1``), in
worker processes (the default: one per core) or on MPI ranks through
NEURON's ParallelContext bulletin board (:mod:`ionhomeo.mpi`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import errno
import hashlib
import itertools
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from . import _interrupt

__all__ = ["SweepError", "Axis", "SweepSpec", "load", "parse", "points", "run_point", "run",
           "table", "figure", "completed", "SAMPLING", "TABLE_RUN_COLUMNS"]

#: the sampling methods of ``[sample]``
SAMPLING = ("random", "lhs")
#: columns of the results table that differ from run to run of the same spec
TABLE_RUN_COLUMNS = ("wall_s", "cpu_s", "started_utc", "host", "pid", "rank")
_TOP_KEYS = ("name", "protocol", "seed", "morphologies", "recipes", "options", "vary", "sample")
_AXIS_KEYS = ("option", "parameter", "region", "unit", "values", "start", "stop", "num",
              "scale", "low", "high")
_NOT_OPTIONS = {"morphology": "morphologies", "recipe": "recipes", "out_dir": "--out",
                "progress": None, "defaults": None, "format": None}


class SweepError(ValueError):
    """A sweep spec or output folder that cannot be used: the message names
    the problem and the fix."""


# --------------------------------------------------------------------------- spec


@dataclasses.dataclass(frozen=True)
class Axis:
    """One varied quantity.

    kind: "option" (a protocol option) or "parameter" (a recipe parameter,
    ``name`` = ``mechanism.parameter``, set in ``region``; a GLOBAL
    parameter has no region). unit: the unit of the values (the option's or
    the mod file's). values: the listed or grid values in that unit (empty
    for a sampled axis); low, high, log: the sampled range.
    """

    kind: str
    name: str
    unit: str
    values: tuple = ()
    low: float | None = None
    high: float | None = None
    log: bool = False
    region: str | None = None
    scope: str = "range"

    @property
    def label(self) -> str:
        """The column name in the results table (the unit in brackets where the
        name does not carry it)."""
        if self.kind == "option":
            return self.name
        where = f"[{self.region}]" if self.region else ""
        return f"{self.name}{where} ({self.unit})" if self.unit else f"{self.name}{where}"

    @property
    def sampled(self) -> bool:
        return not self.values


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    """A validated sweep spec (:func:`load`); ``source``: the file it came from."""

    name: str
    protocol: str
    morphologies: tuple
    recipes: tuple
    options: dict
    axes: tuple
    seed: int | None
    sample_method: str | None
    sample_n: int
    source: str = "sweep spec"

    def to_dict(self) -> dict:
        """The spec as data (for sweep.json and its hash), with the SHA-256 of
        each morphology and recipe file it names (an edited file is a
        different sweep)."""
        from .build import _sha256

        files = {f: _sha256(Path(f)) for f in self.morphologies + self.recipes
                 if Path(f).is_absolute()}
        return {"name": self.name, "protocol": self.protocol, "seed": self.seed,
                "morphologies": list(self.morphologies), "recipes": list(self.recipes),
                "files_sha256": files,
                "options": self.options,
                "sample": {"method": self.sample_method, "n": self.sample_n},
                "vary": [dataclasses.asdict(a) for a in self.axes]}

    def hash(self) -> str:
        """SHA-256 of the spec as data (what decides the points)."""
        text = json.dumps(self.to_dict(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()


def load(path) -> SweepSpec:
    """Read and validate a sweep spec from a TOML file (SweepError naming the
    problem); relative paths in it are taken from the file's folder."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SweepError(f"sweep spec {path} does not exist") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as err:
        raise SweepError(f"sweep spec {path} cannot be read as a TOML text file: {err}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SweepError(f"sweep spec {path} is not valid TOML: {err}") from None
    return parse(data, base=path.parent, source=str(path), default_name=path.stem)


def parse(data: dict, base=".", source: str = "sweep spec",
          default_name: str = "sweep") -> SweepSpec:
    """A :class:`SweepSpec` from the TOML data; ``base``: the folder relative
    paths are taken from."""
    from .protocols import UnknownProtocolError, get

    where = source
    _check_keys(data, _TOP_KEYS, where, "top level")
    if "protocol" not in data:
        raise SweepError(f"{where}: 'protocol' is missing: name the protocol to sweep, e.g. "
                         f"protocol = \"spike-train\" (ionhomeo run --help lists them)")
    try:
        protocol = get(data["protocol"])
    except (UnknownProtocolError, TypeError) as err:
        raise SweepError(f"{where}: protocol: {err}") from None
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name.strip() or "/" in name or "\\" in name:
        raise SweepError(f"{where}: name must be a non-empty string without / or \\ (it "
                         f"names the default folder results/<name>), got {name!r}")
    morphs = tuple(_path_or_name(m, base, where, "morphologies", _morphology_ok)
                   for m in _names(data, "morphologies", where))
    recipes = tuple(_path_or_name(r, base, where, "recipes", _recipe_ok)
                    for r in _names(data, "recipes", where))
    options = data.get("options", {})
    if not isinstance(options, dict):
        raise SweepError(f"{where}: [options] must be a table of option = value")
    fixed = {k: _option_value(protocol, k, v, f"{where}, [options] {k}")
             for k, v in options.items()}
    vary = data.get("vary", [])
    if not isinstance(vary, list) or not all(isinstance(v, dict) for v in vary):
        raise SweepError(f"{where}: vary must be [[vary]] tables (option or parameter, and "
                         f"values, start/stop/num or low/high)")
    axes = tuple(_axis(protocol, v, f"{where}, [[vary]] {i}") for i, v in enumerate(vary, 1))
    labels = [a.label for a in axes]
    twice = sorted({x for x in labels if labels.count(x) > 1})
    if twice:
        raise SweepError(f"{where}: {twice[0]} is varied twice; give it one [[vary]]")
    clash = [a.name for a in axes if a.kind == "option" and a.name in fixed]
    if clash:
        raise SweepError(f"{where}: option {clash[0]} is both in [options] and varied; "
                         f"remove it from [options]")
    method, n = _sampling(data, axes, where)
    seed = data.get("seed")
    if method is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise SweepError(f"{where}: sampling needs seed = <a whole number >= 0> (the same seed "
                         f"gives the same points), got {seed!r}")
    spec = SweepSpec(name=name.strip(), protocol=protocol.name, morphologies=morphs,
                     recipes=recipes, options=fixed, axes=axes, seed=seed,
                     sample_method=method, sample_n=n, source=source)
    for point in points(spec):  # every point valid before anything runs
        _check_point(point, where)
    return spec


def _check_keys(d: dict, allowed, where: str, what: str) -> None:
    for key in d:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise SweepError(f"{where}: unknown key {key!r} at the {what}.{hint} "
                             f"Allowed: {', '.join(allowed)}")


def _names(data: dict, key: str, where: str) -> list:
    value = data.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise SweepError(f"{where}: {key} must be a list of names or file paths, got {value!r}")
    if len(set(value)) != len(value):
        raise SweepError(f"{where}: {key} lists a name twice: {value!r}")
    return value


def _morphology_ok(text: str) -> bool:
    from .morphology import BUNDLED

    return text in BUNDLED


def _recipe_ok(text: str) -> bool:
    from .recipe import preset_names

    return text in preset_names()


def _path_or_name(text: str, base, where: str, key: str, is_name) -> str:
    """A bundled name as it is, a file path made absolute (from ``base``)."""
    if is_name(text):
        return text
    path = (Path(base) / text).expanduser().resolve()
    if not path.is_file():
        what = "bundled cell" if key == "morphologies" else "preset"
        raise SweepError(f"{where}: {key}: {text!r} is neither a {what} nor a file "
                         f"(relative paths are taken from the spec's folder {Path(base)})")
    return str(path)


def _setting_text(value) -> str:
    """A TOML value as ``--set`` text (bools true/false, lists comma-separated,
    whole floats without a fraction so that integer options take them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(_setting_text(v) for v in value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def _option_value(protocol, name: str, value, where: str):
    """Option ``name`` = ``value`` (a TOML value; numbers in the option's unit
    or "value unit" text) as the protocol takes it, converted as ``--set``
    converts it."""
    import inspect

    from .cli import SettingError, _number, parse_settings

    if name in _NOT_OPTIONS:
        instead = _NOT_OPTIONS[name]
        raise SweepError(f"{where}: {name} is not set here" +
                         (f"; use {instead}" if instead else ""))
    try:
        if name == "duration_s":
            if name not in inspect.signature(protocol.run).parameters:
                raise SettingError(f"{protocol.name} takes no duration_s")
            return _number(name, _setting_text(value), protocol)
        return parse_settings(protocol, [f"{name}={_setting_text(value)}"])[name]
    except SettingError as err:
        raise SweepError(f"{where}: {err}") from None


def _axis(protocol, d: dict, where: str) -> Axis:
    """One [[vary]] table as an :class:`Axis` (values converted to its unit)."""
    _check_keys(d, _AXIS_KEYS, where, "[[vary]] table")
    if ("option" in d) == ("parameter" in d):
        raise SweepError(f"{where}: give either option = \"NAME\" (a protocol option) or "
                         f"parameter = \"MECHANISM.PARAMETER\" (a recipe parameter)")
    forms = [k for k in ("values", "start", "low") if k in d]
    if len(forms) != 1:
        raise SweepError(f"{where}: give exactly one of values = [...] (a list), start/stop/num "
                         f"(a grid) or low/high (sampled, with [sample])")
    scale = d.get("scale", "linear")
    if scale not in ("linear", "log"):
        raise SweepError(f"{where}: scale must be \"linear\" or \"log\", got {scale!r}")
    unit = d.get("unit")
    if unit is not None and not isinstance(unit, str):
        raise SweepError(f"{where}: unit must be text such as \"mM\", got {unit!r}")
    if "option" in d:
        kind, name, region, scope = "option", d["option"], None, "range"
        if "region" in d:
            raise SweepError(f"{where}: region belongs to a recipe parameter, not to an option")
        def convert(v, w, u=unit):
            return _option_value(protocol, name, _with_unit(v, u), w)
        target = _option_unit(protocol, name)
    else:
        kind, name = "parameter", d["parameter"]
        param, scope = _parameter(name, where)
        region = d.get("region", "all") if scope == "range" else None
        if scope == "global" and "region" in d:
            raise SweepError(f"{where}: {name} is a GLOBAL parameter (one value for every "
                             f"segment): remove region")
        if region is not None:
            _region_ok(region, where)
        def convert(v, w, u=unit):
            return _parameter_value(param, name, _with_unit(v, u), w)
        target = param.units
    if "values" in d:
        values = d["values"]
        if not isinstance(values, list) or not values:
            raise SweepError(f"{where}: values must be a non-empty list")
        vals = tuple(convert(v, f"{where}, values[{i}]") for i, v in enumerate(values))
        if len(set(map(_key, vals))) != len(vals):
            raise SweepError(f"{where}: values lists the same value twice: {values!r}")
        return Axis(kind, name, target or "", values=vals, region=region, scope=scope)
    if "start" in d:
        missing = [k for k in ("stop", "num") if k not in d]
        if missing:
            raise SweepError(f"{where}: a grid needs start, stop and num; {missing[0]} is missing")
        num = d["num"]
        if isinstance(num, bool) or not isinstance(num, int) or num < 2:
            raise SweepError(f"{where}: num must be a whole number >= 2, got {num!r}")
        lo, hi = (_number_of(convert(d[k], f"{where}, {k}"), k, where) for k in ("start", "stop"))
        grid = _grid(lo, hi, num, scale == "log", where)
        # the grid is in the target unit already
        vals = tuple(convert(float(x), f"{where}, grid value {x:g}", None) for x in grid)
        return Axis(kind, name, target or "", values=vals, region=region, scope=scope,
                    log=scale == "log")
    if "high" not in d:
        raise SweepError(f"{where}: a sampled range needs low and high; high is missing")
    lo, hi = (_number_of(convert(d[k], f"{where}, {k}"), k, where) for k in ("low", "high"))
    if not lo < hi:
        raise SweepError(f"{where}: low must be below high, got {lo:g} and {hi:g}")
    if scale == "log" and lo <= 0:
        raise SweepError(f"{where}: a log scale needs low > 0, got {lo:g}")
    for k in ("num",):
        if k in d:
            raise SweepError(f"{where}: {k} belongs to a grid; the number of samples is "
                             f"[sample] n")
    return Axis(kind, name, target or "", low=lo, high=hi, log=scale == "log", region=region,
                scope=scope)


def _with_unit(value, unit):
    """A number given with the [[vary]] ``unit`` as "value unit" text."""
    if unit and isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value!r} {unit}"
    return value


def _number_of(value, key: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SweepError(f"{where}: {key} must be a number, got {value!r}")
    return float(value)


def _key(value):
    return json.dumps(value, default=str)


def _grid(lo: float, hi: float, num: int, log: bool, where: str) -> list:
    """``num`` values from ``lo`` to ``hi`` inclusive, evenly (or on a log scale)."""
    import numpy as np

    if log:
        if lo <= 0 or hi <= 0:
            raise SweepError(f"{where}: a log scale needs start and stop > 0")
        return [float(x) for x in np.geomspace(lo, hi, num)]
    return [float(x) for x in np.linspace(lo, hi, num)]


def _option_unit(protocol, name: str) -> str | None:
    from .cli import _option_unit as unit

    return unit(name, protocol)


def _parameter(text, where: str):
    """The catalogue's Parameter of "mechanism.parameter", and its scope."""
    from . import mechanisms

    if not isinstance(text, str) or text.count(".") != 1:
        raise SweepError(f"{where}: parameter must be \"MECHANISM.PARAMETER\" (e.g. "
                         f"\"kcc2.imax\"; ionhomeo list shows them), got {text!r}")
    mech, _, param = text.partition(".")
    try:
        found = mechanisms.get(mech)
    except mechanisms.UnknownMechanismError as err:
        raise SweepError(f"{where}: {err}") from None
    if param not in found.parameters:
        close = difflib.get_close_matches(param, list(found.parameters), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise SweepError(f"{where}: {mech} has no parameter {param!r}.{hint} Its parameters: "
                         f"{', '.join(found.parameters)}")
    p = found.parameters[param]
    return p, p.scope


def _region_ok(region, where: str) -> None:
    from . import regions

    if not isinstance(region, str):
        raise SweepError(f"{where}: region must be a region expression such as \"soma\"")
    try:
        regions.parse(region)
    except Exception as err:  # noqa: BLE001 - the grammar's message, with the spec's place
        raise SweepError(f"{where}: region {region!r}: {err}") from None


def _parameter_value(param, name: str, value, where: str) -> float:
    """A recipe parameter's value (number in the mod file's unit or "value
    unit") as a float in the mod file's unit, range-checked."""
    from .recipe import RecipeError, to_mod_units

    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise SweepError(f"{where}: {name} takes a number in {param.units} or \"value unit\", "
                         f"got {value!r}")
    try:
        number = to_mod_units(value, param, name)
        return param.check(name.partition(".")[0], number)
    except (RecipeError, ValueError) as err:
        raise SweepError(f"{where}: {err}") from None


def _sampling(data: dict, axes, where: str):
    """([sample] method, n), (None, 1) when nothing is sampled."""
    sampled = [a for a in axes if a.sampled]
    sample = data.get("sample")
    if not sampled:
        if sample is not None:
            raise SweepError(f"{where}: [sample] is given but no [[vary]] has low/high; remove "
                             f"[sample] or give a range to sample")
        return None, 1
    if not isinstance(sample, dict):
        raise SweepError(f"{where}: {sampled[0].label} has low/high: add [sample] with method "
                         f"= \"lhs\" or \"random\" and n = <number of samples>, and seed")
    _check_keys(sample, ("method", "n"), where, "[sample] table")
    method, n = sample.get("method"), sample.get("n")
    if method not in SAMPLING:
        raise SweepError(f"{where}: [sample] method must be one of {', '.join(SAMPLING)}, "
                         f"got {method!r}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise SweepError(f"{where}: [sample] n must be a whole number >= 1, got {n!r}")
    return method, n


# --------------------------------------------------------------------------- points


def _samples(spec: SweepSpec) -> list:
    """The sampled axes' values: ``sample_n`` rows, one value per sampled axis,
    from ``seed`` (random: independent uniform draws; lhs: each axis's range
    cut into n equal strata, one draw in each, the strata shuffled per axis)."""
    import numpy as np

    sampled = [a for a in spec.axes if a.sampled]
    if not sampled:
        return [()]
    rng = np.random.default_rng(spec.seed)
    n, d = spec.sample_n, len(sampled)
    u = rng.random((n, d))
    if spec.sample_method == "lhs":
        strata = np.column_stack([rng.permutation(n) for _ in range(d)])
        u = (strata + u) / n
    rows = []
    for row in u:
        values = []
        for a, x in zip(sampled, row):
            if a.log:
                values.append(float(math.exp(math.log(a.low) + x * (math.log(a.high)
                                                                    - math.log(a.low)))))
            else:
                values.append(float(a.low + x * (a.high - a.low)))
        rows.append(tuple(values))
    return rows


def points(spec: SweepSpec) -> list:
    """Every point of the sweep as a dict (index, id, protocol, morphology,
    recipe, options, parameters, swept): morphologies x recipes x listed and
    grid values x samples, in that order."""
    listed = [a for a in spec.axes if not a.sampled]
    sampled = [a for a in spec.axes if a.sampled]
    combos = itertools.product(spec.morphologies or (None,), spec.recipes or (None,),
                               itertools.product(*(a.values for a in listed)), _samples(spec))
    out = []
    combos = list(combos)
    width = max(4, len(str(len(combos) - 1)))
    for index, (morph, recipe, fixed, drawn) in enumerate(combos):
        options, params, swept = dict(spec.options), [], {}
        for axis, value in zip(listed + sampled, tuple(fixed) + tuple(drawn)):
            swept[axis.label] = value
            if axis.kind == "option":
                options[axis.name] = value
            else:
                params.append({"parameter": axis.name, "region": axis.region,
                               "scope": axis.scope, "value": value, "unit": axis.unit})
        out.append({"index": index, "id": f"{index:0{width}d}", "protocol": spec.protocol,
                    "morphology": morph, "recipe": recipe, "options": options,
                    "parameters": params, "swept": swept})
    return out


def _check_point(point: dict, where: str) -> None:
    """Validate a point's options and recipe without running it."""
    from .mechanisms import ParameterError
    from .protocols import get
    from .recipe import RecipeError

    protocol = get(point["protocol"])
    try:
        kwargs = _protocol_kwargs(point)
        protocol.run.spec(**kwargs)
    except (ParameterError, RecipeError, SweepError) as err:
        raise SweepError(f"{where}: point {point['id']} ({_describe(point)}): {err}") from None


def _describe(point: dict) -> str:
    parts = [f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
             for k, v in point["swept"].items()]
    for key in ("morphology", "recipe"):
        if point[key] is not None:
            parts.append(f"{key}={Path(point[key]).name}")
    return ", ".join(parts) or "the only point"


def base_recipe(protocol, morphology, recipe):
    """The Recipe a point of ``protocol`` starts from, by the protocols' model
    policy (:mod:`ionhomeo.experiment`): ``recipe`` if given, else the
    spec's default; else the protocol's cell recipe with a morphology, its
    preset without."""
    from .recipe import preset, resolve

    defaults = {f.name: f.default for f in dataclasses.fields(protocol.run.Spec)}
    if recipe is None:
        recipe = defaults.get("recipe")
    if recipe is not None:
        return resolve(recipe)
    if morphology is None:
        morphology = defaults.get("morphology")
    name = (protocol.run.cell_recipe or "mature") if morphology is not None \
        else protocol.run.preset
    if name is None:
        raise SweepError(f"protocol {protocol.name} has no default recipe to change: give "
                         f"recipes = [...]")
    return preset(name)


def _protocol_kwargs(point: dict) -> dict:
    """The protocol's keyword arguments for ``point`` (its recipe with the
    point's parameters when it has any)."""
    from .protocols import get

    kwargs = dict(point["options"])
    if point["morphology"] is not None:
        kwargs["morphology"] = point["morphology"]
    if point["recipe"] is not None:
        kwargs["recipe"] = point["recipe"]
    if point["parameters"]:
        protocol = get(point["protocol"])
        kwargs["recipe"] = with_parameters(
            base_recipe(protocol, point["morphology"], point["recipe"]), point["parameters"],
            point["id"])
    return kwargs


def with_parameters(recipe, parameters, point_id: str = ""):
    """``recipe`` with each parameter set: a RANGE parameter as one more rule
    for its mechanism in its region (overriding earlier rules there), a
    GLOBAL one in the recipe's globals. The mechanism must be one the recipe
    places (a sweep changes a model, it does not add to it)."""
    globals_ = {m: dict(ps) for m, ps in recipe.globals.items()}
    out = recipe
    for p in parameters:
        mech, _, name = p["parameter"].partition(".")
        if mech not in recipe.mechanisms():
            raise SweepError(f"recipe {recipe.name!r} does not place {mech}, so "
                             f"{p['parameter']} cannot be varied in it; vary a parameter of "
                             f"its mechanisms ({', '.join(recipe.mechanisms())})")
        if p["scope"] == "global":
            globals_.setdefault(mech, {})[name] = p["value"]
        else:
            out = out.add(p["region"], mech, note=f"sweep point {point_id}",
                          **{name: p["value"]})
    return out.replace(globals=globals_, name=f"{recipe.name}+sweep-{point_id}")


# --------------------------------------------------------------------------- one point


def points_dir(out) -> Path:
    return Path(out) / "points"


def completed(out) -> dict:
    """{point id: record} of the points of ``out`` that have a point.json."""
    found = {}
    folder = points_dir(out)
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*/point.json")):
        if path.parent.name.startswith("."):
            continue
        found[path.parent.name] = json.loads(path.read_text(encoding="utf-8"))
    return found


@contextlib.contextmanager
def _globals_restored():
    """NEURON's GLOBAL mechanism parameters as they were, after the block (a
    recipe's globals are process-wide: one point's must not reach the next)."""
    from neuron import h

    from . import build, mechanisms

    build.load()
    names = [f"{p}_{m}" for m, mech in mechanisms.catalog().items()
             for p, par in mech.parameters.items() if par.scope == "global"]
    saved = {n: getattr(h, n) for n in names if hasattr(h, n)}
    try:
        yield
    finally:
        for n, v in saved.items():
            setattr(h, n, v)


def run_point(point: dict, out) -> dict:
    """Run one point into ``OUT/points/<id>/`` and return its record (also
    written there as point.json). Any error of the protocol is recorded, not
    raised; the folder appears complete or not at all."""
    import traceback
    import warnings

    from . import progress, results
    from .protocols import get

    wall0, cpu0 = time.perf_counter(), time.process_time()
    started = _utc_now()
    final = points_dir(out) / point["id"]
    staging = points_dir(out) / f".{point['id']}.running-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    record = {"point": point, "status": "ok", "error": None, "traceback": None}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            kwargs = _protocol_kwargs(point)
            # a point's own progress (its conditions, steady states) is not shown:
            # the sweep's line counts the points
            with _globals_restored(), progress.quiet():
                result = get(point["protocol"])(out_dir=staging, **kwargs)
            record["summary"] = [{"quantity": q, "value": float(v), "unit": u}
                                 for q, v, u in zip(result.summary["quantity"],
                                                    result.summary["value"],
                                                    result.summary["unit"])]
            record["checks"] = [c.to_dict() for c in result.checks]
            record["files"] = sorted(Path(f).name for f in result.files)
            record["recipe"] = kwargs["recipe"].to_dict() if hasattr(
                kwargs.get("recipe"), "to_dict") else kwargs.get("recipe")
        except Exception as err:  # noqa: BLE001 - recorded; the sweep goes on
            _interrupt.check()  # unless it came from a Ctrl-C that NEURON swallowed
            shutil.rmtree(staging, ignore_errors=True)
            record.update(status="error", error=f"{type(err).__name__}: {err}",
                          traceback=traceback.format_exc(), summary=[], checks=[], files=[])
    record["warnings"] = sorted({str(w.message) for w in caught})
    record.update(started_utc=started, wall_s=time.perf_counter() - wall0,
                  cpu_s=time.process_time() - cpu0, host=os.uname().nodename, pid=os.getpid(),
                  rank=_rank())
    record = results.provenance(**record)
    staging.mkdir(parents=True, exist_ok=True)
    results.write_json(record, staging / "point.json")
    os.replace(staging, final)  # the point appears whole
    return json.loads(json.dumps(results.jsonable(record)))


def warm_up() -> None:
    """Load what every point needs once per process (the mechanisms, stdrun,
    the protocols, pandas and matplotlib), so that a worker's first point is
    timed like the others."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    import pandas  # noqa: F401
    from neuron import h

    from . import build, protocols  # noqa: F401 - imported to register them

    build.load()
    h.load_file("stdrun.hoc")


def run_point_json(point_json: str, out: str) -> dict:
    """:func:`run_point` taking the point as JSON text (how MPI jobs carry it)."""
    return run_point(json.loads(point_json), out)


def _rank():
    """The MPI rank of this process (None without MPI)."""
    from .mpi import launched_rank

    return launched_rank()


def _utc_now() -> str:
    import datetime

    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


# --------------------------------------------------------------------------- the sweep


class Progress:
    """A progress line on stderr: points done, failed, rate and time left."""

    def __init__(self, total: int, done: int, quiet: bool = False, stream=None):
        self.total, self.done, self.failed, self.quiet = total, done, 0, quiet
        self.stream = stream or sys.stderr
        self._start, self._new = time.perf_counter(), 0

    def update(self, record: dict) -> None:
        self.done += 1
        self._new += 1
        if record.get("status") != "ok":
            self.failed += 1
        from .progress import enabled

        if self.quiet or not enabled():  # --quiet, IONHOMEO_QUIET
            return
        elapsed = time.perf_counter() - self._start
        left = (self.total - self.done) * elapsed / self._new
        failed = f", {self.failed} failed" if self.failed else ""
        self.stream.write(f"sweep: {self.done}/{self.total} points{failed}, "
                          f"{self._new / elapsed * 60:.3g} points/min, about "
                          f"{_duration(left)} left\n")
        self.stream.flush()


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@contextlib.contextmanager
def _locked(out: Path):
    """An exclusive lock on OUT (SweepError if another sweep holds it)."""
    import fcntl

    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".sweep.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SweepError(f"another sweep is running into {out}; wait for it or give "
                             f"another --out") from None
        except OSError as err:  # a file system without locks (some NFS, Lustre): go on
            if err.errno not in (errno.ENOLCK, errno.ENOSYS, errno.EOPNOTSUPP):
                raise
        yield


def prepare(spec: SweepSpec, out) -> list:
    """Write (or check) OUT/sweep.json, remove what a killed run left, and
    return the points still to run."""
    from . import results

    out = Path(out)
    pts = points(spec)
    meta_path = out / "sweep.json"
    if meta_path.exists():
        old = json.loads(meta_path.read_text(encoding="utf-8"))
        if old.get("spec_hash") != spec.hash():
            raise SweepError(f"{out} holds a sweep of a different spec (changed since it "
                             f"started); resume it with the same spec, or give another --out "
                             f"(or delete {out}) to start this one")
    else:
        results.write_json(results.provenance(spec=spec.to_dict(), spec_hash=spec.hash(),
                                              source=spec.source, points=pts), meta_path)
    folder = points_dir(out)
    folder.mkdir(parents=True, exist_ok=True)
    for leftover in folder.glob(".*"):  # a killed point's half-written folder
        shutil.rmtree(leftover, ignore_errors=True)
    done = completed(out)
    return [p for p in pts if p["id"] not in done]


def run(spec: SweepSpec, out, jobs: int | None = None, quiet: bool = False,
        runner: str = "local", format: str = "csv") -> "object":
    """Run the points of ``spec`` not yet done into ``out`` and write the table
    (``format`` "csv" or "parquet", which needs pyarrow) and figure; returns
    the table (a DataFrame).

    runner: "local" (``jobs`` worker processes, default one per core;
    ``jobs=1`` runs in this process) or "mpi" (the calling process is rank 0
    of NEURON's bulletin board; :func:`ionhomeo.mpi.run_points`).
    """
    from . import results
    from .progress import env_quiet

    if format not in results.RUN_FORMATS:
        raise SweepError(f"format must be one of {', '.join(results.RUN_FORMATS)}, got {format!r}")
    if format == "parquet":
        try:
            results._parquet_engine()
        except ImportError:  # said before any point runs
            raise SweepError("the Parquet table needs pyarrow, which is not installed: pip "
                             "install pyarrow; or write CSV (the default)") from None
    out = Path(out)
    with _locked(out):
        todo = prepare(spec, out)
        total = len(points(spec))
        progress = Progress(total, total - len(todo), quiet)
        if not quiet and todo and not env_quiet():
            where = (f"{int(mpi_context().nhost())} MPI ranks" if runner == "mpi" else
                     "this process" if (jobs or cores()) == 1 or len(todo) == 1 else
                     f"{min(jobs or cores(), len(todo))} worker processes")
            print(f"sweep {spec.name}: {total} points, {total - len(todo)} done before, "
                  f"{len(todo)} to run in {where}", file=sys.stderr, flush=True)
        if runner == "mpi":
            from . import mpi

            mpi.run_points(todo, out, progress.update)
        elif (jobs or cores()) == 1 or len(todo) <= 1:
            if todo:
                warm_up()
            for point in todo:
                progress.update(run_point(point, out))
        else:
            _run_pool(todo, out, jobs or cores(), progress.update)
        return write_results(spec, out, format)


def mpi_context():
    """NEURON's ParallelContext (for the number of ranks)."""
    from neuron import h

    return h.ParallelContext()


def cores() -> int:
    """The cores this process may use (its CPU affinity where the system has it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


def _run_pool(todo: list, out: Path, jobs: int, report) -> None:
    """The points in ``jobs`` worker processes (spawned: each its own NEURON);
    points whose worker died are run again one by one, each alone, so that a
    crash is recorded against the point that caused it."""
    import concurrent.futures as cf
    import multiprocessing

    from . import build

    build.compile_mechanisms()  # once, before the workers load it
    ctx = multiprocessing.get_context("spawn")
    unfinished = []
    with cf.ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=ctx,
                                initializer=warm_up) as pool:
        futures = {pool.submit(run_point, p, str(out)): p for p in todo}
        try:
            for fut in cf.as_completed(futures):
                try:
                    report(fut.result())
                except cf.process.BrokenProcessPool:
                    unfinished.append(futures[fut])
        except BaseException:  # Ctrl-C: the points not started are not started
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    _run_alone(sorted(unfinished, key=lambda p: p["index"]), out, ctx, report)


def _run_alone(points: list, out: Path, ctx, report) -> None:
    """Each of ``points`` in a process of its own. A point whose record exists
    is reported, not run again: its worker finished it (the folder is written
    whole, then renamed) before the pool broke and lost only its result."""
    import concurrent.futures as cf

    for point in points:
        record = points_dir(out) / point["id"] / "point.json"
        if record.is_file():
            report(json.loads(record.read_text(encoding="utf-8")))
            continue
        with cf.ProcessPoolExecutor(max_workers=1, mp_context=ctx) as alone:
            try:
                report(alone.submit(run_point, point, str(out)).result())
            except cf.process.BrokenProcessPool as err:
                report(record_crash(point, out, f"the worker process died ({err})"))


def record_crash(point: dict, out, error: str) -> dict:
    """Record ``point`` as failed with ``error`` when it took its process down."""
    from . import results

    record = results.provenance(point=point, status="error", error=error, traceback=None,
                                summary=[], checks=[], files=[], warnings=[],
                                started_utc=None, wall_s=None, cpu_s=None,
                                host=os.uname().nodename, pid=None, rank=None)
    staging = points_dir(out) / f".{point['id']}.crashed-{os.getpid()}"
    staging.mkdir(parents=True, exist_ok=True)
    results.write_json(record, staging / "point.json")
    os.replace(staging, points_dir(out) / point["id"])
    return record


# --------------------------------------------------------------------------- results


def table(spec: SweepSpec, out):
    """The tidy results table, rebuilt from the point.json files: one row per
    point and summary quantity or check (``kind`` "summary" or "check"; a
    failed point has one row of kind "error"), with the point's swept values,
    morphology, recipe, status, error, wall and CPU time and versions."""
    import pandas as pd

    records = completed(out)
    labels = [a.label for a in spec.axes]
    rows = []
    for pid in sorted(records):
        rec = records[pid]
        point = rec["point"]
        base = {"point": pid, **{lab: point["swept"].get(lab) for lab in labels},
                "morphology": point["morphology"] or "", "recipe": point["recipe"] or "",
                "status": rec["status"], "error": rec["error"] or ""}
        run = {"wall_s": rec.get("wall_s"), "cpu_s": rec.get("cpu_s"),
               "ionhomeo_version": rec.get("ionhomeo_version"),
               "neuron_version": rec.get("neuron_version"),
               "started_utc": rec.get("started_utc"), "host": rec.get("host"),
               "pid": rec.get("pid"), "rank": rec.get("rank")}
        for s in rec.get("summary", []):
            rows.append({**base, "kind": "summary", "quantity": s["quantity"],
                         "value": s["value"], "unit": s["unit"], "passed": None, **run})
        for c in rec.get("checks", []):
            value = c.get("obtained")
            rows.append({**base, "kind": "check", "quantity": c["name"],
                         "value": value if isinstance(value, (int, float)) else None,
                         "unit": c.get("unit", ""), "passed": bool(c["passed"]), **run})
        if rec["status"] != "ok":
            rows.append({**base, "kind": "error", "quantity": "", "value": None, "unit": "",
                         "passed": None, **run})
    df = pd.DataFrame(rows)
    if not len(df):
        return df
    df["value"] = df["value"].astype(float)
    return df


def write_results(spec: SweepSpec, out, format: str = "csv"):
    """Write results.csv (results.parquet with ``format="parquet"``: pyarrow),
    results.json and results.png from the point records; returns the table."""
    from . import results

    out = Path(out)
    df = table(spec, out)
    fmt = format
    for stale in ("results.csv", "results.parquet"):
        if not stale.endswith(fmt):
            with contextlib.suppress(FileNotFoundError):
                (out / stale).unlink()
    done = completed(out)
    meta = {"sweep": spec.name, "protocol": spec.protocol, "spec_hash": spec.hash(),
            "points": len(points(spec)), "completed": len(done),
            "failed": sorted(k for k, r in done.items() if r["status"] != "ok"),
            "swept": [{"label": a.label, "unit": a.unit} for a in spec.axes]}
    results.save_run(out, "results", df, meta, format=fmt)
    fig = figure(spec, df)
    if fig is not None:
        import matplotlib.pyplot as plt

        results.save_figure(fig, out / "results.png")
        plt.close(fig)
    return df


def figure(spec: SweepSpec, df):
    """Each swept quantity (columns) against each summary quantity (rows), one
    marker per point, a colour per morphology and recipe; None without swept
    quantities or results."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    axes_ = [a for a in spec.axes]
    if not axes_ or not len(df):
        return None
    summary = df[df["kind"] == "summary"]
    quantities = list(dict.fromkeys(summary["quantity"]))
    if not quantities:
        return None
    fig, grid = plt.subplots(len(quantities), len(axes_), squeeze=False,
                             figsize=(3.2 * len(axes_), 1.9 * len(quantities) + 0.6))
    groups = list(summary.groupby(["morphology", "recipe"], sort=False))
    for r, q in enumerate(quantities):
        for c, axis in enumerate(axes_):
            ax = grid[r][c]
            for (morph, recipe), g in groups:
                rows = g[g["quantity"] == q]
                label = " / ".join(Path(x).stem for x in (morph, recipe) if x) or spec.protocol
                ax.plot(rows[axis.label], rows["value"], "o", ms=3, label=label)
            if axis.log:
                ax.set_xscale("log")
            unit = summary.loc[summary["quantity"] == q, "unit"].iloc[0]
            ax.set_ylabel(f"{q} ({unit})" if unit and unit != "1" else q, fontsize=7)
            if r == len(quantities) - 1:
                ax.set_xlabel(axis.label if axis.kind != "option" or not axis.unit
                              else f"{axis.label} ({axis.unit})", fontsize=7)
            ax.tick_params(labelsize=6)
            ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
    if len(groups) > 1:
        grid[0][0].legend(fontsize=6)
    fig.suptitle(f"sweep {spec.name}: {spec.protocol}", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.4 / fig.get_figheight()))
    return fig


# --------------------------------------------------------------------------- command line


def add_parser(commands) -> None:
    """Register ``ionhomeo sweep`` on the CLI's sub-parsers."""
    import argparse

    p = commands.add_parser(
        "sweep",
        help="run a protocol at every point of a parameter sweep (local cores or MPI)",
        description="Run the protocol of SPEC.toml at every point of its sweep, each point "
        "in isolation into OUT/points/<id>/, then write OUT/results.csv (results.parquet "
        "with --format parquet), results.json and results.png. Without MPI the points run in worker "
        "processes on every core; started by mpiexec (or with --mpi) they run on NEURON's "
        "ParallelContext bulletin board across the ranks. A sweep run again into the same "
        "OUT runs only the points not yet done. The spec format is in the README "
        "(Parameter sweeps).")
    p.add_argument("spec", type=Path, metavar="SPEC.toml", help="the sweep spec")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="the sweep's folder (default: results/<spec name>)")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="worker processes without MPI (default: one per core; 1: in this "
                        "process)")
    p.add_argument("--mpi", action="store_true",
                   help="use NEURON's ParallelContext with MPI even if no MPI launcher is "
                        "detected (it is used automatically under mpiexec or srun)")
    p.add_argument("--format", choices=("csv", "parquet"), default="csv", type=str.lower,
                   help="format of the results table (default csv; parquet needs pyarrow: "
                        "pip install pyarrow)")
    p.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                   help="no progress lines (also IONHOMEO_QUIET=1)")
    p.add_argument("--points", action="store_true",
                   help="print the points of the sweep and exit without running")
    p.set_defaults(func=command)


def command(args) -> int:
    """``ionhomeo sweep``: 0 when every point succeeded, 1 when some failed, 2
    for a spec, folder or MPI problem."""
    from . import mpi

    if args.jobs is not None and args.jobs < 1:
        print("ionhomeo sweep: error: --jobs must be 1 or more", file=sys.stderr)
        return 2
    size = mpi.launched_size()
    use_mpi = args.mpi or (size is not None and size > 1)
    if use_mpi and not args.points:
        try:
            pc = mpi.init()
        except mpi.MPIError as err:
            print(f"ionhomeo sweep: error: {err}", file=sys.stderr)
            return 2
        if not mpi.worker(pc):
            return 0
        try:
            return _command(args, runner="mpi")
        finally:
            pc.done()
    if size is not None and size > 1 and mpi.launched_rank():
        return 0  # --points under mpiexec: rank 0 prints them
    return _command(args, runner="local")


def _command(args, runner: str) -> int:
    from .results import OutputError

    try:
        spec = load(args.spec)
    except SweepError as err:
        print(f"ionhomeo sweep: error: {err}", file=sys.stderr)
        return 2
    if args.points:
        import pandas as pd

        rows = [{"point": p["id"], **p["swept"],
                 **({"morphology": p["morphology"]} if spec.morphologies else {}),
                 **({"recipe": p["recipe"]} if spec.recipes else {})} for p in points(spec)]
        print(pd.DataFrame(rows).to_string(index=False))
        return 0
    out = args.out if args.out is not None else Path("results") / spec.name
    try:
        run(spec, out, jobs=args.jobs, quiet=getattr(args, "quiet", False), runner=runner,
            format=args.format)
    except (SweepError, OutputError) as err:
        print(f"ionhomeo sweep: error: {err}", file=sys.stderr)
        return 2
    done = completed(out)
    failed = sorted(k for k, r in done.items() if r["status"] != "ok")
    print(f"sweep {spec.name}: {len(done)} points of {spec.protocol}, {len(failed)} failed")
    for k in failed:
        print(f"  point {k}: {done[k]['error']}")
    table_file = out / f"results.{args.format}"
    print(f"wrote: {table_file}, {out / 'results.json'}" +
          (f", {out / 'results.png'}" if (out / "results.png").exists() else ""))
    return 1 if failed else 0
