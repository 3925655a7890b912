"""Parameters as functions of position in recipes: values at the segment
centres against the formulas, the TOML round trip of every kind, every
validation error, provenance (the apply summary and Cell.to_dict), and an
example recipe with graded KCC2 and Ca buffering on the bundled pyramidal cell.

The formulas are written out here with ``math`` from NEURON's
``h.distance(soma_center, seg)``, not through ionhomeo's evaluation.
"""

import json
import math
import re
import types

import numpy as np
import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from ionhomeo import regions
from ionhomeo.cell import Cell
from ionhomeo.recipe import FUNCTIONS, Profile, Recipe, RecipeError, Rule
from test_regions import DISTANCES_UM, GEOMETRY, fake_cell

#: relative agreement of a value NEURON stores with the formula evaluated here:
#: the same double-precision operations, possibly in another order (a few ulp)
ROUND_OFF = 1e-12

#: one function of every kind (and both directions) for kcc2's imax (mA/cm2),
#: each with its formula in d (um); all stay inside imax's range [0, 1000] on
#: the bundled cells (d <= 600 um), and the step and sigmoid change inside them
KINDS = {
    "linear": ({"function": "linear", "at0": "10 uA/cm2", "slope": "0.1 mA/cm2 per mm"},
               lambda d: 0.01 + 1e-4 * d),
    "exponential falling": ({"function": "exponential", "at0": 0.08, "length_um": "0.2 mm"},
                            lambda d: 0.08 * math.exp(-d / 200.0)),
    "exponential rising": ({"function": "exponential", "of": "distance", "at0": 0.01,
                            "length_um": 150.0, "direction": "rising"},
                           lambda d: 0.01 * math.exp(d / 150.0)),
    "sigmoid rising": ({"function": "sigmoid", "low": 0.01, "high": "80 uA/cm2",
                        "midpoint_um": 150.0, "width_um": 30.0},
                       lambda d: 0.01 + (0.08 - 0.01) / (1.0 + math.exp(-(d - 150.0) / 30.0))),
    "sigmoid falling": ({"function": "sigmoid", "low": 0.01, "high": 0.08, "midpoint_um": 150.0,
                         "width_um": 30.0, "direction": "falling"},
                        lambda d: 0.01 + (0.08 - 0.01) / (1.0 + math.exp((d - 150.0) / 30.0))),
    "step": ({"function": "step", "before": 0.02, "after": "0.06 mA/cm2", "at_um": 120.0},
             lambda d: 0.02 if d < 120.0 else 0.06),
}


def one_rule(spec, region="all", mechanism="kcc2", param="imax", name="graded") -> Recipe:
    return Recipe(name=name, rules=[{"region": region, "mechanism": mechanism,
                                     "params": {param: spec}}])


def relative_error(value: float, expected: float) -> float:
    return abs(value - expected) / abs(expected)


# ----------------------------------------------------------------------------
# values at the segment centres
# ----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", sorted(KINDS))
def test_values_at_segment_centres_equal_the_formula(h, kind):
    spec, formula = KINDS[kind]
    cell = Cell("pyramidal", one_rule(spec))
    try:
        distances = []
        for seg in cell.segments("all"):
            d = h.distance(cell.soma_center, seg)
            distances.append(d)
            assert relative_error(seg.kcc2.imax, formula(d)) <= ROUND_OFF, (str(seg), d)
        # the cell spans the interesting part of every function (0 to 600 um)
        assert min(distances) == 0.0 and max(distances) > 500.0
        if kind == "step":
            values = {seg.kcc2.imax for seg in cell.segments("all")}
            assert values == {0.02, 0.06}
        [row] = cell.applied
        values = [formula(d) for d in distances]
        # the summary's extremes are those of the formula over the selected segments
        assert relative_error(row["functions"]["imax"]["min"], min(values)) <= ROUND_OFF
        assert relative_error(row["functions"]["imax"]["max"], max(values)) <= ROUND_OFF
        assert row["values"] == {} and row["segments"] == 120
    finally:
        cell.destroy()


def test_a_function_sets_only_the_selected_segments_and_later_rules_win(h):
    rec = Recipe(name="graded", rules=[
        {"region": "all", "mechanism": "kcc2", "params": {"imax": 0.03}},
        {"region": "apical", "mechanism": "kcc2",
         "params": {"imax": {"function": "linear", "at0": 0.01, "slope": 1e-4}}},
        {"region": "apical & distance > 400", "mechanism": "kcc2", "params": {"imax": 0.5}},
    ])
    cell = Cell("pyramidal", rec)
    try:
        apical = {str(s) for s in cell.segments("apical")}
        far = {str(s) for s in cell.segments("apical & distance > 400")}
        assert far and far < apical
        for seg in cell.segments("all"):
            d = h.distance(cell.soma_center, seg)
            if str(seg) in far:
                assert seg.kcc2.imax == 0.5
            elif str(seg) in apical:
                assert relative_error(seg.kcc2.imax, 0.01 + 1e-4 * d) <= ROUND_OFF
            else:
                assert seg.kcc2.imax == 0.03
    finally:
        cell.destroy()


# ----------------------------------------------------------------------------
# TOML round trip
# ----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_round_trips_through_toml(kind):
    spec, _ = KINDS[kind]
    r = one_rule(spec)
    text = r.to_toml()
    back = Recipe.from_toml(text)
    assert back == r and hash(back) == hash(r)
    assert back.to_toml() == text  # canonical: printing the parsed text gives it again
    assert Recipe.from_dict(r.to_dict()) == r
    assert Recipe.from_dict(json.loads(json.dumps(r.to_dict()))) == r  # JSON-able
    profile = r.rules[0].functions["imax"]
    assert isinstance(profile, Profile) and r.rules[0].params["imax"] is profile
    # the inline table alone parses back to the same function
    assert Profile.parse(tomllib.loads(f"x = {profile.to_toml()}")["x"],
                         profile_param(), "x") == profile
    # written fields are kept as written (units included), defaults filled in
    written = profile.to_dict()
    assert written["function"] == spec["function"] and written["of"] == "distance"
    for key, value in spec.items():
        if key not in ("function", "of"):
            assert written[key] == (value if isinstance(value, str) else float(value))
    if spec["function"] in ("exponential", "sigmoid"):
        assert written["direction"] in ("rising", "falling")


def profile_param():
    from ionhomeo import mechanisms

    return mechanisms.get("kcc2").parameters["imax"]


def test_defaults_written_or_not_give_the_same_recipe():
    short = one_rule({"function": "exponential", "at0": 100.0, "length_um": 200.0},
                     mechanism="cabuf", param="kappab")
    full = one_rule({"function": "exponential", "of": "distance", "at0": 100.0,
                     "length_um": 200.0, "direction": "falling"},
                    mechanism="cabuf", param="kappab")
    assert short == full and hash(short) == hash(full) and short.to_toml() == full.to_toml()
    # another value is another recipe
    assert one_rule({"function": "exponential", "at0": 100.0, "length_um": 201.0},
                    mechanism="cabuf", param="kappab") != short


def test_the_writer_puts_functions_in_a_params_table_one_per_line():
    r = Recipe(name="graded", rules=[Rule("all", "kcc2", {
        "kwnk": "0.001 /ms", "imax": KINDS["linear"][0]}, note="why")])
    text = r.to_toml()
    assert ('note = "why"\n[rules.params]\nkwnk = "0.001 /ms"\nimax = { function = "linear", '
            'of = "distance", at0 = "10 uA/cm2", slope = "0.1 mA/cm2 per mm" }\n') in text
    assert Recipe.from_toml(text) == r


def test_units_of_the_fields_are_converted():
    values = one_rule(KINDS["linear"][0]).rules[0].functions["imax"].values
    # 10 uA/cm2 = 0.01 mA/cm2, 0.1 mA/cm2 per mm = 1e-4 mA/cm2 per um (exact decimal
    # scaling, then at most one float division)
    assert values["at0"] == pytest.approx(0.01, rel=1e-15)
    assert values["slope"] == pytest.approx(1e-4, rel=1e-15)
    assert one_rule(KINDS["exponential falling"][0]).rules[0].functions["imax"] \
        .values["length_um"] == 200.0
    kwnk = one_rule({"function": "linear", "at0": "0.001 /ms", "slope": "2 /s per mm"},
                    param="kwnk").rules[0].functions["kwnk"]
    assert kwnk.values["at0"] == pytest.approx(1.0, rel=1e-15)  # 0.001 /ms = 1 /s
    assert kwnk.values["slope"] == pytest.approx(2e-3, rel=1e-15)  # 2 /s per 1000 um
    # a dimensionless parameter's slope may be written as a bare number per length
    kappa = one_rule({"function": "linear", "at0": 150.0, "slope": "-0.1 per um"},
                     mechanism="cabuf", param="kappab").rules[0].functions["kappab"]
    assert kappa.values["slope"] == -0.1 and kappa.to_dict()["slope"] == "-0.1 per um"


def test_swapping_the_mechanism_keeps_the_function():
    r = one_rule({"function": "exponential", "at0": 150.0, "length_um": 300.0},
                 mechanism="cabuf", param="kappab")
    swapped = r.swap_mechanism("cabuf", "cadyn")
    assert swapped.rules[0].mechanism == "cadyn"
    assert swapped.rules[0].functions["kappab"] == r.rules[0].functions["kappab"]


# ----------------------------------------------------------------------------
# validation when built
# ----------------------------------------------------------------------------

LINEAR = {"function": "linear", "at0": 0.01, "slope": 1e-4}
EXPONENTIAL = {"function": "exponential", "at0": 0.05, "length_um": 200.0}
SIGMOID = {"function": "sigmoid", "low": 0.01, "high": 0.08, "midpoint_um": 100.0,
           "width_um": 20.0}
STEP = {"function": "step", "before": 0.01, "after": 0.05, "at_um": 100.0}


def changed(base, **fields):
    out = dict(base, **fields)
    return {k: v for k, v in out.items() if v is not None}


#: (case, imax spec, words the message must hold: the rule, the parameter, the
#: field and the fix)
BAD = [
    ("unknown function", changed(LINEAR, function="lineal"),
     ["unknown function 'lineal'", "Did you mean 'linear'?", "exponential (at0, length_um"]),
    ("no function", changed(LINEAR, function=None),
     ["needs 'function'", "linear (at0, slope)", "e.g. imax = { function = \"linear\""]),
    ("missing field", changed(SIGMOID, width_um=None),
     ["(sigmoid): field 'width_um' is missing", "the width of the transition",
      "e.g. width_um = 100.0, in um"]),
    ("missing value field", changed(LINEAR, at0=None),
     ["(linear): field 'at0' is missing", "the value at d = 0",
      "e.g. at0 = 1.0, in mA/cm2, or at0 = \"1 mA/cm2\""]),
    ("unknown field", changed(EXPONENTIAL, length_um=None, length="200 um"),
     ["unknown field 'length'", "Did you mean 'length_um'?",
      "Fields of exponential: function, of, at0, length_um, direction"]),
    ("field of another function", changed(EXPONENTIAL, slope=0.1),
     ["unknown field 'slope'", "'slope' is a field of linear"]),
    ("value in a unit of another quantity", changed(LINEAR, at0="0.01 mV"),
     ["at0 = '0.01 mV': unit 'mV' does not convert to mA/cm2", "Accepted: A/m2, mA/cm2"]),
    ("value in an unknown unit", changed(STEP, after="5 furlong"),
     ["after = '5 furlong': unit 'furlong' does not convert to mA/cm2"]),
    ("slope without a length", changed(LINEAR, slope="0.001 mA/cm2"),
     ["slope = '0.001 mA/cm2': write the change per length as 'value unit per um'",
      "e.g. '0.01 mA/cm2 per um'"]),
    ("slope per a time", changed(LINEAR, slope="0.001 mA/cm2 per ms"),
     ["'per ms' is not per length", "per m, per mm, per um, per nm"]),
    ("slope in a wrong unit", changed(LINEAR, slope="0.001 mM per um"),
     ["unit 'mM' does not convert to mA/cm2"]),
    ("length zero", changed(EXPONENTIAL, length_um=0.0),
     ["length_um = 0.0: a length must be > 0 um", "e.g. length_um = 100.0"]),
    ("length negative", changed(EXPONENTIAL, length_um="-0.2 mm"),
     ["length_um = '-0.2 mm': a length must be > 0 um"]),
    ("width zero", changed(SIGMOID, width_um=0),
     ["width_um = 0: a length must be > 0 um"]),
    ("length in a unit of another quantity", changed(EXPONENTIAL, length_um="200 ms"),
     ["length_um = '200 ms': write a number of um, or a string 'value unit' with a length "
      "unit (m, mm, um, nm)"]),
    ("position negative", changed(STEP, at_um=-5.0),
     ["at_um = -5.0: a position along the cell is >= 0 um"]),
    ("midpoint negative", changed(SIGMOID, midpoint_um=-1),
     ["midpoint_um = -1: a position along the cell is >= 0 um"]),
    ("value not finite", changed(LINEAR, slope=math.inf),
     ["slope = inf: must be a finite number"]),
    ("value a boolean", changed(STEP, before=True),
     ["before: expected a number in mA/cm2 or a string 'value unit', got bool True"]),
    ("bad direction", changed(EXPONENTIAL, direction="up"),
     ["direction = 'up': write \"rising\" or \"falling\""]),
    ("sigmoid upside down", changed(SIGMOID, low=0.08, high=0.01),
     ["low = 0.08 must be below high = 0.01", "set direction = \"falling\""]),
    ("unknown position", changed(LINEAR, of="distnace"),
     ["of = 'distnace' is not a position", "Did you mean 'distance'?",
      "'distance' or 'trunk_distance'"]),
]


@pytest.mark.parametrize("case, spec, words", BAD, ids=[b[0] for b in BAD])
def test_bad_functions_are_refused_naming_rule_parameter_field_and_fix(case, spec, words):
    with pytest.raises(RecipeError) as err:
        one_rule(spec)
    message = str(err.value)
    assert "recipe 'graded', rule 1" in message and "kcc2.imax" in message, message
    for w in words:
        assert w in message, message


def test_errors_in_a_file_name_its_rule_and_line(tmp_path):
    path = tmp_path / "graded.toml"
    path.write_text('name = "graded"\n\n[[rules]]\nregion = "all"\nmechanism = "cldyn"\n\n'
                    '[[rules]]\nregion = "all"\nmechanism = "kcc2"\n[rules.params]\n'
                    'imax = { function = "exponential", at0 = 0.05, length_um = -200.0 }\n')
    from ionhomeo import recipe

    with pytest.raises(RecipeError, match=re.escape(
            "graded.toml: rule 2 (line 7): 'kcc2' in region 'all': kcc2.imax (exponential): "
            "length_um = -200.0: a length must be > 0 um")):
        recipe.load(path)


def test_global_and_passive_parameters_take_numbers_only():
    with pytest.raises(RecipeError, match=r"\[globals\.kcc2\]: kcc2\.kmcl is a GLOBAL parameter "
                                          r".*cannot vary with position; give a number"):
        Recipe(name="x", rules=[{"region": "all", "mechanism": "kcc2"}],
               globals={"kcc2": {"kmcl": LINEAR}})
    with pytest.raises(RecipeError, match=r"passive rule 1: passive rule in region 'all': cm "
                                          r"takes a number \(uF/cm2\), not a function of "
                                          r"position; .*several passive rules"):
        Recipe(name="x", rules=[{"region": "all", "mechanism": "kcc2"}],
               passive=[{"region": "all", "cm": LINEAR}])


def test_functions_are_immutable():
    profile = one_rule(LINEAR).rules[0].functions["imax"]
    with pytest.raises(TypeError):
        profile.written["at0"] = 5.0
    with pytest.raises(TypeError):
        profile.values["at0"] = 5.0
    with pytest.raises(AttributeError):
        profile.function = "step"


# ----------------------------------------------------------------------------
# validation when applied (on the hand-built cell of test_regions.py)
# ----------------------------------------------------------------------------

@pytest.fixture
def cell(h):
    with fake_cell(h) as c:
        yield c


def test_a_value_out_of_range_names_the_segment_and_its_distance(cell):
    # 0.05 - 5e-4 d < 0 beyond 100 um: on the fake cell, segments at 120, 135, 140, ...
    rec = Recipe(name="graded", rules=[
        {"region": "all", "mechanism": "cldyn"},
        {"region": "all", "mechanism": "kcc2",
         "params": {"imax": {"function": "linear", "at0": 0.05, "slope": -5e-4}}}])
    with pytest.raises(RecipeError) as err:
        rec.apply(cell)
    message = str(err.value)
    # the first offending segment in cell order: apic0's third, at 135 um
    assert ("recipe 'graded', rule 2 (kcc2 in region 'all'): kcc2.imax = { function = "
            "\"linear\", of = \"distance\", at0 = 0.05, slope = -0.0005 } gives -0.0175 mA/cm2 "
            "at segment apic0(0.625) (distance 135 um), outside the allowed range [0, 1000] "
            "mA/cm2") in message, message
    beyond = [d for name in GEOMETRY for d in DISTANCES_UM[name] if d > 100.0]
    assert f"{len(beyond)} of the 28 selected segments are outside, at distance " \
           f"{min(beyond):g}-{max(beyond):g} um" in message
    assert "narrow the region" in message
    # every rule's functions are checked before anything is inserted: neither
    # cldyn (rule 1) nor kcc2 went in anywhere
    assert not any(sec.has_membrane("cldyn") or sec.has_membrane("kcc2") for sec in cell.all)


def test_an_overflowing_exponential_is_refused(cell):
    rec = one_rule({"function": "exponential", "at0": 1.0, "length_um": 0.01,
                    "direction": "rising"})
    with pytest.raises(RecipeError, match=r"gives inf mA/cm2 at segment dend0\(0\.1\) \(distance "
                                          r"20 um\), outside the allowed range"):
        rec.apply(cell)


def test_the_summary_records_the_function_and_the_values_set(cell, h):
    spec, formula = KINDS["sigmoid rising"]
    rec = Recipe(name="graded", rules=[
        {"region": "dendrite", "mechanism": "kcc2", "params": {"imax": spec, "kwnk": 0.5}},
        {"region": "axon & distance > 1000", "mechanism": "kcc2", "params": {"imax": spec},
         "optional": True}])
    first, empty = rec.apply(cell)
    expected = [formula(d) for name in ("dend0", "dend1", "apic0", "apic1")
                for d in DISTANCES_UM[name]]
    record = first["functions"]["imax"]
    assert record["function"] == rec.rules[0].functions["imax"].to_toml()
    assert record["unit"] == "mA/cm2" and first["values"] == {"kwnk": 0.5}
    assert relative_error(record["min"], min(expected)) <= ROUND_OFF
    assert relative_error(record["max"], max(expected)) <= ROUND_OFF
    assert empty["functions"]["imax"]["min"] is None and empty["segments"] == 0
    json.dumps([first, empty], allow_nan=False)  # as results.save_run writes it


# ----------------------------------------------------------------------------
# trunk distance: a stand-in until regions.Sites computes it, then the real one
# ----------------------------------------------------------------------------

class TrunkSites(regions.Sites):
    """Sites with a trunk distance for the fake cell: apic0 is the trunk (its own
    distance), apic1 branches off its end (10 + 200 um from the soma centre)."""

    @property
    def trunk_distance_um(self):
        out = np.full(len(self.segments), np.nan)
        for i, seg in enumerate(self.segments):
            if seg.sec.name() == "apic0":
                out[i] = self.distance_um[i]
            elif seg.sec.name() == "apic1":
                out[i] = 210.0
        return out


class NoTrunkSites(regions.Sites):
    """Sites of a version of ionhomeo without a trunk distance."""

    @property
    def trunk_distance_um(self):
        raise AttributeError("trunk_distance_um")


def test_trunk_distance_with_a_stand_in(cell, monkeypatch):
    monkeypatch.setattr(regions, "sites", TrunkSites)
    rec = one_rule({"function": "linear", "of": "trunk_distance", "at0": 0.01, "slope": 1e-4},
                   region="apical")
    rec.apply(cell)
    # the trunk at its own distance, the branch at its branch point's (210 um)
    assert [seg.kcc2.imax for seg in cell.byname["apic0"]] == pytest.approx(
        [0.01 + 1e-4 * d for d in DISTANCES_UM["apic0"]], rel=ROUND_OFF)
    assert [seg.kcc2.imax for seg in cell.byname["apic1"]] == pytest.approx(
        [0.01 + 1e-4 * 210.0] * 2, rel=ROUND_OFF)


def test_trunk_distance_outside_the_apical_dendrites_is_refused(cell, monkeypatch):
    monkeypatch.setattr(regions, "sites", TrunkSites)
    rec = one_rule({"function": "linear", "of": "trunk_distance", "at0": 0.01, "slope": 1e-4},
                   region="soma | apical")
    with pytest.raises(RecipeError) as err:
        rec.apply(cell)
    message = str(err.value)
    assert "segment soma(0.5) has no trunk_distance" in message, message
    assert "1 of the 7 selected segments have none" in message
    assert "(e.g. '(soma | apical) & apical')" in message


def test_trunk_distance_without_sites_support_says_so(cell, monkeypatch):
    monkeypatch.setattr(regions, "sites", NoTrunkSites)
    rec = one_rule({"function": "step", "of": "trunk_distance", "before": 0.01, "after": 0.02,
                    "at_um": 100.0}, region="apical")
    with pytest.raises(RecipeError, match=r"of = 'trunk_distance' needs the cell's "
                                          r"trunk_distance_um .*use of = \"distance\""):
        rec.apply(cell)


@pytest.mark.skipif(not hasattr(regions.Sites, "trunk_distance_um"),
                    reason="regions.Sites has no trunk_distance_um yet (the regions part)")
def test_trunk_distance_on_the_pyramidal_cell(h):
    rec = one_rule({"function": "linear", "of": "trunk_distance", "at0": 0.01, "slope": 1e-4},
                   region="apical")
    cell = Cell("pyramidal", rec)
    try:
        where = regions.sites(cell)
        apical = regions.as_region("apical").mask(where)
        trunk_d = np.asarray(where.trunk_distance_um)[apical]
        path_d = where.distance_um[apical]
        values = np.array([seg.kcc2.imax for seg in cell.segments("apical")])
        np.testing.assert_allclose(values, 0.01 + 1e-4 * trunk_d, rtol=ROUND_OFF, atol=0)
        # a path leaves the trunk no farther out than the segment itself (1e-9 um:
        # NEURON's sums of section lengths); equal on the trunk, smaller beyond it
        assert np.all(trunk_d <= path_d + 1e-9)
        assert np.any(np.abs(trunk_d - path_d) <= 1e-9) and np.any(trunk_d < path_d - 1.0)
    finally:
        cell.destroy()


# ----------------------------------------------------------------------------
# an example recipe: KCC2 rising and Ca buffer capacity falling with distance
# ----------------------------------------------------------------------------

#: written from scratch (no preset): the resting system everywhere, KCC2 from
#: 10 uA/cm2 at the soma rising by 0.1 uA/cm2 per um, the Ca buffer capacity
#: falling from 150 with a length constant of 300 um; illustrative gradients
EXAMPLE = '''
name = "graded"
description = "KCC2 rising and Ca buffer capacity falling with distance from the soma"
sources = ["Helmchen, Imoto & Sakmann 1996, Biophys J 70:1069 (Ca buffer capacity 100-150 in dendrites)"]

[[rules]]
region = "all"
mechanism = "nadyn"

[[rules]]
region = "all"
mechanism = "kdyn"

[[rules]]
region = "all"
mechanism = "cldyn"

[[rules]]
region = "all"
mechanism = "cabuf"
note = "illustrative: 150 at the soma, e-fold lower every 300 um"
[rules.params]
kappab = { function = "exponential", of = "distance", at0 = 150.0, length_um = 300.0 }

[[rules]]
region = "all"
mechanism = "nakpump"

[[rules]]
region = "all"
mechanism = "naleak"

[[rules]]
region = "all"
mechanism = "kleak"

[[rules]]
region = "all"
mechanism = "clleak"

[[rules]]
region = "all"
mechanism = "caleak"

[[rules]]
region = "all"
mechanism = "pmca"

[[rules]]
region = "all"
mechanism = "ncx"

[[rules]]
region = "all"
mechanism = "kcc2"
note = "illustrative: 10 uA/cm2 at the soma, 70 uA/cm2 at 600 um"
[rules.params]
imax = { function = "linear", of = "distance", at0 = "10 uA/cm2", slope = "0.1 uA/cm2 per um" }

[[rules]]
region = "all"
mechanism = "nkcc1"
params = { imax = 0.0005 }
'''


def test_example_recipe_grades_kcc2_and_buffering_on_the_pyramidal_cell(h):
    rec = Recipe.from_toml(EXAMPLE)
    assert Recipe.from_toml(rec.to_toml()) == rec
    cell = Cell("pyramidal", rec)
    try:
        segs = cell.segments("all")
        d = np.array([h.distance(cell.soma_center, s) for s in segs])
        imax = np.array([s.kcc2.imax for s in segs])
        kappa = np.array([s.cabuf.kappab for s in segs])
        np.testing.assert_allclose(imax, 0.01 + 1e-4 * d, rtol=ROUND_OFF, atol=0)
        np.testing.assert_allclose(kappa, [150.0 * math.exp(-x / 300.0) for x in d],
                                   rtol=ROUND_OFF, atol=0)
        meta = cell.to_dict()
        rows = {(r["mechanism"], r["parameter"]): r for r in meta["position_functions"]}
        assert set(rows) == {("cabuf", "kappab"), ("kcc2", "imax")}
        assert rows["kcc2", "imax"]["function"] == (
            '{ function = "linear", of = "distance", at0 = "10 uA/cm2", '
            'slope = "0.1 uA/cm2 per um" }')
        assert rows["kcc2", "imax"]["rule"] == 12 and rows["kcc2", "imax"]["segments"] == 120
        assert rows["kcc2", "imax"]["min"] == imax.min() == 0.01
        assert rows["kcc2", "imax"]["max"] == imax.max()
        assert rows["cabuf", "kappab"]["min"] == kappa.min()
        assert rows["cabuf", "kappab"]["max"] == kappa.max() == 150.0
        assert meta["recipe"] == rec.to_dict()
        json.dumps(meta, allow_nan=False)
        # at rest, more KCC2 holds Cl lower: the distal dendrites below the soma
        cell.initialize()
        cli = np.array([s.cli for s in segs])
        assert cli[d > 400].max() < cli[d == 0].min()
        # the buffer set from its capacity at rest (btot = kappab (KD + cai)^2 / KD,
        # cabuf.mod): the total falls with the capacity, as exp(-d / 300 um) at one cai
        btot = np.array([s.cabuf.btot for s in segs])
        kd, cai = segs[0].cabuf.kdb, np.array([s.cai for s in segs])
        np.testing.assert_allclose(btot, kappa * (kd + cai) ** 2 / kd, rtol=1e-9)
    finally:
        cell.destroy()


def test_a_recipe_without_functions_records_none(h):
    cell = Cell("ball_and_stick", "mature")
    try:
        assert cell.to_dict()["position_functions"] == []
        assert all(row["functions"] == {} for row in cell.applied)
    finally:
        cell.destroy()


def test_functions_table_lists_every_kind():
    assert set(FUNCTIONS) == {"linear", "exponential", "sigmoid", "step"}
    assert {k.split()[0] for k in KINDS} == set(FUNCTIONS)
    assert isinstance(one_rule(LINEAR).rules[0].functions, types.MappingProxyType)


def test_the_readme_example_is_the_tested_one():
    """The README's recipe of graded KCC2 and buffering parses, with the functions
    of the example above."""
    from test_readme import code_blocks, section

    [text] = code_blocks(section("Cells, regions and recipes"), "toml")
    readme = Recipe.from_toml(text, source="README")
    example = {r.mechanism: r.functions for r in Recipe.from_toml(EXAMPLE).rules}
    assert {r.mechanism: r.functions for r in readme.rules} == {
        m: example[m] for m in ("kcc2", "cabuf")}
