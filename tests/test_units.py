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
