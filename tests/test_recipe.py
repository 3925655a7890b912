"""Recipes: validation, units, TOML round trip, placement on a cell, and the presets.

Placement is checked segment by segment on the hand-built cell of
test_regions.py (segment distances listed there).
"""

import math
import os

import pytest

from ionhomeo import mechanisms, presets, recipe, regions, steady
from ionhomeo.recipe import PartialSectionWarning, Recipe, RecipeError, Rule
from test_regions import fake_cell


@pytest.fixture
def cell(h):
    with fake_cell(h) as c:
        yield c


def example() -> Recipe:
    """A recipe using every feature: units, globals, celsius, notes, overrides."""
    return Recipe(
        name="example",
        description='a "quoted" description\nwith a second line, a tab\tand \u00b5 \\ backslash',
        sources=["Payne 1997, Am J Physiol 273:C1516", "Kaila et al. 2014"],
        celsius=34,
        globals={"cldyn": {"D": "2.5 um2/ms"}, "kcc2": {"kmcl": 7}},
        rules=[
            {"region": "all", "mechanism": "cldyn"},
            {"region": "all", "mechanism": "kcc2", "params": {"imax": "5 uA/cm2"},
             "note": "a fifth of the default"},
            Rule("apical & distance > 100", "kcc2", {"imax": 0.03, "kwnk": "0.001 /ms"}),
            {"region": "soma | terminal", "mechanism": "cadyn",
             "params": {"kdb": "500 nM", "kappab": 40}},
        ],
    )


# ----------------------------------------------------------------------------
# TOML round trip
# ----------------------------------------------------------------------------

def test_recipe_round_trips_through_toml_unchanged():
    r = example()
    text = r.to_toml()
    back = Recipe.from_toml(text)
    assert back == r
    assert hash(back) == hash(r)
    assert back.to_toml() == text  # stable on a second round trip
    assert Recipe.from_dict(r.to_dict()) == r


def test_values_are_kept_as_written_and_converted_to_mod_units():
    r = example()
    kcc2 = r.rules[1]
    assert kcc2.params["imax"] == "5 uA/cm2"
    # 5 uA/cm2 = 0.005 mA/cm2; 1e-15 relative: one float multiplication
    assert kcc2.values["imax"] == pytest.approx(0.005, rel=1e-15)
    assert r.rules[2].values["kwnk"] == pytest.approx(1.0, rel=1e-15)  # 0.001 /ms = 1 /s
    assert r.rules[3].values["kdb"] == pytest.approx(5e-4, rel=1e-15)  # 500 nM in mM
    assert r.rules[3].values["kappab"] == 40.0 and r.rules[3].params["kappab"] == 40.0
    assert r.global_values() == {"cldyn": {"D": 2.5}, "kcc2": {"kmcl": 7.0}}
    assert r.celsius == 34.0
    assert r.mechanisms() == ["cldyn", "kcc2", "cadyn"]


@pytest.mark.parametrize("written, param, expected", [
    ("5 uA/cm2", ("kcc2", "imax"), 0.005),
    ("0.05 mA/cm2", ("kcc2", "imax"), 0.05),
    ("10 mS/cm2", ("nav", "gbar"), 0.01),
    ("100 uS/cm2", ("sk", "gbar"), 1e-4),
    ("300 nM", ("cadyn", "kdb"), 3e-4),
    ("0.3 \u00b5M", ("cadyn", "kdb"), 3e-4),
    ("2 s", ("CaInject", "dur"), 2000.0),
    ("6 /ms", ("kcc2", "kpp"), 6000.0),
    ("1.33um2/ms", ("nadyn", "D"), 1.33),
])
def test_unit_conversions(written, param, expected):
    mech, name = param
    p = mechanisms.get(mech).parameters[name]
    # 1e-15 relative: at most two float multiplications
    assert recipe.to_mod_units(written, p) == pytest.approx(expected, rel=1e-15)


def test_save_and_load_are_atomic_and_equal(tmp_path):
    r = example()
    target = tmp_path / "sub" / "example.toml"
    assert r.save(target) == target
    assert recipe.load(target) == r
    assert target.read_text() == r.to_toml()
    assert os.listdir(target.parent) == ["example.toml"]  # no temporary file left


# ----------------------------------------------------------------------------
# every kind of bad recipe
# ----------------------------------------------------------------------------

def rule_error(words, **rule):
    with pytest.raises(RecipeError) as err:
        Recipe(name="bad", rules=[rule])
    for w in words:
        assert w in str(err.value), str(err.value)
    return str(err.value)


def test_unknown_mechanism_suggests_the_right_one():
    msg = rule_error(["unknown mechanism 'kcc'", "Did you mean 'kcc2'", "rule 1"],
                     region="all", mechanism="kcc")
    assert "ionhomeo provides" in msg


def test_unknown_parameter_suggests_the_right_one():
    rule_error(["kcc2 has no parameter 'imx'", "Did you mean 'imax'"],
               region="all", mechanism="kcc2", params={"imx": 0.05})


def test_value_out_of_range():
    rule_error(["kcc2.imax = -1 mA/cm2 is outside its allowed range [0, 1000] mA/cm2"],
               region="all", mechanism="kcc2", params={"imax": -1})
    # the range is checked after conversion, and the message shows what was written
    rule_error(["kcc2.imax = 2000 mA/cm2 is outside", "given as '2e6 uA/cm2'"],
               region="all", mechanism="kcc2", params={"imax": "2e6 uA/cm2"})


def test_wrong_units():
    rule_error(["unit 'mM' does not convert to mA/cm2", "Accepted: A/m2, mA/cm2, uA/cm2, pA/um2"],
               region="all", mechanism="kcc2", params={"imax": "0.05 mM"})
    rule_error(["unit 'furlong' does not convert to cm/s", "Accepted: m/s, cm/s, um/s, nm/s"],
               region="all", mechanism="kleak", params={"pk": "1 furlong"})
    rule_error(["a string needs a unit"], region="all", mechanism="kcc2", params={"imax": "0.05"})
    rule_error(["write a number in mA/cm2"], region="all", mechanism="kcc2",
               params={"imax": "lots"})
    rule_error(["expected a number in mA/cm2"], region="all", mechanism="kcc2",
               params={"imax": True})


def test_unknown_region():
    rule_error(["bad region", "unknown name 'apicl'", "Did you mean 'apical'"],
               region="apicl", mechanism="kcc2")
    rule_error(["bad region", "column 8"], region="apical && soma", mechanism="kcc2")


def test_global_parameter_given_per_region():
    rule_error(["cadyn.D is a GLOBAL parameter", "[globals.cadyn]"],
               region="soma", mechanism="cadyn", params={"D": 0.3})


def test_range_parameter_given_as_global():
    with pytest.raises(RecipeError, match=r"kcc2\.imax is a RANGE parameter"):
        Recipe(name="bad", rules=[{"region": "all", "mechanism": "kcc2"}],
               globals={"kcc2": {"imax": 0.05}})
    with pytest.raises(RecipeError, match=r"\[globals\.kc2\].*Did you mean 'kcc2'"):
        Recipe(name="bad", rules=[{"region": "all", "mechanism": "kcc2"}],
               globals={"kc2": {"kmcl": 7}})


def test_point_process_is_refused():
    rule_error(["GabaA is a point process", "add_point"], region="soma", mechanism="GabaA")


def test_malformed_toml_names_the_line():
    text = 'name = "x"\n\n[[rules]]\nregion = "all\nmechanism = "kcc2"\n'
    with pytest.raises(RecipeError, match=r"mine\.toml: malformed TOML: .*line 4"):
        Recipe.from_toml(text, source="mine.toml")


def test_errors_in_a_file_name_the_rule_and_its_line(tmp_path):
    path = tmp_path / "r.toml"
    path.write_text('name = "r"\n\n[[rules]]\nregion = "all"\nmechanism = "nadyn"\n\n'
                    '[[rules]]\nregion = "all"\nmechanism = "kcc2"\nparams = { imax = 5e4 }\n')
    with pytest.raises(RecipeError) as err:
        recipe.load(path)
    assert f"{path}: rule 2 (line 7)" in str(err.value)
    assert "outside its allowed range" in str(err.value)


@pytest.mark.parametrize("text, words", [
    ('name = "x"\nrule = []\n', ["unknown key 'rule'", "Did you mean 'rules'"]),
    ('name = "x"\n', ["'rules' is missing"]),
    ('name = "x"\n[rules]\nregion = "all"\n', ["array of tables", "[[rules]]"]),
    ('name = "x"\n[[rules]]\nregion = "all"\n', ["'mechanism' is missing"]),
    ('name = "x"\n[[rules]]\nregion = "all"\nmechanism = "kcc2"\nparam = {}\n',
     ["unknown key 'param'", "Did you mean 'params'"]),
    ('name = "x"\ncelsius = 310.0\n[[rules]]\nregion = "all"\nmechanism = "kcc2"\n',
     ["not kelvin"]),
    ('name = "x"\nsources = "Payne 1997"\n[[rules]]\nregion = "all"\nmechanism = "kcc2"\n',
     ["sources must be a list"]),
    ('name = ""\n[[rules]]\nregion = "all"\nmechanism = "kcc2"\n', ["non-empty"]),
    ('name = "x"\nrules = []\n', ["non-empty list of rules"]),
])
def test_bad_recipe_files(text, words):
    with pytest.raises(RecipeError) as err:
        Recipe.from_toml(text, source="f.toml")
    for w in words:
        assert w in str(err.value), str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(RecipeError, match="does not exist"):
        recipe.load(tmp_path / "nope.toml")


def test_recipes_are_immutable():
    r = example()
    with pytest.raises(Exception):
        r.rules[1].params["imax"] = 1e9
    with pytest.raises(Exception):
        r.name = "other"
    assert r.replace(name="other").name == "other"


# ----------------------------------------------------------------------------
# apply()
# ----------------------------------------------------------------------------

def per_segment(cell, mech, param, section):
    sec = cell.byname[section]
    if not sec.has_membrane(mech):
        return None
    return [getattr(seg, f"{param}_{mech}") for seg in sec]


def test_apply_sets_values_only_in_selected_segments_and_later_rules_win(cell, h):
    old_d, old_kmcl = h.D_cldyn, h.kmcl_kcc2
    try:
        r = example()
        summary = r.apply(cell)
        # rule 2: 5 uA/cm2 everywhere; rule 3: 0.03 beyond 100 um of the apical
        # dendrites (apic0 centres at 35, 85, 135, 185 um; apic1 at 235, 285 um)
        assert per_segment(cell, "kcc2", "imax", "apic0") == pytest.approx([0.005, 0.005, 0.03, 0.03],
                                                                           rel=1e-15)
        assert per_segment(cell, "kcc2", "imax", "apic1") == [0.03, 0.03]
        assert per_segment(cell, "kcc2", "kwnk", "apic0") == [0.0, 0.0, 1.0, 1.0]  # mod default 0
        for name in ("soma", "dend0", "dend1", "axon0", "axon2", "bouton1"):
            assert per_segment(cell, "kcc2", "imax", name) == \
                pytest.approx([0.005] * cell.byname[name].nseg, rel=1e-15)
        # cadyn only in the soma and the boutons
        assert [s.name() for s in cell.all if s.has_membrane("cadyn")] == \
            ["soma", "bouton1", "bouton2"]
        assert per_segment(cell, "cadyn", "kappab", "bouton2") == [40.0]
        # globals and temperature
        assert h.D_cldyn == 2.5 and h.kmcl_kcc2 == 7.0 and h.celsius == 34.0
        assert [(s["rule"], s["mechanism"], s["sections"], s["segments"], s["partial_sections"])
                for s in summary] == [(1, "cldyn", 10, 28, 0), (2, "kcc2", 10, 28, 0),
                                      (3, "kcc2", 2, 4, 0), (4, "cadyn", 3, 3, 0)]
        # areas: soma 20 x 20 um cylinder, boutons 1 um x 1.5 um (side walls only)
        assert summary[3]["area_um2"] == pytest.approx(math.pi * (20 * 20 + 2 * 1.5 * 1),
                                                       rel=1e-12)
    finally:
        mechanisms.set_globals("cldyn", D=old_d)
        mechanisms.set_globals("kcc2", kmcl=old_kmcl)


def test_partially_selected_sections_keep_mod_defaults_and_warn(cell):
    r = Recipe(name="partial", rules=[
        {"region": "apical & distance > 100", "mechanism": "nav", "params": {"gbar": 0.01}}])
    with pytest.warns(PartialSectionWarning, match="nav was inserted into 1 section"):
        summary = r.apply(cell)
    default = mechanisms.get("nav").parameters["gbar"].default
    assert per_segment(cell, "nav", "gbar", "apic0") == [default, default, 0.01, 0.01]
    assert per_segment(cell, "nav", "gbar", "apic1") == [0.01, 0.01]
    assert [s.name() for s in cell.all if s.has_membrane("nav")] == ["apic0", "apic1"]
    assert summary[0]["partial_sections"] == 1


def test_zero_first_restricts_a_mechanism_to_part_of_a_section(cell):
    r = Recipe(name="zero first", rules=[
        {"region": "apical", "mechanism": "nav", "params": {"gbar": 0.0}},
        {"region": "apical & distance > 100", "mechanism": "nav", "params": {"gbar": 0.01}}])
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no PartialSectionWarning
        r.apply(cell)
    assert per_segment(cell, "nav", "gbar", "apic0") == [0.0, 0.0, 0.01, 0.01]


def test_a_rule_that_selects_nothing_is_an_error_unless_optional(cell):
    from ionhomeo.regions import EmptyRegionError

    rules = [{"region": "all", "mechanism": "nadyn"},
             {"region": "soma & distance > 1000", "mechanism": "kcc2"}]
    with pytest.raises(EmptyRegionError, match=r"recipe 'none', rule 2 \(kcc2\): region "
                                               r"'soma & distance > 1000' selects no segment "
                                               r"of this cell\. .*optional = true"):
        Recipe(name="none", rules=rules).apply(cell)
    # raised before anything was placed
    assert not any(s.has_membrane("nadyn") or s.has_membrane("kcc2") for s in cell.all)
    rules[1]["optional"] = True
    summary = Recipe(name="none", rules=rules).apply(cell)
    assert summary[1]["sections"] == summary[1]["segments"] == 0 and summary[1]["optional"]
    assert not any(s.has_membrane("kcc2") for s in cell.all)


# ----------------------------------------------------------------------------
# presets
# ----------------------------------------------------------------------------

OWNERS = ("nadyn", "kdyn", "cldyn", "cabuf")  # the presets use the lean Ca owner
RESTING = ("nakpump", "naleak", "kleak", "clleak", "caleak", "pmca", "ncx")


@pytest.mark.parametrize("name", presets.NAMES)
def test_preset_files_are_complete_and_validate(name):
    r = presets.load(name)
    assert r.name == name
    assert r.description.strip() and r.sources and all(s.strip() for s in r.sources)
    assert Recipe.from_toml(r.to_toml()) == r
    for mech in OWNERS + RESTING:
        assert any(rule.mechanism == mech and str(rule.region) == "all" for rule in r.rules), mech


@pytest.mark.parametrize("name", presets.NAMES)
def test_presets_apply_to_the_fake_cell(cell, name):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the presets select whole sections only
        presets.load(name).apply(cell)
    for sec in cell.all:
        for mech in OWNERS + RESTING + ("kcc2", "nkcc1", "nav", "kdr"):
            assert sec.has_membrane(mech), (sec.name(), mech)
    soma, trunk, bouton = cell.byname["soma"], cell.byname["apic0"], cell.byname["bouton1"]
    basal, axon = cell.byname["dend0"], cell.byname["axon1"]
    # the measured buffer capacities: Kim et al. 2003 (soma, bouton), Maravall et al. 2000
    assert (soma(0.5).cabuf.kappab, bouton(0.5).cabuf.kappab, trunk(0.5).cabuf.kappab) \
        == (79.0, 187.0, 62.0)
    # SK in the soma and the apical trunk; HVA Ca in soma, boutons and trunk, A- and
    # D-type K in the trunk only; NCKX in the boutons only; the ER everywhere
    assert soma.has_membrane("sk") and trunk.has_membrane("sk") and not basal.has_membrane("sk")
    assert all(s.has_membrane("cahva") for s in (soma, bouton, trunk))
    assert all(trunk.has_membrane(m) and not basal.has_membrane(m) and not soma.has_membrane(m)
               for m in ("ka", "kd"))
    assert bouton.has_membrane("nckx") and not axon.has_membrane("nckx")
    assert all(sec.has_membrane(m) for sec in cell.all for m in ("er", "erleak", "serca"))
    # spike channels: full density in soma and axon, a tenth of the Na channels and the
    # somatic delayed rectifier in dendrites
    assert bouton(0.5).nav.gbar == soma(0.5).nav.gbar
    assert soma(0.5).nav.gbar == pytest.approx(10 * trunk(0.5).nav.gbar, rel=1e-12)  # 0.056 vs 0.0056
    assert trunk(0.5).kdr.gbar == soma(0.5).kdr.gbar == basal(0.5).kdr.gbar


def test_mature_is_kcc2_dominated_and_immature_nkcc1_dominated(cell):
    ratio = {}
    for name in presets.NAMES:
        presets.load(name).apply(cell)
        ais = set(map(str, regions.parse("ais").segments(cell)))
        kcc2 = [seg.kcc2.imax for sec in cell.all for seg in sec if str(seg) not in ais]
        nkcc1 = [seg.nkcc1.imax for sec in cell.all for seg in sec if str(seg) not in ais]
        ratio[name] = [k / n for k, n in zip(kcc2, nkcc1)]
        # the axon initial segment has no KCC2 in the mature preset (Szabadics et al. 2006)
        ais_kcc2 = [seg.kcc2.imax for seg in regions.parse("ais").segments(cell)]
        assert ais_kcc2 and (max(ais_kcc2) == 0.0 if name == "mature" else min(ais_kcc2) > 0)
    # KCC2 dominates in the mature preset and NKCC1 in the immature one, in every
    # segment outside the axon initial segment: the fitted rates (mature KCC2 0.0034,
    # NKCC1 0.0005 set; immature NKCC1 0.0029, KCC2 0.0010) are 6.7 and 2.9 times
    # the other transporter's
    assert min(ratio["mature"]) > 5
    assert max(ratio["immature"]) < 0.5


def test_presets_unknown_name():
    with pytest.raises(RecipeError, match="Did you mean 'mature'"):
        presets.load("matur")


def test_a_soma_alone_is_not_the_calibrated_cell(h):
    """The presets were fitted on the whole pyramidal cell (Vm -66.5 mV there).
    A soma alone with the mature preset has the soma's Na channel density
    (ten times the dendrites') over all of its membrane and none of the
    trunk's K channels, and its steady state is more depolarised: about
    -56 mV, with Cl still near the whole cell's (KCC2 sets it, not Vm)."""
    import types

    soma = h.Section(name="soma")
    soma.L = soma.diam = 20.0
    one = types.SimpleNamespace(sections_by_type={"soma": [soma]}, all=[soma],
                                soma_center=soma(0.5))
    try:
        presets.load("mature").apply(one)
        state = steady.solve([soma])
        assert -60 < state.v < -50
        assert 5.0 < state.concentrations["cl"] < 8.0
        assert 5.0 < state.concentrations["na"] < 12.0  # measured 4-12 mM (scorecard nai-soma)
    finally:
        del one, soma


@pytest.mark.parametrize("name", presets.NAMES)
def test_presets_give_a_whole_cell_that_rests(cell, name):
    """Every region of the fake cell has owners, pump and leaks: a resting state
    exists. Without its axon-initial-segment rules the chloride system is the
    same everywhere, so Cli varies along the cell only through the Cl leak,
    whose driving force follows Vm, which the trunk's K channels make differ
    by about 0.5 mV: under 1 %. The mature Cl gives an E_GABA within the
    measured -75..-65 mV (egaba-mature; Cl 4.97-8.68 mM by thermo.egaba at
    Clo 130, HCO3 16/26 mM, P_HCO3/P_Cl 0.2, 37 C);
    the immature one is within cli-immature's measured 19-57 mM."""
    rec = presets.load(name)
    uniform = rec.replace(rules=[r for r in rec.rules if str(r.region) != "ais"])
    uniform.apply(cell)
    # three children at soma(0) and two at axon0(1): siblings meet at one node
    state = steady.solve_cell(cell.all)
    cl = state.concentrations["cl"]
    assert cl.max() / cl.min() - 1 < 1e-2
    assert (4.97 < cl.min() < 8.68) if name == "mature" else (19.0 < cl.min() < 57.0)
    assert -90 < state.v.min() and state.v.max() < -55
    del state


def test_the_mature_axon_initial_segment_holds_more_chloride(cell):
    """Without KCC2 in the axon initial segment (Szabadics et al. 2006), Cl is
    highest there and falls towards the soma and the dendrites: the
    axo-somato-dendritic gradient of E_GABA that Khirug et al. 2008 measured."""
    presets.load("mature").apply(cell)
    state = steady.solve_cell(cell.all)
    cl = dict(zip(map(str, state.segments), state.concentrations["cl"]))

    def mean(region):
        return sum(cl[str(s)] for s in regions.parse(region).segments(cell)) / len(
            regions.parse(region).segments(cell))

    assert mean("ais") > mean("soma") > mean("dendrite & distance > 100")
    del state


def test_add_appends_an_overriding_rule(cell):
    """Bumetanide on the immature preset: NKCC1 blocked everywhere by one more rule."""
    base = presets.load("immature")
    blocked = base.add("all", "nkcc1", note="bumetanide", imax=0)
    assert blocked.rules[:-1] == base.rules and len(blocked.rules) == len(base.rules) + 1
    blocked.apply(cell)
    assert all(seg.nkcc1.imax == 0.0 for sec in cell.all for seg in sec)
    assert all(seg.kcc2.imax == base.rules[[r.mechanism for r in base.rules].index("kcc2")]
               .values["imax"] for sec in cell.all for seg in sec)


# ----------------------------------------------------------------------------
# passive (cable) properties
# ----------------------------------------------------------------------------

def passive_example() -> Recipe:
    return example().replace(passive=[
        {"region": "all", "Ra": 150.0, "cm": "0.01 F/m2", "note": "Golding et al. 2005"},
        {"region": "apical & distance > 100", "cm": 2.0, "note": "spines"},
        recipe.PassiveRule("axon", Ra="0.1 kohm cm")])


def test_passive_rules_round_trip_and_convert_units():
    r = passive_example()
    text = r.to_toml()
    assert "[[passive]]" in text
    back = Recipe.from_toml(text)
    assert back == r and hash(back) == hash(r) and back.to_toml() == text
    assert Recipe.from_dict(r.to_dict()) == r
    # kept as written; 0.01 F/m2 = 1 uF/cm2 and 0.1 kohm cm = 100 ohm cm
    assert r.passive[0].cm == "0.01 F/m2"
    assert r.passive[0].values["cm"] == pytest.approx(1.0, rel=1e-15)
    assert r.passive[2].values == {"Ra": pytest.approx(100.0, rel=1e-15)}
    assert "passive" not in example().to_dict()  # absent unless given


@pytest.mark.parametrize("rule, words", [
    ({"region": "all"}, "give Ra"),
    ({"region": "all", "Ra": 0.0}, "outside its allowed range"),
    ({"region": "all", "cm": 1e3}, "outside its allowed range"),
    ({"region": "all", "cm": "1 mS/cm2"}, "does not convert to uF/cm2"),
    ({"region": "all", "Ra": "150"}, "needs a unit"),
    ({"region": "all", "Raa": 150.0}, "Did you mean 'Ra'"),
    ({"region": "dendrites", "cm": 1.0}, "bad region"),
])
def test_bad_passive_rules(rule, words):
    with pytest.raises(RecipeError, match=words):
        example().replace(passive=[rule])
    with pytest.raises(RecipeError, match="passive must be a list"):
        example().replace(passive={"region": "all", "cm": 1.0})


def test_bad_passive_table_in_toml():
    text = example().to_toml().replace("[[rules]]", '[passive]\nregion = "all"\n\n[[rules]]', 1)
    with pytest.raises(RecipeError, match=r"\[\[passive\]\]"):
        Recipe.from_toml(text)


def test_apply_sets_ra_per_section_and_cm_per_segment(cell):
    r = passive_example()
    r.apply(cell)  # passive first, then the mechanisms
    byname = cell.byname
    # Ra: 150 everywhere but the axon and its boutons (100, rule 3)
    assert byname["soma"].Ra == 150.0 and byname["apic1"].Ra == 150.0
    assert byname["axon0"].Ra == pytest.approx(100.0, rel=1e-15)
    assert byname["bouton2"].Ra == pytest.approx(100.0, rel=1e-15)
    # cm: 1 everywhere, 2 beyond 100 um of the apical dendrite (centres at
    # 35, 85, 135, 185 um in apic0)
    assert [seg.cm for seg in byname["apic0"]] == pytest.approx([1.0, 1.0, 2.0, 2.0], rel=1e-15)
    assert [seg.cm for seg in byname["apic1"]] == [2.0, 2.0]
    summary = r.apply_passive(cell)
    assert [(s["rule"], s["sections"], s["segments"]) for s in summary] == [
        (1, 10, 28), (2, 0, 4), (3, 5, 0)]
    # Ra goes by a section's middle segment: apic0's (the third of four, 135
    # um) is in "distance > 100", so a rule giving Ra there sets all of apic0
    rec = example().replace(passive=[{"region": "apical & distance > 100", "Ra": 300.0}])
    rec.apply_passive(cell)
    assert byname["apic0"].Ra == 300.0 and byname["soma"].Ra == 150.0


def test_swap_mechanism_keeps_the_parameters_and_validates():
    """The presets' lean Ca owner swapped for the full one (what added-buffer
    does to load a dye): same regions, same parameters, same notes."""
    lean = presets.load("mature")
    full = lean.swap_mechanism("cabuf", "cadyn")
    assert "cabuf" not in full.mechanisms() and "cadyn" in full.mechanisms()
    pairs = [(a, b) for a, b in zip(lean.rules, full.rules) if a.mechanism == "cabuf"]
    assert len(pairs) == 3
    for a, b in pairs:
        assert (b.mechanism, b.region, dict(b.params), b.note) == \
            ("cadyn", a.region, dict(a.params), a.note)
    assert lean.swap_mechanism("mito", "er") is lean  # nothing to swap (no mitochondria)
    # cadyn has parameters cabuf lacks: the other way round is refused by name
    with pytest.raises(RecipeError, match="cbtot"):
        full.add("soma", "cadyn", cbtot=0.04).swap_mechanism("cadyn", "cabuf")


def test_two_owners_of_one_concentration_are_refused(cell):
    """cadyn and cabuf both write cai: a section can have only one of them."""
    r = Recipe("two", rules=[{"region": "all", "mechanism": "cabuf"},
                             {"region": "soma", "mechanism": "cadyn"}])
    with pytest.raises(RecipeError, match=r"rule 2: cadyn would go into .*soma.*cabuf.*both "
                                          r"write cai"):
        r.apply(cell)



def test_a_changed_recipe_is_no_longer_calibrated():
    """The calibration table describes the model that was fitted: renaming keeps
    it, any change of the model (a rule added, a mechanism swapped, a global)
    drops it."""
    from ionhomeo import presets

    d = presets.load("mature").to_dict()
    d["calibration"] = {"method": "a fit", "seed": "none"}
    rec = Recipe.from_dict(d)
    assert rec.calibrated and rec.replace(name="mine").calibrated
    assert not rec.add("soma", "kcc2", imax=0.0).calibrated
    assert not rec.replace(globals={"pmca": {"nh": 0.0}}).calibrated
    assert rec.replace(rules=rec.rules, calibration=rec.calibration).calibrated
    assert Recipe.from_toml(rec.to_toml()).calibration == rec.calibration


def test_a_calibration_table_holds_plain_values_only():
    from ionhomeo import presets

    d = presets.load("mature").to_dict()
    d["calibration"] = {"targets": [{"a": 1}]}
    with pytest.raises(RecipeError, match="calibration must be a table"):
        Recipe.from_dict(d)
    d["calibration"] = {"method": "fit", "seed": "none", "targets": ["a", "b"]}
    rec = Recipe.from_dict(d)
    assert hash(rec) == hash(Recipe.from_dict(d))
    assert rec.replace(celsius=rec.celsius).calibrated  # nothing changed
    assert not rec.swap_mechanism("cabuf", "cadyn").calibrated


def test_a_recipe_sets_its_globals_and_does_not_inherit_another_recipes(h, cell):
    """GLOBALs are one value per process. The presets set the PMCA's nh to 2
    (electroneutral); a recipe applied after them that does not set nh gets
    pmca.mod's default (0), not the preset's; a GLOBAL set by hand is left
    alone by a recipe that does not set it."""
    presets.load("mature").apply(cell)
    assert h.nh_pmca == 2.0
    plain = Recipe(name="plain", rules=[{"region": "all", "mechanism": "pmca"}])
    plain.apply(cell)
    assert h.nh_pmca == 0.0
    h.nh_pmca = 1.0  # by hand
    plain.apply(cell)
    assert h.nh_pmca == 1.0
    h.nh_pmca = 0.0


def test_a_global_that_differs_from_a_live_cells_is_refused(h):
    """Two live cells share every GLOBAL: a recipe whose nh differs from the
    live mature cell's is refused, naming both and the fix; once that cell is
    destroyed it applies."""
    from ionhomeo.cell import Cell
    from ionhomeo.geometry import cylinder

    plain = Recipe(name="plain", rules=[{"region": "all", "mechanism": "pmca"}])
    first = Cell("ball_and_stick", "mature")
    try:
        with pytest.raises(RecipeError, match=r"recipe 'plain' sets pmca\.nh = 0, but the live "
                           r"cell 'ball_and_stick' \(recipe 'mature'\) has pmca with nh = 2.*"
                           r"\[globals\.pmca\].*destroy 'ball_and_stick' first"):
            Cell(cylinder(10.0, 10.0), plain)
        same = Cell(cylinder(10.0, 10.0), plain.replace(globals={"pmca": {"nh": 2.0}}))
        same.destroy()
    finally:
        first.destroy()
    second = Cell(cylinder(10.0, 10.0), plain)
    assert h.nh_pmca == 0.0
    second.destroy()


def test_a_recipe_leaves_a_global_changed_by_hand_or_needed_by_a_live_cell(h, cell):
    """A GLOBAL changed by hand after a recipe set it is the user's: the next
    recipe leaves it; and one a live cell's recipe relies on is not reset by a
    recipe that does not place that mechanism."""
    from ionhomeo.cell import Cell
    from ionhomeo.geometry import cylinder

    presets.load("mature").apply(cell)
    h.nh_pmca = 1.0  # by hand, after the preset set 2
    Recipe(name="plain", rules=[{"region": "all", "mechanism": "pmca"}]).apply(cell)
    assert h.nh_pmca == 1.0
    h.nh_pmca = 0.0
    live = Cell("ball_and_stick", "mature")
    try:
        assert h.nh_pmca == 2.0
        no_pmca = Recipe(name="no-pmca", rules=[{"region": "all", "mechanism": "cldyn"}])
        other = Cell(cylinder(10.0, 10.0), no_pmca)
        assert h.nh_pmca == 2.0  # the live mature cell keeps its electroneutral PMCA
        other.destroy()
    finally:
        live.destroy()
    # once it is gone, the next recipe with a PMCA and no nh gets pmca.mod's 0
    Recipe(name="plain", rules=[{"region": "all", "mechanism": "pmca"}]).apply(cell)
    assert h.nh_pmca == 0.0


def test_a_refused_recipe_changes_nothing(h, cell):
    """A recipe refused for a GLOBAL that differs from a live cell's, or for a
    function of position out of range, leaves the GLOBALs, the temperature
    and the cable as they were."""
    from ionhomeo.cell import Cell
    from ionhomeo.geometry import cylinder

    celsius, ra = h.celsius, cell.all[0].Ra
    presets.load("mature").apply(cell)  # nh 2, tracked
    bad = Recipe(name="bad", celsius=20.0, passive=[{"region": "all", "Ra": 150.0}],
                 rules=[{"region": "all", "mechanism": "pmca",
                         "params": {"imax": {"function": "linear", "at0": -1.0,
                                             "slope": "0 per um"}}}])
    with pytest.raises(RecipeError):
        bad.apply(cell)
    assert (h.nh_pmca, h.celsius, cell.all[0].Ra) == (2.0, celsius, ra)
    live = Cell("ball_and_stick", "mature")
    try:
        conflicting = Recipe(name="conflicting", celsius=20.0, globals={"pmca": {"nh": 0.0}},
                             rules=[{"region": "all", "mechanism": "cldyn"}])
        with pytest.raises(RecipeError, match="pmca.nh = 0, but the live cell"):
            conflicting.apply(cell)  # sets nh without placing pmca: still refused
        assert (h.nh_pmca, h.celsius) == (2.0, celsius)
    finally:
        live.destroy()
