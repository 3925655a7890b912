"""ionhomeo.units: the one unit table of recipes, protocol options and the CLI."""

import pytest

from ionhomeo import recipe, units
from ionhomeo.mechanisms import get


@pytest.mark.parametrize("text, target, expected", [
    ("0.1 mM", "uM", 100.0),            # exact decimal scaling, not 100.00000000000001
    ("0.5 A/m2", "mA/cm2", 0.05),       # SI current density (1 A/m2 = 0.1 mA/cm2)
    ("0.01 Hz", "/ms", 1e-5),
    ("0.01 1/s", "/ms", 1e-5),
    ("2 min", "s", 120.0),
    ("1 F/m2", "uF/cm2", 100.0),
    ("3 pS/um2", "mS/cm2", 0.3),
    ("40 nM", "mM", 4e-5),
    ("5 \u00b5M", "uM", 5.0),           # micro sign
    ("12 ohm cm", "ohmcm", 12.0),       # spaces inside a unit
])
def test_conversions_are_exact(text, target, expected):
    number, unit = units.parse(text)
    assert units.convert(number, unit, target) == expected


def test_units_of_different_kinds_do_not_convert():
    with pytest.raises(units.UnitError, match="does not convert to 'mM'; accepted: M, mM"):
        units.convert("1", "ms", "mM")
    with pytest.raises(units.UnitError, match="not a number"):
        units.parse("fast")


def test_recipes_read_values_with_the_same_table():
    imax = get("kcc2").parameters["imax"]
    assert recipe.to_mod_units("0.5 A/m2", imax) == 0.05
    with pytest.raises(recipe.RecipeError, match="Accepted: A/m2, mA/cm2, uA/cm2, pA/um2"):
        recipe.to_mod_units("1 mM", imax)


@pytest.mark.parametrize("text, target, expected", [
    # the usual spellings of a rate, and negative powers
    ("0.01 /s", "1/s", 0.01),
    ("0.01 s-1", "Hz", 0.01),
    ("0.01 s^-1", "/ms", 1e-5),
    ("0.01 s\u207b\u00b9", "1/s", 0.01),   # s⁻¹
    ("0.02 khz", "Hz", 20.0),              # a unit in another case, when only one is meant
    ("120 /min", "1/s", 2.0),              # 1 /min = 1/60 /s
    ("0.5 A m-2", "mA/cm2", 0.05),         # 1 A/m2 = 1 A / 1e4 cm2 = 0.1 mA/cm2
    ("0.5 A/m\u00b2", "mA/cm2", 0.05),     # m²
    ("5 uA cm\u207b\u00b2", "mA/cm2", 0.005),
    ("2 mS cm-2", "S/cm2", 0.002),
    # the mod files' own units, now convertible
    ("1 fL", "um3", 1.0),                  # 1 fL = 1e-15 L = 1e-18 m3 = 1 um3
    ("5 pL", "fL", 5000.0),
    ("1e-5 cm/s", "um/s", 0.1),            # 1 cm/s = 1e4 um/s
    ("0.6 um2/ms", "cm2/s", 6e-6),         # 1 um2/ms = 1e-8 cm2 / 1e-3 s = 1e-5 cm2/s
    ("1 mM/ms", "uM/s", 1e6),              # 1 mM/ms = 1e3 uM / 1e-3 s
    ("1 /uM-s", "/mM-ms", 1.0),            # 1/(1e-6 M s) = 1/(1e-3 M 1e-3 s)
    ("-55 kJ/mol", "kJ/mole", -55.0),
])
def test_usual_spellings_convert_with_the_factors_written_out(text, target, expected):
    number, unit = units.parse(text)
    assert units.convert(number, unit, target) == pytest.approx(expected, rel=1e-15)


def test_an_ambiguous_case_is_refused_not_guessed():
    assert units.normalise("mm") == "mm"  # a length, as written
    assert units.normalise("MM") == "MM"  # mm or mM: neither is guessed
    with pytest.raises(units.UnitError, match="does not convert to 'mM'"):
        units.convert("1", "MM", "mM")


def test_recipe_values_in_the_mod_files_other_units():
    """Parameters whose mod-file units had no table entry (um2/ms, cm/s,
    mM/ms) take values in any unit of their kind."""
    d = get("cldyn").parameters["D"]
    assert d.units == "um2/ms"
    assert recipe.to_mod_units("2e-5 cm2/s", d) == pytest.approx(2.0)
    pcl = get("clleak").parameters["pcl"]
    assert recipe.to_mod_units("1e-7 m/s", pcl) == pytest.approx(1e-5)


@pytest.mark.parametrize("spelling", ["MV", "MA", "PA", "MS", "Mm"])
def test_a_prefix_is_never_case_folded(spelling):
    """MV is megavolt, not mV; PA petaampere, not pA: folding the case of a
    prefix letter would be a silent factor of 1e9 or more. Refused instead."""
    from ionhomeo import units

    assert units.kind(spelling) is None
    assert units.normalise(spelling) == spelling


def test_a_case_that_means_nothing_else_is_folded():
    from ionhomeo import units

    assert units.normalise("hz") == units.normalise("HZ") == "Hz"
    assert units.normalise("mv") == "mV"  # v is no prefix: only the volt
