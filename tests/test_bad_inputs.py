"""Bad inputs and misuse, table-driven: each case asserts the exact kind of
error and that its message names the problem and the fix (no raw traceback,
no crash, no silent result).

``CASES`` rows are (case, factory(tmp_path) -> callable, error class, message
pattern), grouped by recipes, regions, morphologies, cells, mechanisms,
recording, running, steady state and numerics, defaults, compile cache and
build, and the command line (run in this process; ``CommandLineExit`` carries
its exit status and stderr). Rows commented "fixed:" gave, before, the
traceback, crash or silent result named there. The tests after the table
check handled outcomes (inputs that are not errors) and interrupted runs."""

import contextlib
import io
import math
import os
import signal
import subprocess
import sys
import time

import pytest

from ionhomeo import (build, cli, defaults, mechanisms, morphology, presets, recipe, recording,
                      regions, simulate, steady)
from ionhomeo.cell import Cell, CellError


def _binary_recipe(tmp_path):
    path = tmp_path / "picture.toml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    return lambda: recipe.load(path)


def _directory_recipe(tmp_path):
    return lambda: recipe.load(tmp_path)


def _missing_recipe(tmp_path):
    return lambda: recipe.load(tmp_path / "nowhere.toml")


def _unreadable_recipe(tmp_path):
    path = tmp_path / "secret.toml"
    path.write_text('name = "x"\n')
    path.chmod(0)
    if os.access(path, os.R_OK):  # root reads anything: nothing to test here
        pytest.skip("running as root: a file without permissions is still readable")
    return lambda: recipe.load(path)


#: (case, factory(tmp_path) -> callable, exception type, message pattern)
CASES = [
    ("binary recipe", _binary_recipe, recipe.RecipeError,
     r"picture\.toml is not a text \(UTF-8\) TOML file: byte \d+"),
    ("recipe is a directory", _directory_recipe, recipe.RecipeError,
     r"is a directory, not a TOML file"),
    ("recipe file missing", _missing_recipe, recipe.RecipeError, r"nowhere\.toml does not exist"),
    ("recipe file unreadable", _unreadable_recipe, recipe.RecipeError, r"permission denied"),
    ("region nested 5000 deep with ~", lambda _: lambda: regions.parse("~" * 5000 + "soma"),
     regions.RegionError, r"nested too deeply .* fewer levels"),
    ("region nested 5000 deep with ()",
     lambda _: lambda: regions.parse("(" * 5000 + "soma" + ")" * 5000),
     regions.RegionError, r"nested too deeply"),
    ("region not a string", lambda _: lambda: regions.parse(3), regions.RegionError,
     r"must be a string, got int"),
    ("region empty", lambda _: lambda: regions.parse("  "), regions.RegionError,
     r"expression is empty"),
]


def _image_as_swc(tmp_path):
    path = tmp_path / "neuron.swc"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    return lambda: morphology.load(path)


def _directory_as_asc(tmp_path):
    folder = tmp_path / "cells.asc"
    folder.mkdir()
    return lambda: morphology.load(folder)


CASES += [
    ("image renamed .swc", _image_as_swc, morphology.MorphologyError,
     r"neuron\.swc: not an SWC file: it holds binary data"),
    ("directory named .asc", _directory_as_asc, morphology.MorphologyError,
     r"cells\.asc: a directory, not an ASC file"),
    ("recording interval below NEURON's", lambda _: lambda: recording.Recorder(dt_ms=1e-12),
     recording.RecordingError, r"outside the sampling intervals NEURON records at"),
    ("recording interval above NEURON's", lambda _: lambda: recording.Recorder(dt_ms=5e12),
     recording.RecordingError, r"\(1e-9 to 1e9 ms\)"),
]


# -- recipes ---------------------------------------------------------------------

#: a rule that is valid on its own (line 2 of the files below)
_RULE = '[[rules]]\nregion = "all"\nmechanism = "kcc2"\n'


def _toml(body: str):
    """Factory: recipe.load of a file x.toml holding a name line and ``body``."""
    def factory(tmp_path):
        path = tmp_path / "x.toml"
        path.write_text('name = "x"\n' + body)
        return lambda: recipe.load(path)
    return factory


def _params(text: str):
    """Factory: a recipe whose one kcc2 rule has ``params = { text }``."""
    return _toml(_RULE + f"params = {{ {text} }}\n")


def _one_rule(**fields):
    return {"region": "all", "mechanism": "kcc2", **fields}


def _recipe_onto_directory(tmp_path):
    rec = recipe.Recipe(name="x", rules=[_one_rule()])
    return lambda: recipe.save(rec, tmp_path)


CASES += [
    ("recipe malformed TOML", _toml("[[rules]\nregion = 'all'\n"), recipe.RecipeError,
     r"x\.toml: malformed TOML: .*line 2"),
    ("recipe parameter given twice", _params("imax = 0.05, imax = 0.06"), recipe.RecipeError,
     r"x\.toml: malformed TOML: .*line 5"),
    ("recipe globals table given twice",
     _toml("[globals.kcc2]\nkmcl = 6.0\n[globals.kcc2]\nkmcl = 7.0\n" + _RULE),
     recipe.RecipeError, r"x\.toml: malformed TOML: .*line 4"),
    ("recipe unknown mechanism", _toml(_RULE.replace("kcc2", "kcc3")), recipe.RecipeError,
     r"rule 1 \(line 2\): 'kcc3' in region 'all': unknown mechanism 'kcc3'\. Did you mean "
     r"'kcc2'\? ionhomeo provides: .*nkcc1"),
    ("recipe mechanism not a name", _toml(_RULE.replace('"kcc2"', "3")), recipe.RecipeError,
     r"rule 1 \(line 2\): 3 in region 'all': mechanism must be a name \(string\)"),
    ("recipe unknown parameter", _params("imx = 0.05"), recipe.RecipeError,
     r"kcc2 has no parameter 'imx'\. Did you mean 'imax'\? Its parameters: imax, "),
    ("recipe unit of another quantity", _params('imax = "5 mM"'), recipe.RecipeError,
     r"kcc2\.imax = '5 mM': unit 'mM' does not convert to mA/cm2, the unit of imax in its mod "
     r"file\. Accepted: A/m2, mA/cm2, uA/cm2, pA/um2"),
    ("recipe unknown unit", _params('imax = "5 furlong"'), recipe.RecipeError,
     r"unit 'furlong' does not convert to mA/cm2.*Accepted: A/m2, mA/cm2, uA/cm2, pA/um2"),
    ("recipe quoted number without unit", _params('imax = "0.05"'), recipe.RecipeError,
     r"a string needs a unit; write the number without quotes to use the mod file's unit "
     r"\(mA/cm2\)"),
    ("recipe negative value", _params("imax = -1.0"), recipe.RecipeError,
     r"kcc2\.imax = -1 mA/cm2 is outside its allowed range \[0, 1000\] mA/cm2"),
    ("recipe NaN value", _params("imax = nan"), recipe.RecipeError,
     r"kcc2\.imax must be finite, got nan"),
    ("recipe infinite value", _params("imax = inf"), recipe.RecipeError,
     r"kcc2\.imax must be finite, got inf"),
    ("recipe value overflowing in its unit", _params('imax = "1e400 uA/cm2"'),
     recipe.RecipeError, r"kcc2\.imax must be finite, got inf \(given as '1e400 uA/cm2'\)"),
    ("recipe boolean value", _params("imax = true"), recipe.RecipeError,
     r"kcc2\.imax: expected a number in mA/cm2 or a string 'value unit', got bool True"),
    ("recipe unknown function of position",
     _params('imax = { function = "exp", at0 = 0.05, length_um = 200.0 }'), recipe.RecipeError,
     r"rule 1 \(line 2\): 'kcc2' in region 'all': kcc2\.imax: unknown function 'exp'\. "
     r"Did you mean 'exponential'\? Functions \(fields\): linear \(at0, slope\)"),
    ("recipe function with a length <= 0",
     _params('imax = { function = "exponential", at0 = 0.05, length_um = 0.0 }'),
     recipe.RecipeError, r"kcc2\.imax \(exponential\): length_um = 0\.0: a length must be > 0 "
                         r"um \(e\.g\. length_um = 100\.0, in um\)"),
    ("recipe function slope not per length",
     _params('imax = { function = "linear", at0 = 0.05, slope = "1 uA/cm2 per s" }'),
     recipe.RecipeError, r"kcc2\.imax \(linear\): slope = '1 uA/cm2 per s': 'per s' is not per "
                         r"length; write per m, per mm, per um, per nm"),
    ("recipe params not a table", _toml(_RULE + "params = 5\n"), recipe.RecipeError,
     r"params must be a table \{name = value\}, got 5"),
    ("recipe unknown region name", _toml(_RULE.replace('"all"', '"dendrit"')),
     recipe.RecipeError, r"bad region: region 'dendrit', column 1: unknown name 'dendrit'\. "
                         r"Did you mean 'dendrite'\? Region names: soma, "),
    ("recipe region not a string", _toml(_RULE.replace('"all"', "5")), recipe.RecipeError,
     r"bad region: a region must be a string such as 'apical & distance > 100'"),
    ("recipe rule without region", _toml('[[rules]]\nmechanism = "kcc2"\n'), recipe.RecipeError,
     r"x\.toml: rule 1 \(line 2\): 'region' is missing"),
    ("recipe misspelt rule key", _toml(_RULE + "param = { imax = 0.05 }\n"), recipe.RecipeError,
     r"unknown key 'param'\. Did you mean 'params'\? Allowed: region, mechanism, optional, "
     r"params, note"),
    ("recipe misspelt top-level key", _toml("temperature = 37.0\n" + _RULE), recipe.RecipeError,
     r"unknown key 'temperature'\. Allowed: name, description, sources, celsius"),
    ("recipe without rules", _toml(""), recipe.RecipeError, r"x\.toml: 'rules' is missing"),
    ("recipe rules as one table", _toml(_RULE.replace("[[rules]]", "[rules]")),
     recipe.RecipeError, r"'rules' must be an array of tables: start each rule with its own "
                         r"\[\[rules\]\] header"),
    ("recipe celsius in kelvin", _toml("celsius = 310.15\n" + _RULE), recipe.RecipeError,
     r"celsius = 310\.15 must be a temperature in degC between 0 and 50 \(not kelvin\)"),
    ("recipe point process", _toml(_RULE.replace("kcc2", "GabaA")), recipe.RecipeError,
     r"GabaA is a point process .*ionhomeo\.mechanisms\.add_point\(segment, 'GabaA'\)"),
    ("recipe GLOBAL parameter per region", _toml(_RULE + "params = { kmcl = 6.0 }\n"),
     recipe.RecipeError, r"kcc2\.kmcl is a GLOBAL parameter .*set it under \[globals\.kcc2\]"),
    ("recipe RANGE parameter as a global", _toml("[globals.kcc2]\nimax = 0.05\n" + _RULE),
     recipe.RecipeError, r"kcc2\.imax is a RANGE parameter \(per segment\); set it in a rule's "
                         r"params"),
    ("recipe globals of an unknown mechanism", _toml("[globals.kcc3]\nkmcl = 6.0\n" + _RULE),
     recipe.RecipeError, r"\[globals\.kcc3\]: unknown mechanism 'kcc3'\. Did you mean 'kcc2'"),
    ("passive rule without values", _toml('[[passive]]\nregion = "all"\n' + _RULE),
     recipe.RecipeError, r"passive rule 1: .*give Ra \(ohm cm\) and/or cm \(uF/cm2\)"),
    ("passive rule negative Ra", _toml('[[passive]]\nregion = "all"\nRa = -1.0\n' + _RULE),
     recipe.RecipeError, r"passive\.Ra = -1 ohm cm is outside its allowed range \[1, 100000\]"),
    ("passive rule cm in mV", _toml('[[passive]]\nregion = "all"\ncm = "1 mV"\n' + _RULE),
     recipe.RecipeError, r"unit 'mV' does not convert to uF/cm2.*Accepted: F/m2, uF/cm2"),
    # fixed: a TypeError from iterating the number
    ("Recipe with rules a number", lambda _: lambda: recipe.Recipe(name="x", rules=5),
     recipe.RecipeError, r"recipe 'x': rules must be a non-empty list of rules \(each: region, "
                         r"mechanism, params\)"),
    # fixed: a TypeError from difflib
    ("Rule with a parameter name not a string",
     lambda _: lambda: recipe.Rule("all", "kcc2", {1: 0.05}), recipe.RecipeError,
     r"parameter names must be strings, got int 1\. Parameters of kcc2: imax, "),
    # fixed: dataclasses' TypeError "unexpected keyword argument"
    ("Recipe.replace of a misspelt field",
     lambda _: lambda: presets.load("mature").replace(nme="mine"), recipe.RecipeError,
     r"replace\(\) got 'nme', which is not a field of a recipe\. Did you mean 'name'\? Fields: "),
    # fixed: "recipe file matur does not exist", no word of the presets
    ("recipe misspelt preset", lambda _: lambda: recipe.resolve("matur"), recipe.RecipeError,
     r"recipe 'matur' is neither a preset nor an existing file\. Did you mean 'mature'\? "
     r"Presets: immature, mature \(protocol models: added-buffer, "),
    # fixed: a TypeError from Path()
    ("recipe given as a number", lambda _: lambda: recipe.resolve(5), recipe.RecipeError,
     r"a recipe is a Recipe, a preset name or a TOML file path; got int 5\. Presets: immature, "
     r"mature \(protocol models: "),
    # fixed: an IsADirectoryError from the atomic rename
    ("recipe saved onto a directory", _recipe_onto_directory, recipe.RecipeError,
     r"cannot save recipe 'x' to .*: it is a directory; give a file name, e\.g\. .*x\.toml"),
    ("unknown preset", lambda _: lambda: presets.load("imature"), recipe.RecipeError,
     r"unknown preset 'imature'\. Did you mean 'immature'\? Presets: immature, mature "
     r"\(protocol models: "),
    ("swap to an unknown mechanism",
     lambda _: lambda: presets.load("mature").swap_mechanism("kcc2", "kcc3"), recipe.RecipeError,
     r"swapping kcc2 for kcc3: unknown mechanism 'kcc3'\. Did you mean 'kcc2'"),
]

# -- regions ---------------------------------------------------------------------

CASES += [
    ("region with 'and'", lambda _: lambda: regions.parse("soma and apical"),
     regions.RegionError, r"column 6: unexpected 'and'.*Use '&' instead of 'and'"),
    ("region parenthesis never closed", lambda _: lambda: regions.parse("(soma | axon"),
     regions.RegionError, r"column 1: this '\(' is never closed: add '\)'"),
    ("region negative distance", lambda _: lambda: regions.parse("distance > -5"),
     regions.RegionError, r"unexpected character '-'\. Distances and diameters are >= 0, "
                          r"written without a sign"),
    ("region distance in mm", lambda _: lambda: regions.parse("distance > 100 mm"),
     regions.RegionError, r"distance is in um; 'mm' is not a unit it accepts \(write the "
                          r"number in um"),
    ("region compared with ==", lambda _: lambda: regions.parse("distance == 100"),
     regions.RegionError, r"must be followed by <, <=, > or >= .*Use <, <=, > or >= instead "
                          r"of '=='"),
    ("region bound beyond a float", lambda _: lambda: regions.parse("distance > 1e400"),
     regions.RegionError, r"distance > inf: the value must be a finite number of um, >= 0"),
    # fixed: parsed, then selected nothing in every cell
    ("region distance below zero", lambda _: lambda: regions.parse("apical & distance < 0"),
     regions.RegionError, r"distance < 0 selects nothing: a distance is never below 0 um; give "
                          r"a positive bound"),
    ("regions.diameter below zero", lambda _: lambda: regions.diameter(max_um=0),
     regions.RegionError, r"diameter < 0 selects nothing: a diameter is never below 0 um"),
    ("region diameter <= 0", lambda _: lambda: regions.parse("diameter <= 0"),
     regions.RegionError, r"diameter <= 0 selects nothing: a diameter is never 0 um or less"),
    ("regions.distance with min above max", lambda _: lambda: regions.distance(100, 50),
     regions.RegionError, r"distance\(min_um=100, max_um=50\) selects nothing: min_um must be "
                          r"smaller than max_um"),
]

# -- morphologies ----------------------------------------------------------------

_SOMA = "1 1 0 0 0 5 -1\n"


def _swc(text: str, **kw):
    """Factory: morphology.load of cell.swc holding ``text``."""
    def factory(tmp_path):
        path = tmp_path / "cell.swc"
        path.write_text(text)
        return lambda: morphology.load(path, **kw)
    return factory


def _asc(text: str):
    def factory(tmp_path):
        path = tmp_path / "cell.asc"
        path.write_text(text)
        return lambda: morphology.load(path)
    return factory


class _Owner:
    """What Import3d builds a cell into."""


def _changed_after_load(tmp_path):
    path = tmp_path / "cell.swc"
    path.write_text(_SOMA + "2 3 0 10 0 1 1\n")
    morph = morphology.load(path)
    path.write_text(_SOMA + "2 3 0 20 0 1 1\n")
    return lambda: morphology.instantiate(morph, _Owner())


def _discretized(**kw):
    def factory(tmp_path):
        from neuron import h

        sec = h.Section(name="soma")
        sec.L = sec.diam = 20.0
        return lambda: morphology.discretize([sec], **kw)
    return factory


CASES += [
    ("SWC empty", _swc(""), morphology.MorphologyError,
     r"cell\.swc line 1: no points found: the file is empty or holds only comments; an SWC "
     r"file needs one line per point \(id type x y z radius parent\)"),
    ("SWC comma separated", _swc("1,1,0,0,0,5,-1\n"), morphology.MorphologyError,
     r"line 1: expected 7 fields \(id type x y z radius parent\), found 1: .*fix the line or "
     r"comment it out with '#'"),
    ("SWC missing parent", _swc(_SOMA + "2 3 0 10 0 1 7\n"), morphology.MorphologyError,
     r"line 2: parent 7 of point 2 is not defined anywhere in the file; fix the parent id or "
     r"add the missing point"),
    ("SWC parents in a loop", _swc(_SOMA + "2 3 0 10 0 1 3\n3 3 0 20 0 1 2\n"),
     morphology.MorphologyError, r"line 2: point 2 is not connected to the root \(its parents "
                                 r"form a loop\); fix the parent ids"),
    ("SWC negative radius", _swc(_SOMA + "2 3 0 10 0 -1 1\n"), morphology.MorphologyError,
     r"line 2: negative radius -1 um at point 2; NEURON needs a positive diameter: put the "
     r"traced radius there"),
    ("SWC NaN coordinate", _swc(_SOMA + "2 3 nan 10 0 1 1\n"), morphology.MorphologyError,
     r"line 2: x 'nan' is not a finite number \(fields: id type x y z radius parent\); fix the "
     r"value"),
    ("SWC duplicate id", _swc(_SOMA + "2 3 0 10 0 1 1\n2 3 0 20 0 1 1\n"),
     morphology.MorphologyError, r"line 3: duplicate id 2 \(first defined at line 2\); every "
                                 r"point needs a unique id"),
    ("SWC two roots", _swc(_SOMA + "2 3 0 10 0 1 -1\n"), morphology.MorphologyError,
     r"line 2: a second root .*connect this point to its parent, or split the file into one "
     r"file per tree"),
    ("SWC unknown type code", _swc(_SOMA + "2 7 0 10 0 1 1\n"), morphology.MorphologyError,
     r"unknown SWC type code 7 at point 2 .*map it, e\.g\. load\(path, type_map=\{7: 'dend'\}\)"),
    ("SWC without soma", _swc("1 3 0 0 0 5 -1\n2 3 0 10 0 1 1\n"), morphology.MorphologyError,
     r"no soma point: .*add the soma or map its code"),
    # fixed: loaded, then NaN nseg ("cannot convert float NaN to integer") in Cell
    ("SWC coordinate beyond any cell", _swc(_SOMA + "2 3 0 1e300 0 1 1\n"),
     morphology.MorphologyError, r"line 2: y 1e300 um at point 2 is more than 1e\+07 um \(10 "
                                 r"m\) from the origin, beyond any cell: give coordinates in um"),
    ("SWC radius of a planet", _swc("1 1 0 0 0 1e300 -1\n"), morphology.MorphologyError,
     r"line 1: radius 1e300 um at point 1 is outside 0\.001\.\.10000 um \(1 nm to 1 cm\), no "
     r"neurite's radius: give radii in um"),
    # fixed: a ValueError from lambda_f_um ("diameter <= 0") when building the cell
    ("SWC radius below a membrane", _swc(_SOMA + "2 3 0 10 0 1e-300 1\n"),
     morphology.MorphologyError, r"line 2: radius 1e-300 um at point 2 is outside "
                                 r"0\.001\.\.10000 um"),
    ("SWC type mapped to a non-type", _swc(_SOMA, type_map={5: "dendrite"}),
     morphology.MorphologyError, r"type_map\[5\] = 'dendrite' is not a section type; use one "
                                 r"of \('soma', 'axon', 'dend', 'apic'\) \(did you mean 'dend'"),
    ("ASC truncated", _asc('("CellBody"\n (CellBody)\n (0 0 0 1)\n'), morphology.MorphologyError,
     r"cell\.asc line 1: '\(' opened here is never closed .*the file looks truncated: export "
     r"it again or add the missing '\)'"),
    ("ASC syntax error", _asc("((CellBody)\n (0 0 abc 1)\n (1 0 0 1)\n)\n"),
     morphology.MorphologyError, r"cell\.asc line 2: Neurolucida parse error at '\(0 0 abc "
                                 r"1\)'; fix the syntax there"),
    ("ASC without soma", _asc("((Dendrite)\n (0 0 0 1)\n (0 10 0 1)\n)\n"),
     morphology.MorphologyError, r"no soma: the file has no \(CellBody\) contour; add the soma "
                                 r"outline"),
    ("NeuroML file", lambda tmp: lambda: morphology.load(tmp / "cell.nml"),
     morphology.MorphologyError, r"unsupported file type '\.nml': ionhomeo reads SWC \(\.swc\) "
                                 r"and Neurolucida ASC \(\.asc\); convert other formats"),
    # fixed: a TypeError from Path()
    ("morphology given as None", lambda _: lambda: morphology.load(None),
     morphology.MorphologyError, r"a morphology is the path of an \.swc or \.asc file, got "
                                 r"NoneType None"),
    # fixed: "unsupported file type ''"
    ("morphology misspelt bundled name", lambda _: lambda: morphology.load("pyramid"),
     morphology.MorphologyError, r"pyramid: no such file; give an \.swc or \.asc file, or the "
                                 r"name of a cell shipped with ionhomeo .*\(did you mean "
                                 r"'pyramidal'\?\)"),
    # fixed: a plain ValueError
    ("bundled() misspelt", lambda _: lambda: morphology.bundled("pyramid"),
     morphology.MorphologyError, r"no bundled morphology 'pyramid': choose one of .*did you "
                                 r"mean 'pyramidal'\?"),
    ("morphology changed after load", _changed_after_load, morphology.MorphologyError,
     r"cell\.swc: the file changed since morphology\.load\(\); call load\(\) again"),
    # fixed: NEURON's "nseg must be an integer in range 1 to 32767" ValueError
    ("d_lambda asking for too many segments", _discretized(d_lambda=1e-9),
     morphology.MorphologyError, r"section soma \(L 20 um, diam 20 um\) would need .* segments "
                                 r"by the d_lambda rule .*more than the 32767 NEURON allows in a "
                                 r"section: use a larger d_lambda"),
    # fixed: a ZeroDivisionError
    ("d_lambda at an infinite frequency", _discretized(frequency_hz=math.inf),
     morphology.MorphologyError, r"frequency_hz must be a finite number > 0 Hz \(100 Hz is "
                                 r"NEURON's d_lambda default\), got inf"),
]

# -- cells -----------------------------------------------------------------------


def _cell():
    return Cell("ball_and_stick", "mature")


def _destroyed_cell(then):
    def factory(tmp_path):
        cell = _cell()
        cell.destroy()
        return lambda: then(cell)
    return factory


def _two_ca_owners(tmp_path):
    cell = _cell()  # the mature preset places cabuf, the lean Ca owner, everywhere
    rec = presets.load("mature").add("soma", "cadyn")
    return lambda: rec.apply(cell)


CASES += [
    # fixed: "unsupported file type ''" (the CLI's --morphology goes here too)
    ("Cell of a misspelt bundled cell", lambda _: lambda: Cell("pyramid"),
     morphology.MorphologyError, r"no such file; .*\(did you mean 'pyramidal'\?\)"),
    # fixed: a ValueError from float('x') after the morphology was read
    ("Cell with d_lambda as text", lambda _: lambda: Cell("ball_and_stick", d_lambda="x"),
     CellError, r"Cell\(d_lambda='x'\): d_lambda must be a finite number > 0 \(usually 0\.1"),
    # fixed: a ZeroDivisionError in the d_lambda rule
    ("Cell at an infinite frequency",
     lambda _: lambda: Cell("ball_and_stick", frequency_hz=math.inf), CellError,
     r"frequency_hz must be a finite number > 0 \(usually 100 Hz"),
    ("destroyed Cell asked for segments", _destroyed_cell(lambda c: c.segments("soma")),
     CellError, r"was destroyed \(Cell\.destroy\): its sections are gone; build a new Cell"),
    # fixed: applied to nothing, silently (21 "selects no segment" warnings)
    ("recipe applied to a destroyed Cell",
     _destroyed_cell(lambda c: presets.load("mature").apply(c)), CellError,
     r"was destroyed \(Cell\.destroy\)"),
    # fixed: a RegionError about 'sections_by_type'
    ("recipe applied to a number", lambda _: lambda: presets.load("mature").apply(5),
     recipe.RecipeError, r"recipe 'mature' can be applied to a cell \(an ionhomeo\.cell\.Cell, "
                         r"or an object with sections_by_type, all and soma_center\), not to "
                         r"int 5"),
    ("two owners of one concentration", _two_ca_owners, recipe.RecipeError,
     r"rule 34: cadyn would go into .*soma\[0\], which already has cabuf; both write cai, and "
     r"a concentration can have one owner\. Place one of them per region"),
]

# -- mechanisms through the Python API -------------------------------------------


def _section(mechs=(), **params):
    from neuron import h

    from cells import compartment

    return compartment(h, mechs, **params)


def _deleted_section():
    from neuron import h

    sec = h.Section(name="gone")
    seg = sec(0.5)
    h.delete_section(sec=sec)
    return sec, seg


CASES += [
    # fixed: NEURON crashed the process (Segmentation fault) on h.GabaA(None)
    ("point process at None", lambda _: lambda: mechanisms.add_point(None, "GabaA"),
     mechanisms.PlacementError, r"add_point\(\.\.\., 'GabaA'\) needs a segment such as "
                                r"soma\(0\.5\), got NoneType None"),
    # fixed: hoc_execerror "not a Python nrn.Segment"
    ("point process on a section", lambda _: (lambda s: lambda: mechanisms.add_point(
        s, "GabaA"))(_section()), mechanisms.PlacementError,
     r"needs a segment, a place on a section such as soma\(0\.5\), got the section soma"),
    # fixed: AttributeError "'str' object has no attribute 'insert'"
    ("mechanism inserted into a name", lambda _: lambda: mechanisms.insert("soma", "kcc2"),
     mechanisms.PlacementError, r"insert\(\.\.\., 'kcc2'\) needs a NEURON section such as "
                                r"h\.Section\(name='soma'\), got str 'soma'"),
    # fixed: ReferenceError "can't access a deleted section"
    ("mechanism inserted into a deleted section",
     lambda _: (lambda s: lambda: mechanisms.insert(s, "kcc2"))(_deleted_section()[0]),
     mechanisms.PlacementError, r"the section was deleted \(h\.delete_section or "
                                r"Cell\.destroy\); build it again"),
    # fixed: TypeError "'int' object is not iterable" from difflib
    ("mechanism name a number", lambda _: lambda: mechanisms.get(5),
     mechanisms.UnknownMechanismError, r"a mechanism name must be a string such as 'kcc2', "
                                       r"got int 5"),
    ("parameter out of range through the API",
     lambda _: (lambda s: lambda: mechanisms.insert(s, "kcc2", imax=1e9))(_section()),
     mechanisms.ParameterError, r"kcc2\.imax = 1e\+09 mA/cm2 is outside its allowed range "
                                r"\[0, 1000\] mA/cm2"),
    ("RANGE parameter set as a global", lambda _: lambda: mechanisms.set_globals("kcc2", imax=1),
     mechanisms.ParameterError, r"kcc2\.imax is a range parameter \(per segment\); pass it to "
                                r"insert\(\)"),
    ("GLOBAL set to NaN", lambda _: lambda: mechanisms.set_globals("kcc2", kmcl=math.nan),
     mechanisms.ParameterError, r"kcc2\.kmcl must be finite, got nan"),
    ("units of a variable a mechanism lacks", lambda _: lambda: mechanisms.units("foo_kcc2"),
     mechanisms.UnknownVariableError, r"kcc2 has no variable 'foo' \('foo_kcc2'\)\..* Its "
                                      r"variables: "),
]

# -- recording -------------------------------------------------------------------

_RESTING = ("nadyn", "kdyn", "cldyn", "nakpump", "naleak", "kleak", "clleak", "kcc2")


def _recording_at(variable, **kw):
    def factory(tmp_path):
        sec = _section(_RESTING)
        return lambda: recording.Recorder().record(variable, at=sec(0.5), **kw)
    return factory


def _recorded_after_initialising(tmp_path):
    from neuron import h

    sec = _section(_RESTING)
    rec = recording.Recorder()
    rec.record("v", at=sec(0.5))
    h.finitialize(-65.0)
    rec.record("nai", at=sec(0.5))
    return rec.dataframe


CASES += [
    # fixed: AttributeError "'int' object has no attribute 'segments'" at record()
    ("Recorder of a non-cell", lambda _: lambda: recording.Recorder(5), recording.RecordingError,
     r"Recorder\(cell\) needs a cell with a segments\(region\) method .*got int 5"),
    # fixed: ReferenceError "can't access a deleted section"
    ("recording at a deleted section",
     lambda _: (lambda s: lambda: recording.Recorder().record("v", at=s))(_deleted_section()[1]),
     recording.RecordingError, r"cannot record 'v' at .*: its section was deleted .*record at "
                               r"a segment of a section that exists"),
    ("recording a variable that does not exist", _recording_at("vv"), recording.RecordingError,
     r"unknown variable 'vv' at soma\(0\.5\)\. Did you mean 'v'\? Recordable there: v; "),
    ("recording Ca where there is none", _recording_at("cai"), recording.RecordingError,
     r"no mechanism there uses the ion 'ca'\. Ions there: cl, k, na\. Insert a mechanism that "
     r"uses ca"),
    ("recording a GLOBAL parameter", _recording_at("kmna_nakpump"), recording.RecordingError,
     r"kmna is a GLOBAL parameter of nakpump, one value for every segment \(h\.kmna_nakpump\), "
     r"not a range variable"),
    ("recording at and region both", _recording_at("v", region="soma"), recording.RecordingError,
     r"needs exactly one of at=<segment> \(e\.g\. soma\(0\.5\)\) or region="),
    ("recording at a section",
     lambda _: (lambda s: lambda: recording.Recorder().record("v", at=s))(_section()),
     recording.RecordingError, r"at= must be a segment such as soma\(0\.5\), got a section"),
    ("trace never recorded", lambda _: lambda: recording.Recorder().trace("v", "soma(0.5)"),
     recording.RecordingError, r"'v' at 'soma\(0\.5\)' was not recorded; recorded: \(nothing\)"),
    ("recorded after initialising", _recorded_after_initialising, recording.RecordingError,
     r"'nai' at 'soma\(0\.5\)' has no samples: it was recorded after the simulation was "
     r"initialised.*call record\(\) before initialising"),
]

# -- running ---------------------------------------------------------------------


def _run_from(t_ms, *args, **kw):
    def factory(tmp_path):
        from neuron import h

        h.finitialize(-65.0)
        h.t = t_ms
        return lambda: simulate.run(*args, **kw)
    return factory


CASES += [
    ("run to NaN", lambda _: lambda: simulate.run(math.nan), simulate.SimulationError,
     r"tstop_ms must be a finite number, got nan"),
    ("run backwards", _run_from(5.0, 1.0), simulate.SimulationError,
     r"tstop_ms = 1 ms is before the current time t = 5 ms: run\(\) continues, it does not go "
     r"back; initialise again to start over"),
    ("run with dt 0", lambda _: lambda: simulate.run(10.0, method="fixed", dt_ms=0),
     simulate.SimulationError, r"dt_ms must be > 0, got 0"),
    # fixed: these ran for ever (t + dt == t), ended at t = 0 or past the end, or never ended
    ("run with dt 1e-300", lambda _: lambda: simulate.run(1.0, method="fixed", dt_ms=1e-300),
     simulate.SimulationError, r"dt_ms = 1e-300 ms is outside 1e-09\.\.1e\+09 ms: choose a step"),
    ("run with dt longer than the run", _run_from(0.0, 20.0, method="fixed", dt_ms=30.0),
     simulate.SimulationError, r"dt_ms = 30 ms is longer than the run, 20 ms .*a fixed step "
                               r"would end at 30 ms; choose dt_ms <= 20 ms"),
    ("run to 1e300 ms", lambda _: lambda: simulate.run(1e300), simulate.SimulationError,
     r"tstop_ms = 1e\+300 ms is beyond 1e\+10 ms .*run a shorter span"),
    ("run with an unknown method", lambda _: lambda: simulate.run(10.0, method="euler"),
     simulate.SimulationError, r"method must be one of 'cvode', 'fixed', got 'euler'"),
    ("played times and values unequal",
     lambda _: (lambda s: lambda: simulate.play(s(0.5)._ref_v, [0.0, 1.0], [1.0]))(_section()),
     simulate.SimulationError, r"play needs as many times as values \(got 2 and 1\)"),
]

# -- steady state and numerics ---------------------------------------------------


def _solving(mechs=_RESTING, solver="solve_cell", sections=None, params=None, **kw):
    def factory(tmp_path):
        sec = _section(mechs, **(params or {}))
        given = [sec] if sections is None else sections
        return lambda: getattr(steady, solver)(given, **kw)
    return factory


CASES += [
    # fixed: hoc_execerror "bad stack access: expecting double"
    ("steady v_guess as text", _solving(solver="solve", v_guess="x"), steady.SteadyStateError,
     r"v_guess must be a membrane potential in mV between -200 and 200 \(such as -70\), got 'x'"),
    # fixed: "no steady state found (largest residual current nan ...)"
    ("steady v_guess NaN", _solving(solver="solve", v_guess=math.nan), steady.SteadyStateError,
     r"v_guess must be a membrane potential in mV .*got nan"),
    # fixed: tol_v = 0 made every state "converged" (NaN weights), silently
    ("steady tolerance zero", _solving(tol_v=0), steady.SteadyStateError,
     r"tol_v must be a finite number > 0 \(mV/ms\), got 0: it is the largest rate accepted"),
    # fixed: a negative tol_rel made every state "converged", silently
    ("steady negative tolerance", _solving(tol_rel=-1e-10), steady.SteadyStateError,
     r"tol_rel must be a finite number > 0 \(1/ms\), got -1e-10"),
    ("steady max_iter negative", _solving(max_iter=-1), steady.SteadyStateError,
     r"max_iter must be a whole number of steps >= 0 \(default 200\), got -1"),
    # fixed: AttributeError "'int' object has no attribute 'sec'"
    ("steady reference not a segment", _solving(reference=5), steady.SteadyStateError,
     r"reference must be a segment such as soma\(0\.5\), got int 5"),
    # fixed: TypeError "solve_cell() got an unexpected keyword argument 'tol'"
    ("steady start with a misspelt option", _solving(solver="start", tol=1e-8),
     steady.SteadyStateError, r"start\(\) got unknown option\(s\) tol; its options: fixed, "
                              r"reference, tol_v, tol_rel, max_iter"),
    # fixed: TypeError "'int' object is not iterable"
    ("steady start of a number", lambda _: lambda: steady.start(5), steady.SteadyStateError,
     r"start\(\) takes NEURON sections \(a list, a SectionList or one section\); got int 5"),
    ("steady held ion not dynamic", _solving(solver="solve", fixed=("ca",)),
     steady.SteadyStateError, r"fixed ion\(s\) \['ca'\] are not dynamic here; dynamic ions: "
                              r"\['na', 'k', 'cl'\]"),
    ("steady without owners", _solving(mechs=("naleak", "kleak")), steady.SteadyStateError,
     r"no dynamic concentrations: insert concentration owners first"),
    ("steady with kext", _solving(mechs=_RESTING + ("kext",)), steady.SteadyStateError,
     r"has kext: extracellular K dynamics are not part of the whole-cell steady state; solve "
     r"without kext, then insert it"),
    ("steady Na/K pump switched off", _solving(params={"nakpump": {"imax": 0.0}}),
     steady.SteadyStateError, r"not physical: nai \d+\.?\d* mM in soma\(0\.5\) \(above the "
                              r"bath's .*there: nakpump imax 0; no ncx\)\. Its ions are not "
                              r"extruded: check that the pumps .* rates above zero"),
    ("steady Na leak beyond the pump", _solving(params={"naleak": {"pna": 1e-2}}),
     steady.SteadyStateError, r"not physical: nai .*there: nakpump imax 0\.004"),
    # fixed: the message blamed the extrusion of ions, not the missing leaks
    ("steady without leaks", _solving(mechs=("nadyn", "kdyn", "cldyn", "nakpump")),
     steady.SteadyStateError, r"not physical: v -1\d\d\.?\d* mV in soma\(0\.5\) \(outside "
                              r"-150\.\.80 mV; no naleak, kleak, clleak\)\. .*Check that the "
                              r"leaks \(naleak, kleak, clleak\) are inserted"),
]

# -- defaults --------------------------------------------------------------------

CASES += [
    # fixed: AttributeError "'int' object has no attribute 'celsius'" (after loading)
    ("defaults applied from a number", lambda _: lambda: defaults.apply(5),
     defaults.DefaultsError, r"apply\(\) takes a Defaults instance, such as "
                             r"Defaults\(cli=25\.0\), or None for the standard ones; got int 5"),
    # fixed: the celsius set, then a TypeError: the class instead of an instance
    ("defaults applied from the class", lambda _: lambda: defaults.apply(defaults.Defaults),
     defaults.DefaultsError, r"apply\(\) takes a Defaults instance"),
    ("defaults in kelvin", lambda _: lambda: defaults.Defaults(celsius=310.15),
     defaults.DefaultsError, r"Defaults\.celsius = 310\.15 degC is outside 0\.\.50 degC; give "
                             r"the temperature in degrees Celsius \(not kelvin\)"),
    ("defaults zero concentration", lambda _: lambda: defaults.Defaults(cli=0.0),
     defaults.DefaultsError, r"Defaults\.cli = 0\.0 mM: concentrations must be > 0 mM"),
    ("unknown default", lambda _: lambda: defaults.Defaults().replace(clx=5.0),
     defaults.UnknownDefaultError, r"unknown default\(s\) \['clx'\]; known: \['celsius', "),
    # fixed: a TypeError "argument after ** must be a mapping"
    ("defaults from a list", lambda _: lambda: defaults.Defaults.from_dict([("cli", 5.0)]),
     defaults.DefaultsError, r"Defaults\.from_dict takes a dict \{name: value\} such as "
                             r"\{'cli': 25\.0\}, got list"),
]

# -- compile cache and build -----------------------------------------------------


def _compiling(tmp_path):
    folder = tmp_path / "mod"
    folder.mkdir()
    (folder / "broken.mod").write_text("NEURON { SUFFIX broken }\nBREAKPOINT { x = \n")

    def call():
        saved = os.environ.get("IONHOMEO_CACHE")
        os.environ["IONHOMEO_CACHE"] = str(tmp_path / "cache")
        try:
            build.compile_mechanisms(folder)
        finally:
            if saved is None:
                del os.environ["IONHOMEO_CACHE"]
            else:
                os.environ["IONHOMEO_CACHE"] = saved
    return call


CASES += [
    ("compile a folder without mod files", lambda tmp: lambda: build.compile_mechanisms(tmp),
     build.BuildError, r"no \*\.mod files in "),
    ("compile a broken mod file", _compiling, build.CompileError,
     r"(?s)compiling the NMODL mechanisms in .*mod failed \(exit status \d+\)\..*Illegal block at "
     r"line 2 in file broken\.mod"),
]

# -- the command line ------------------------------------------------------------


class CommandLineExit(Exception):
    """How ``cli.main`` ended: ``exit <status>: <what it wrote to stderr>``."""


def _cli(*argv):
    """Factory: ``ionhomeo ARGV`` in this process ({tmp} is the test's folder); raises
    CommandLineExit with the exit status and stderr, having checked there is no traceback."""
    def factory(tmp_path):
        args = [a.format(tmp=tmp_path) for a in argv]

        def call():
            err = io.StringIO()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                try:
                    status = cli.main(args)
                except SystemExit as end:
                    status = end.code
            text = err.getvalue()
            assert "Traceback" not in text, text
            assert status != 0, text
            raise CommandLineExit(f"exit {status}: {text}")
        return call
    return factory


def _cli_file(name, text, *argv):
    inner = _cli(*argv)

    def factory(tmp_path):
        (tmp_path / name).write_text(text)
        return inner(tmp_path)
    return factory


_OUT = ("--out", "{tmp}/out")

CASES += [
    ("cli without a command", _cli(), CommandLineExit,
     r"(?s)^exit 2: .*ionhomeo: error: the following arguments are required: COMMAND"),
    ("cli unknown command", _cli("frobnicate"), CommandLineExit,
     r"(?s)^exit 2: .*error: argument COMMAND: invalid choice: 'frobnicate' \(choose from"),
    ("cli unknown option", _cli("run", "rest", "--bogus"), CommandLineExit,
     r"(?s)^exit 2: .*error: unrecognized arguments: --bogus"),
    ("cli --format of a kind no command writes", _cli("run", "rest", "--format", "xls"),
     CommandLineExit, r"(?s)^exit 2: .*error: argument --format: invalid choice: 'xls' "
                      r"\(choose from '?csv'?, '?parquet'?\)"),
    ("cli --recipe without a file", _cli("run", "rest", "--recipe"), CommandLineExit,
     r"(?s)^exit 2: .*ionhomeo run: error: argument --recipe: expected one argument"),
    ("cli --duration infinite", _cli("run", "rest", "--duration", "inf"), CommandLineExit,
     r"(?s)^exit 2: .*argument --duration: must be a positive number of seconds, got 'inf'"),
    ("cli unknown protocol", _cli("run", "nosuch", *_OUT), CommandLineExit,
     r"^exit 2: ionhomeo run: error: unknown protocol 'nosuch'; known protocols: .*rest"),
    # fixed: "recipe file matur does not exist"
    ("cli misspelt preset", _cli("run", "rest", "--recipe", "matur", *_OUT), CommandLineExit,
     r"^exit 2: ionhomeo run rest: error: recipe 'matur' is neither a preset nor an existing "
     r"file\. Did you mean 'mature'\?"),
    ("cli malformed recipe file", _cli_file("bad.toml", "name = \n", "run", "rest", "--recipe",
                                            "{tmp}/bad.toml", *_OUT), CommandLineExit,
     r"^exit 2: ionhomeo run rest: error: .*bad\.toml: malformed TOML: .*line 1"),
    ("cli broken morphology", _cli_file("bad.swc", "1 1 0 0 0 5\n", "run", "rest",
                                        "--morphology", "{tmp}/bad.swc", *_OUT),
     CommandLineExit, r"^exit 2: ionhomeo run rest: error: .*bad\.swc line 1: expected 7 "
                      r"fields"),
    # fixed: "unsupported file type ''"
    ("cli misspelt bundled morphology", _cli("run", "rest", "--morphology", "pyramid", *_OUT),
     CommandLineExit, r"^exit 2: ionhomeo run rest: error: .*no such file; .*\(did you mean "
                      r"'pyramidal'\?\)"),
    ("cli --out where nothing can be written", _cli("run", "rest", "--out", "/proc/ionhomeo"),
     CommandLineExit, r"^exit 2: ionhomeo run rest: error: cannot write results to "
                      r"/proc/ionhomeo: .*choose another --out"),
    ("cli run all with --duration", _cli("run", "all", "--duration", "5", *_OUT),
     CommandLineExit, r"^exit 2: ionhomeo run all: error: --morphology, --recipe, --duration, "
                      r"--set and --options apply to one protocol at a time"),
    # added-buffer and terminal-vs-soma apply a recipe without a morphology to
    # their own geometry now (tests/test_protocol_added_buffer.py,
    # tests/test_protocol_terminal_vs_soma.py), so no longer refuse it
    ("cli list of an unknown mechanism", _cli("list", "kcc3"), CommandLineExit,
     r"^exit 2: ionhomeo list: error: unknown mechanism 'kcc3'\. Did you mean 'kcc2'\?"),
    ("cli build of a folder without mod files", _cli("build", "--mod-dir", "{tmp}"),
     CommandLineExit, r"^exit 2: ionhomeo build: error: no \*\.mod files in "),
]


@pytest.mark.parametrize("duration", ["1e-12", "1e12", "0", "-5", "nan", "ten"])
def test_impossible_durations_are_refused_by_the_command_line(duration, capsys):
    """NEURON's own "Arg out of range" from deep in a run became an argument error."""
    with pytest.raises(SystemExit) as info:
        cli.main(["run", "rest", "--duration", duration, "--out", "unused"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --duration: " in err and "Traceback" not in err
    assert ("outside 0.001..1e+07 s" in err or "positive number of seconds" in err
            or "not a number" in err), err


def test_the_table_is_large_and_its_cases_distinct():
    assert len(CASES) >= 65
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case, factory, kind, pattern", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_a_clear_error(h, tmp_path, case, factory, kind, pattern):
    """``h``: NEURON with ionhomeo's mechanisms and defaults (the cases that
    build sections need it; its fixture checks that none is left behind)."""
    call = factory(tmp_path)
    with pytest.raises(kind, match=pattern) as info:
        call()
    # one of ionhomeo's own errors, never a bare ValueError, KeyError or hoc RuntimeError
    assert kind is CommandLineExit or type(info.value).__module__.startswith("ionhomeo."), \
        f"{case}: {type(info.value).__name__}"
    del info, call


# -- handled outcomes: not errors, each checked concretely --------------------------


def test_one_section_or_one_ion_name_is_taken_as_a_list_of_one(h):
    """``solve(soma)`` read the segments' mechanisms as sections and said "no
    dynamic concentrations"; ``fixed="na"`` held the ions 'n' and 'a'."""
    sec = _section(_RESTING)
    listed = steady.solve([sec], fixed=("na",))
    alone = steady.solve(sec, fixed="na")
    assert alone.fixed == ("na",) and alone.v == pytest.approx(listed.v, abs=1e-9)
    assert steady.solve_cell(sec).v[0] == pytest.approx(steady.solve_cell([sec]).v[0], abs=1e-9)


def test_a_repeated_recipe_rule_is_kept_and_changes_nothing(h):
    """Rules apply in order and later ones win, so the same rule twice is allowed
    (protocols add rules to presets) and gives the values of one."""
    once = presets.load("mature")
    twice = once.add("all", "kcc2", imax=0.05)
    count = [r.mechanism for r in once.rules].count("kcc2")
    assert [r.mechanism for r in twice.rules].count("kcc2") == count + 1
    assert recipe.Recipe.from_toml(twice.to_toml()) == twice
    cell = Cell("ball_and_stick", twice)
    assert {seg.kcc2.imax for seg in cell.segments()} == {0.05}
    cell.destroy()


def test_a_zero_length_dendrite_is_dropped_with_a_warning_naming_its_line(h, tmp_path):
    path = tmp_path / "stub.swc"
    path.write_text(_SOMA + "2 3 0 0 0 1 1\n")  # a dendrite point at the soma's centre
    with pytest.warns(UserWarning, match=r"stub\.swc: Import3d: Two point section ending at "
                                         r"line 2 with 0 length has been removed"):
        cell = Cell(path)
    assert [len(secs) for secs in cell.sections_by_type.values()] == [1, 0, 0, 0]
    cell.destroy()


# -- interrupted runs ----------------------------------------------------------------


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


def test_a_steady_state_solve_interrupted_by_ctrl_c_leaves_neuron_as_it_was(h, monkeypatch):
    """The solver skips the defaults' handler and switches CVODE on while it
    works: Ctrl-C in the middle must undo both, and the next solve works."""
    sec = _section(_RESTING)
    monkeypatch.setattr(steady, "_local_rest", _interrupt)
    with pytest.raises(KeyboardInterrupt):
        steady.solve_cell([sec])
    assert h.ionhomeo_init_skip == 0
    assert not h.CVode().active()
    monkeypatch.undo()
    assert steady.solve_cell([sec]).residual_v < 1e-7


@pytest.mark.parametrize("where", ["discretize", "apply"])
def test_a_cell_build_interrupted_by_ctrl_c_leaves_no_sections(h, monkeypatch, where):
    import gc

    gc.collect()
    before = len(list(h.allsec()))
    if where == "discretize":
        monkeypatch.setattr(morphology, "discretize", _interrupt)
    else:
        monkeypatch.setattr(recipe.Recipe, "apply", _interrupt)
    with pytest.raises(KeyboardInterrupt):
        Cell("ball_and_stick")
    gc.collect()
    assert len(list(h.allsec())) == before


def _sigint_here():
    """Send this process SIGINT: Python handles it before the next bytecode,
    that is inside the Python callback NEURON is running."""
    os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.parametrize("method", ["cvode", "fixed"])
def test_ctrl_c_that_lands_in_a_neuron_callback_still_ends_the_run(h, method):
    """This is how a Ctrl-C of `ionhomeo run all` was lost: the interrupt,
    raised inside a Python callback that NEURON called (here a CVODE event at
    1 ms), was printed and swallowed by NEURON, and the run went on."""
    from ionhomeo import simulate

    sec = _section(_RESTING)
    try:
        h.finitialize(-65)
        h.CVode().event(1.0, _sigint_here)  # fixed step delivers events too
        with pytest.raises(KeyboardInterrupt):
            simulate.run(50.0, method=method, chunks=10)
        # fixed step: stdrun's continuerun stops at the next step; CVODE's
        # solve has no stop flag and ends at its chunk's end (5 ms)
        assert h.t <= (1.0 + 2 * h.dt if method == "fixed" else 5.0 + 1e-9)
        # without the guard NEURON swallows it: what the guard is for
        h.finitialize(-65)
        h.CVode().event(1.0, _sigint_here)
        h.CVode().active(0)
        h.continuerun(5.0)
        assert h.t == pytest.approx(5.0, abs=h.dt)
    finally:
        del sec
        _forget_printed_interrupt()


def _forget_printed_interrupt():
    """NEURON prints the swallowed interrupt with PyErr_Print, which keeps it
    (and the frames of its traceback) in sys.last_*: drop them, so that the
    sections those frames refer to are freed."""
    import gc

    for name in ("last_type", "last_value", "last_traceback", "last_exc"):
        if hasattr(sys, name):
            delattr(sys, name)
    gc.collect()


def test_ctrl_c_in_the_resting_state_handler_ends_cell_start(h):
    """Cell.start runs the resting state's FInitializeHandler (Python called by
    NEURON): an interrupt there ends start() instead of vanishing."""
    cell = Cell("ball_and_stick", recipe="mature")
    try:
        cell.initialize()
        handler = h.FInitializeHandler(1, lambda: os.kill(os.getpid(), signal.SIGINT))
        with pytest.raises(KeyboardInterrupt):
            cell.start()
        # stdrun's stop flag, set to stop a fixed-step run, does not outlive the
        # interrupt: left set, the next CVODE run in the process ended at once
        assert h.stoprun == 0
        del handler
        cell.start()  # raised once: the next start works
    finally:
        cell.destroy()
        _forget_printed_interrupt()


def test_ctrl_c_inside_ionhomeos_own_neuron_callbacks_prints_no_traceback(h, capfd):
    """The steady-state writers run as FInitializeHandlers; a Ctrl-C landing
    in one (what `ionhomeo run all` printed once: a traceback from
    steady._Initializer._apply, then the interrupt message) is noted there,
    not raised inside NEURON, and raised once NEURON returns."""
    from ionhomeo import _interrupt

    sec = _section(_RESTING)
    calls = []

    def writer():
        _sigint_here()
        calls.append("went on")  # the callback runs to its end

    def initialize_with(callback):
        """finitialize with ``callback`` as a type-0 handler, in a guard;
        the interrupt must come out of check() after NEURON returns"""
        with pytest.raises(KeyboardInterrupt):
            with _interrupt.guard() as check:
                handler = h.FInitializeHandler(0, _interrupt.neuron_callback(callback))
                h.finitialize(-65)
                del handler
                check()

    try:
        initialize_with(writer)
        assert calls == ["went on"]
        assert "Traceback" not in capfd.readouterr().err
        assert h.stoprun == 0
        # a guard opened inside the callback (the guarded steady-state
        # functions) does not raise there, and does not lose it for the outer one
        calls.clear()

        def guarded_writer():
            with _interrupt.guard():
                writer()

        initialize_with(guarded_writer)
        assert calls == ["went on"]
        assert "Traceback" not in capfd.readouterr().err
        # a callback that raised leaves nothing behind: a Ctrl-C outside any
        # callback raises at once again
        with pytest.raises(KeyboardInterrupt):
            with _interrupt.guard():
                _sigint_here()
                calls.append("not reached")
        assert "not reached" not in calls
    finally:
        del sec
        _forget_printed_interrupt()


def test_ctrl_c_ends_the_command_line_with_a_message_not_a_traceback(tmp_path):
    """SIGINT during a run: exit status 130, one line, no Python traceback."""
    # every protocol in turn takes minutes: interrupted well inside it
    proc = subprocess.Popen([sys.executable, "-m", "ionhomeo", "run", "all", "--out",
                             str(tmp_path / "out")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    time.sleep(8)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err)
    assert "ionhomeo run: interrupted (Ctrl-C)" in err
    assert "Traceback" not in err


def test_an_unwritable_cache_names_the_variable_that_chose_it(tmp_path, monkeypatch):
    from ionhomeo import build

    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("IONHOMEO_CACHE", str(blocker / "cache"))
    with pytest.raises(build.BuildError, match=r"compile cache .*a_file/cache \(from "
                                               r"\$IONHOMEO_CACHE\) cannot be created or "
                                               r"written: .*Set IONHOMEO_CACHE to a writable"):
        build.compile_mechanisms()


def _unbranched_swc(path, n):
    lines = ["1 1 0 0 0 5 -1"] + [f"{i + 2} 3 0 {5 + 0.1 * i:.3f} 0 0.5 {i + 1}" for i in range(n)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_section_longer_than_neuron_can_hold_is_refused_before_neuron_sees_it(tmp_path):
    """NEURON keeps a section's 3-D point count in 16 bits: 40000 unbranched
    points collapsed the section (n3d -32768, L 1e-9 um) or crashed Import3d."""
    from ionhomeo import morphology

    with pytest.raises(morphology.MorphologyError,
                       match=r"long\.swc line 2: the unbranched run of points starting here has "
                             r"more than 32767 points.*resample it"):
        morphology.load(_unbranched_swc(tmp_path / "long.swc", 40000))
    # just below the limit is a morphology like any other
    assert morphology.load(_unbranched_swc(tmp_path / "ok.swc", 32000)).n_points == 32001
