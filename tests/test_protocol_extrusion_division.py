"""extrusion-division: PMCA versus NCX share of Ca extrusion, the NCX reversal
potential against 3 E_Na - 2 E_Ca, and NCX reversal during a depolarisation
(issue 5)."""

import json

import numpy as np
import pandas as pd
import pytest

from ionhomeo import thermo
from ionhomeo.protocols import extrusion_division

import figures
import reference

CAI_UM = (0.1, 0.3, 1.0, 3.0, 10.0)


@pytest.fixture(scope="module")
def result(h, tmp_path_factory):
    out = tmp_path_factory.mktemp("extrusion_division")
    before = len(list(h.allsec()))
    # integration settings unlike the protocol's, to see that it restores them
    h.dt, h.secondorder = 0.0125, 1
    try:
        # the protocol's own compartment; a shorter depolarisation than the
        # default (500 ms instead of 2 s) still crosses E_NCX twice
        res = extrusion_division.run(out_dir=out, cai_uM=CAI_UM, depol_ms=500.0, after_ms=300.0)
        after = {"dt": h.dt, "secondorder": h.secondorder, "cvode": h.CVode().active(),
                 "sections": len(list(h.allsec())) - before}
    finally:
        h.dt, h.secondorder = 0.025, 0
    return res, out, after


def _values(res):
    return dict(zip(res.summary["quantity"], res.summary["value"]))


def test_reversal_potential_is_3ENa_minus_2ECa(h, result):
    res, _, _ = result
    v = _values(res)
    for nai in extrusion_division.NAI_MM:
        sim = v[f"E_NCX {nai:g} mM simulated"]
        expected = float(thermo.ncx_reversal(nai, 145.0, 1e-4, 2.0, celsius=37.0))
        assert v[f"E_NCX {nai:g} mM expected"] == pytest.approx(expected, abs=1e-12)
        # the criterion
        assert abs(sim - expected) < 1.0, (nai, sim, expected)
        # ncx.mod's exchange term vanishes exactly at 3 E_Na - 2 E_Ca, thermo
        # uses NEURON's R and F, and brentq stops at 1e-12 mV: what is left is
        # round-off of exp/log near 100 mV (measured 6e-14 mV)
        assert abs(sim - expected) < 1e-9, (nai, sim - expected)
        check = res.check(f"E_NCX {nai:g} mM")
        assert check.passed and check.tolerance == 1.0 and check.source.startswith("physics:")
        assert check.obtained == sim and check.expected == v[f"E_NCX {nai:g} mM expected"]
    assert res.passed is True and len(res.checks) == len(extrusion_division.NAI_MM)
    assert "check" not in v  # pass/fail is in res.checks, not a summary row
    assert v["max_abs_error"] < 1e-9
    # the reference table's numbers (37 C, Nao 145, Cao 2 mM, Cai 100 nM):
    # about -65 mV at Nai 12 mM and about -106 mV at 20 mM
    assert v["E_NCX 12 mM simulated"] == pytest.approx(-65, abs=0.5)
    assert v["E_NCX 20 mM simulated"] == pytest.approx(-106, abs=0.5)


def test_ncx_share_rises_with_calcium(h, result):
    res, _, _ = result
    table = res.timecourse
    assert set(table["cai_uM"]) == set(CAI_UM)
    for mode in ("acute", "sustained"):
        part = table[table["condition"] == mode]
        share = part[part["variable"] == "share_NCX"].sort_values("cai_uM")["value"].to_numpy()
        ncx = part[part["variable"] == "I_NCX"].sort_values("cai_uM")["value"].to_numpy()
        pmca = part[part["variable"] == "I_PMCA"].sort_values("cai_uM")["value"].to_numpy()
        # at Nai 12 mM and -70 mV both extrude at every Ca from 0.1 uM up
        # (E_NCX = -64.9 mV at 0.1 uM, and higher at higher Ca)
        assert np.all(ncx > 0) and np.all(pmca > 0)
        # low affinity, high capacity: the NCX share rises with Ca, from about
        # 1 % at rest (ncx.mod: < 0.01 of the PMCA's 0.5 uA/cm2) to the
        # majority at 10 uM (ncx.mod: several uA/cm2 at 5 uM)
        assert np.all(np.diff(share) > 0), share
        assert share[0] < 0.05 and share[-1] > 0.5
    v = _values(res)
    # Ca-calmodulin doubles the PMCA's Vmax and lowers its K_m (pmca.mod), so
    # with the calmodulin state equilibrated the PMCA carries more and NCX
    # overtakes it at a higher Ca
    assert v["I_PMCA 1 uM sustained"] > 1.5 * v["I_PMCA 1 uM acute"]
    assert v["I_NCX 1 uM sustained"] == v["I_NCX 1 uM acute"]
    assert 1.0 < v["Cai_equal_share acute"] < v["Cai_equal_share sustained"] < 10.0


def test_ncx_reverses_when_v_crosses_E_NCX(h, result):
    res, _, _ = result
    v = _values(res)
    assert v["I_NCX_rest_C"] > 0, "forward mode (Ca out) at rest"
    assert v["I_NCX_depol_min"] < 0, "reverse mode (Ca in) at 0 mV"
    assert v["NCX_sign_changes"] == v["v_E_crossings"] == 2
    pairs = res.metadata["depolarisation"]["switches"]
    assert [p["to"] for p in pairs] == ["reverse (Ca in)", "forward (Ca out)"]
    for k in (1, 2):
        # at each sign change v equals E_NCX: the current is paired with the
        # state it was computed from, so only the linear interpolation between
        # 0.025 ms steps separates them (v moves 0.035 mV per step)
        assert v[f"v_switch_{k}"] == pytest.approx(v[f"E_switch_{k}"], abs=1e-3)
        assert abs(v[f"offset_switch_{k}"]) < 1e-3  # ms, far below one step
    # the first change on the upward ramp, the second on the way back down
    assert 50.0 < v["t_switch_1"] < 100.0
    assert v["t_switch_2"] > 50.0 + 50.0 + 500.0
    assert v["sign_agreement"] == 1.0


def test_files_and_provenance(h, result):
    res, out, _ = result
    names = {p.name for p in out.iterdir()}
    stem = "extrusion-division"
    assert names == {f"{stem}.csv", f"{stem}_reversal.csv", f"{stem}_iv.csv",
                     f"{stem}_depolarisation.csv", f"{stem}_summary.csv", f"{stem}_checks.csv",
                     f"{stem}.json", f"{stem}.png"}
    meta = json.loads((out / f"{stem}.json").read_text())
    assert meta["protocol"] == "extrusion-division"
    found = {c["name"]: c for c in meta["checks"]}
    assert set(found) == {f"E_NCX {n} mM" for n in ("8", "12", "20", "40")}
    assert all(c["passed"] is True and c["tolerance"] == 1.0 for c in found.values())
    assert meta["spec"]["depol_ms"] == {"value": 500.0, "unit": "ms"}
    table = pd.read_csv(out / f"{stem}_checks.csv")
    assert list(table["result"]) == ["PASS"] * 4
    summary = pd.read_csv(out / f"{stem}_summary.csv")
    assert "check" not in set(summary["quantity"])
    rev = pd.read_csv(out / f"{stem}_reversal.csv")
    assert list(rev["nai_mM"]) == [8.0, 12.0, 20.0, 40.0]
    depol = pd.read_csv(out / f"{stem}_depolarisation.csv")
    assert set(depol["variable"]) == {"v", "E_NCX", "I_NCX_Ca", "cai", "nai"}


def test_no_sections_left_and_settings_restored(h, result):
    _, _, after = result
    # no new sections (a leftover of an earlier module may be freed meanwhile,
    # so the count can also fall)
    assert after.pop("sections") <= 0
    assert after == {"dt": 0.0125, "secondorder": 1, "cvode": 0}


def test_soma_of_a_cell(h, tmp_path):
    """The same measurements at the soma of the ball-and-stick cell (mature preset)."""
    res = extrusion_division.run(morphology="ball_and_stick", cai_uM=(0.1, 1.0, 10.0),
                                 nai_mM=(12.0, 20.0), depol_ms=200.0, after_ms=100.0)
    v = _values(res)
    assert res.passed is True and v["max_abs_error"] < 1e-9  # as above
    # the cell's resting Nai (about 8.0 mM) is its own, not the default 12 mM
    assert 7.5 < v["Nai_A"] < 8.5
    # there E_NCX at 100 nM is about -32 mV (3 E_Na - 2 E_Ca at 8 mM Na), above
    # -70 mV: at -70 mV the exchanger extrudes Ca, and no reversal is reported
    assert v["I_NCX 0.1 uM sustained"] > 0
    assert not any("reverse" in w for w in res.metadata["warnings"])
    assert res.metadata["cells"]["site"]["cell"]["recipe"]["name"] == "mature"
    assert v["sign_agreement"] == 1.0


def test_a_recipe_alone_is_applied_to_the_own_compartment(h):
    """A recipe without a morphology: the protocol's 20 um soma with that recipe,
    brought to its resting state (the one policy for --recipe)."""
    res = extrusion_division.run(recipe="mature", cai_uM=(0.1, 1.0, 10.0), nai_mM=(12.0,),
                                 depol_ms=100.0, after_ms=50.0)
    site = res.metadata["cells"]["site"]
    assert site["cell"]["recipe"]["name"] == "mature"
    assert site["cell"]["geometry"]["pieces"][0]["diam_um"] == 20.0
    assert site["kind"].startswith("soma centre")  # at its resting state, not at v_mV
    assert res.passed is True
    assert _values(res)["Nai_A"] != 12.0  # the mature soma's own resting Nai


def test_bad_arguments(h):
    from ionhomeo.mechanisms import ParameterError

    with pytest.raises(ParameterError, match="cai_uM"):
        extrusion_division.run(cai_uM=(0.1, -1.0))
    with pytest.raises(ParameterError, match="cai_uM"):
        extrusion_division.run(cai_uM=())
    with pytest.raises(ParameterError, match="depol_ms"):
        extrusion_division.run(depol_ms=0.0)
    with pytest.raises(ParameterError, match="Did you mean 'depol_ms'"):
        extrusion_division.run(depol_s=1.0)


def test_the_numbers_are_the_stored_ones(result):
    """Every summary number as stored before (tests/reference.py): a change
    that moves one is a bug, or a fix named in its commit."""
    reference.check("extrusion-division", result[0].summary)


def test_the_figure_keeps_the_house_rules(result):
    """Its axes in the units of the table columns they plot, symbols (µM, τ, κ) in
    its text, the protocol's name in its title, its panels lettered (tests/figures.py)."""
    figures.check_figure(result[1], "extrusion-division")
