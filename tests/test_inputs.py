"""Bad input gets a clear error that names the problem and the fix."""

import pytest

from ionhomeo import mechanisms, steady
from ionhomeo.defaults import Defaults

from cells import RESTING, compartment


@pytest.mark.parametrize("field, value", [("nai", -1.0), ("cli", 0.0), ("ko", float("nan")),
                                          ("cao", float("inf"))])
def test_nonpositive_or_nonfinite_concentration_rejected(field, value):
    with pytest.raises(ValueError, match=rf"Defaults\.{field}"):
        Defaults(**{field: value})


def test_kelvin_given_as_celsius_rejected():
    with pytest.raises(ValueError, match="degrees Celsius"):
        Defaults(celsius=310.15)


def test_unknown_default_and_wrong_type_rejected():
    with pytest.raises(KeyError, match="unknown default"):
        Defaults().replace(clx=5)
    with pytest.raises(TypeError, match="must be a number"):
        Defaults(nai="12 mM")


def test_unknown_mechanism_names_the_closest_and_lists_all(h):
    sec = h.Section(name="s")
    with pytest.raises(mechanisms.UnknownMechanismError, match="Did you mean 'kcc2'") as e:
        mechanisms.insert(sec, "kcc3")
    assert "nkcc1" in str(e.value)  # the list of what exists
    del e


def test_point_process_and_density_confusion(h):
    sec = h.Section(name="s")
    with pytest.raises(mechanisms.UnknownMechanismError, match="add_point"):
        mechanisms.insert(sec, "GabaA")
    with pytest.raises(mechanisms.UnknownMechanismError, match="insert"):
        mechanisms.add_point(sec(0.5), "kcc2")


@pytest.mark.parametrize("params, match", [
    ({"avail": 1.5}, r"nakpump\.avail = 1\.5 1 is outside its allowed range \[0, 1\]"),
    ({"imax": -0.001}, r"nakpump\.imax = -0\.001 mA/cm2 is outside"),
    ({"imx": 0.01}, r"no parameter 'imx'\. Did you mean 'imax'"),
    ({"imax": "0.004 mA/cm2"}, r"must be a number in mA/cm2"),
    ({"imax": float("nan")}, r"must be finite"),
    ({"kmna": 12.0}, r"GLOBAL parameter.*set_globals"),
])
def test_invalid_parameter_values_rejected(h, params, match):
    sec = h.Section(name="s")
    with pytest.raises(mechanisms.ParameterError, match=match):
        mechanisms.insert(sec, "nakpump", **params)
    assert not sec.has_membrane("nakpump")  # nothing half-done


def test_valid_parameters_are_set_per_segment_and_globally(h):
    sec = h.Section(name="s")
    sec.nseg = 3
    mechanisms.insert(sec, "kcc2", imax=0.07, kwnk=0.001)
    assert [seg.imax_kcc2 for seg in sec] == [0.07] * 3
    mechanisms.set_globals("kcc2", kmcl=7.0)
    try:
        assert h.kmcl_kcc2 == 7.0
    finally:
        mechanisms.set_globals("kcc2", kmcl=mechanisms.get("kcc2").parameters["kmcl"].default)
    with pytest.raises(mechanisms.ParameterError, match="range parameter"):
        mechanisms.set_globals("kcc2", imax=1.0)


def test_steady_state_solver_errors(h):
    sec = compartment(h, RESTING)
    with pytest.raises(steady.SteadyStateError, match="not dynamic"):
        steady.solve([sec], fixed=("ca",))
    bare = h.Section(name="bare")
    with pytest.raises(steady.SteadyStateError, match="concentration owners"):
        steady.solve([bare])
    # a leak with nothing to balance it has no steady state with fixed K
    lone = compartment(h, ["nadyn", "kdyn", "naleak", "kleak"], name="lone")
    with pytest.raises(steady.SteadyStateError, match="no steady state") as e:
        steady.solve([lone])
    del e


def test_catalog_reads_units_ranges_and_docs_from_mod_files():
    cat = mechanisms.catalog()
    assert {"nadyn", "kdyn", "cldyn", "kext", "nakpump", "naleak", "kleak", "clleak",
            "kcc2", "nkcc1", "GabaA", "nav", "kdr"} <= set(cat)
    p = cat["nakpump"].parameters["avail"]
    assert (p.default, p.units, p.low, p.high, p.scope) == (1.0, "1", 0.0, 1.0, "range")
    assert cat["nakpump"].parameters["dgatp"].scope == "global"
    assert cat["GabaA"].kind == "point" and "icl" in cat["GabaA"].writes
    assert set(cat["nkcc1"].writes) == {"ina", "ik", "icl"}
    for m in cat.values():
        for par in m.parameters.values():
            assert par.units and par.doc, (m.name, par.name)  # every parameter documented
            assert par.low <= par.default <= par.high, (m.name, par.name)
