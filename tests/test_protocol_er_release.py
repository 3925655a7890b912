"""er-release: IP3-evoked and Ca-induced release from the ER, SERCA refilling,
and the SERCA-versus-MCU crossover (issue 5)."""

import json
import math

import pandas as pd
import pytest

from ionhomeo.protocols import er_release

import figures
import reference

LOADS_UM = (20.0, 40.0, 50.0, 100.0)


@pytest.fixture(scope="module")
def result(h, tmp_path_factory):
    out = tmp_path_factory.mktemp("er_release")
    before = len(list(h.allsec()))
    nh = {m: getattr(h, f"nh_{m}") for m in ("serca", "mcu")}
    h.dt, h.secondorder = 0.0125, 1  # unlike the protocol's, to see them restored
    try:
        res = er_release.run(out_dir=out, duration_s=15.0, loads_uM=LOADS_UM, cicr_s=3.0)
        after = {"dt": h.dt, "secondorder": h.secondorder, "cvode": h.CVode().active(),
                 "nh": {m: getattr(h, f"nh_{m}") for m in nh},
                 "sections": len(list(h.allsec())) - before}
    finally:
        h.dt, h.secondorder = 0.025, 0
    return res, out, after, nh


def _values(res):
    return dict(zip(res.summary["quantity"], res.summary["value"]))


def test_crossover_matches_hill_and_michaelis_menten_formulas(h, result):
    res, _, _, _ = result
    v = _values(res)
    # the mod-file defaults: SERCA vmax 1e-4 mM/ms, km 0.3 uM; MCU vmax 1e-3
    # mM/ms, km 10 uM (uM units below)
    ve, ke, vm, km = 1e-4, 0.3, 1e-3, 10.0
    hill2 = math.sqrt((ve * km ** 2 - vm * ke ** 2) / (vm - ve))
    mm = (ve * km - vm * ke) / (vm - ve)  # the reference table's formula
    assert v["crossover Hill 2 formula"] == pytest.approx(hill2, rel=1e-12)
    assert v["crossover Hill 1 formula"] == pytest.approx(mm, rel=1e-12)
    assert v["crossover Michaelis-Menten formula"] == pytest.approx(mm, rel=1e-12)
    for nh in (2, 1):
        rel = v[f"crossover Hill {nh} rel_error"]
        # the 1e-6. With both pools at 1e-12 mM, SERCA's
        # thermodynamic factor is 1 to double precision, MCU's differs from 1
        # by about 1e-15 at the crossover, and brentq stops at rtol 1e-12: the
        # simulated crossover equals the formula's to about 1e-13 (measured
        # 4e-14), so 1e-10 holds with a wide margin
        assert rel < 1e-6
        assert rel < 1e-10, (nh, rel)
        # and the simulated uptake follows the Hill laws over 0.01-100 uM
        assert v[f"flux deviation Hill {nh}"] < 1e-10
        check = res.check(f"crossover Hill {nh}")
        assert check.passed and check.relation == "rel" and check.tolerance == 1e-6
        assert check.obtained == v[f"crossover Hill {nh} simulated"]
        assert check.expected == v[f"crossover Hill {nh} formula"]
        assert check.source.startswith("physics:")
    assert res.passed is True
    assert "check" not in set(res.summary["quantity"])  # pass/fail is in res.checks


def test_ip3_releases_and_serca_refills(h, result):
    res, _, _, _ = result
    v = _values(res)
    # the compartment starts at the ER's resting balance
    assert v["ER_base"] == pytest.approx(0.5, rel=1e-4)
    assert v["Cai_base"] == pytest.approx(0.1, rel=1e-4)
    assert v["ER_released"] > 0.1, "IP3 releases ER Ca"
    assert v["Cai_peak_A"] > 3 * v["Cai_base"], "and raises cytosolic Ca"
    # SERCA refills the ER after IP3 is removed (at 7 s): 90 % within the
    # remaining 8 s, and the cytosol returns to rest
    assert v["t90_refill"] < 15.0 - 7.0
    assert v["t50_refill"] < v["t90_refill"]
    assert v["Cai_end_A"] == pytest.approx(v["Cai_base"], rel=0.01)
    # closed compartment: cytosolic free + bound + ER Ca is conserved; CVODE
    # keeps this linear invariant to its Newton tolerance (measured 4e-16 of
    # the total here)
    assert v["conservation_A"] < 1e-9
    t = res.timecourse
    assert set(t["variable"]) == {"cai", "caeri", "ip3", "j_ip3r", "j_serca", "j_erleak"}
    ip3 = t[t["variable"] == "ip3"]
    assert ip3["value"].max() == pytest.approx(10.0)  # uM


def test_cicr_is_all_or_none_and_needs_the_ryr(h, result):
    res, out, _, _ = result
    v = _values(res)
    table = pd.read_csv(out / "er-release_cicr.csv")
    on = table[table["ryr"] == "on"].set_index("load_uM")
    off = table[table["ryr"] == "blocked"].set_index("load_uM")
    assert not off["triggered"].any(), "no release with the RyR blocked"
    assert on["triggered"].any() and not on["triggered"].all(), "a threshold within the loads"
    for load in LOADS_UM:
        ratio = on.loc[load, "Cai_peak_uM"] / off.loc[load, "Cai_peak_uM"]
        if on.loc[load, "triggered"]:
            # release empties most of the ER and amplifies the Ca signal
            assert on.loc[load, "ER_released"] > 0.8 and ratio > 2, load
        else:
            assert on.loc[load, "ER_released"] < 0.1 and ratio < 1.1, load
    # each condition starts at its own rest: flat baselines
    assert on["Cai_base_uM"].nunique() == 1
    assert v["Cai_rest_B RyR on"] == pytest.approx(0.1, rel=1e-3)
    assert v["ER_rest_B RyR blocked"] > v["ER_rest_B RyR on"]  # the RyR's resting leak
    lo = max(x for x in LOADS_UM if not on.loc[x, "triggered"])
    hi = min(x for x in LOADS_UM if on.loc[x, "triggered"])
    assert lo < v["CICR_threshold"] < hi
    lo_b, hi_b = res.metadata["cicr"]["bracket_uM"]
    assert hi_b / lo_b - 1 <= er_release.THRESHOLD_RTOL
    # the trigger Ca lies between the blocked peaks of the bracketing loads
    assert off.loc[lo, "Cai_peak_uM"] < v["Cai_trigger"] < off.loc[hi, "Cai_peak_uM"]
    # Ca content changes only by what crossed the membrane: to CVODE's
    # tolerance (measured 1e-5 of the load at ionhomeo's default atol)
    assert v["conservation_B"] < 1e-4


def test_files_and_provenance(h, result):
    res, out, _, _ = result
    names = {p.name for p in out.iterdir()}
    stem = "er-release"
    assert names == {f"{stem}.csv", f"{stem}_cicr.csv", f"{stem}_cicr_timecourse.csv",
                     f"{stem}_crossover.csv", f"{stem}_summary.csv", f"{stem}_checks.csv",
                     f"{stem}.json", f"{stem}.png"}
    meta = json.loads((out / f"{stem}.json").read_text())
    assert meta["protocol"] == "er-release"
    assert [c["name"] for c in meta["checks"]] == ["crossover Hill 2", "crossover Hill 1"]
    assert all(c["passed"] is True and c["tolerance"] == 1e-6 for c in meta["checks"])
    assert meta["spec"]["loads_uM"]["value"] == list(LOADS_UM)
    table = pd.read_csv(out / f"{stem}_checks.csv")
    assert list(table["result"]) == ["PASS", "PASS"]
    # the own compartments are geometries with the protocol's presets
    recipes = {k: c["cell"]["recipe"]["name"] for k, c in meta["cells"].items()}
    assert recipes == {"A": "er-release-ip3", "B": "er-release-cicr", "C": "er-release-uptake"}
    assert meta["cells"]["A"]["cell"]["geometry"]["pieces"][0]["diam_um"] == 2.0
    flux = pd.read_csv(out / f"{stem}_crossover.csv")
    assert set(flux["nh"]) == {1.0, 2.0} and set(flux["transporter"]) == {"serca", "mcu"}


def test_no_sections_left_and_settings_restored(h, result):
    _, _, after, nh = result
    assert after == {"dt": 0.0125, "secondorder": 1, "cvode": 0, "nh": nh, "sections": 0}
    assert nh == {"serca": 2.0, "mcu": 2.0}


def test_soma_of_a_cell(h):
    """Parts A and B at the soma of the ball-and-stick cell (mature preset plus ER)."""
    res = er_release.run(morphology="ball_and_stick", duration_s=8.0, loads_uM=(5.0, 30.0),
                         cicr_s=1.5)
    v = _values(res)
    assert res.passed is True  # Part C is the same compartment
    assert v["ER_released"] > 0.1
    assert math.isnan(v["conservation_A"])  # an open cell: not a conservation test
    cells = res.metadata["cells"]
    added = [r["mechanism"] for r in cells["A"]["cell"]["recipe"]["rules"][-4:]]
    assert added == ["er", "serca", "erleak", "ip3r"]
    assert cells["B"]["cell"]["recipe"]["rules"][-1]["mechanism"] == "ryr"


def test_a_recipe_without_a_morphology_is_applied_to_the_own_dendrite(h):
    """The one policy of the protocols: a recipe alone is applied to the protocol's
    own geometry (it was refused before), here with the ER mechanisms added to it."""
    res = er_release.run(recipe="mature", duration_s=8.0, loads_uM=(5.0, 30.0), cicr_s=1.5)
    v = _values(res)
    assert res.passed is True and v["ER_released"] > 0.1
    assert math.isnan(v["conservation_A"])  # a cell with plasma-membrane Ca transport
    cell = res.metadata["cells"]["A"]["cell"]
    assert cell["geometry"]["pieces"][0]["length_um"] == 10.0
    assert [r["mechanism"] for r in cell["recipe"]["rules"][-4:]] == ["er", "serca", "erleak",
                                                                      "ip3r"]


def test_bad_arguments(h):
    from ionhomeo.mechanisms import ParameterError

    with pytest.raises(ParameterError, match="duration_s"):
        er_release.run(duration_s=5.0)  # IP3 ends at 7 s
    with pytest.raises(ParameterError, match="loads_uM"):
        er_release.run(loads_uM=(10.0, 0.0))
    with pytest.raises(ParameterError, match="loads_uM"):
        er_release.run(loads_uM=())
    with pytest.raises(ParameterError, match="cicr_s"):
        er_release.run(cicr_s=0.1)  # the load ends at 110 ms
    with pytest.raises(ParameterError, match="Did you mean 'ip3_uM'"):
        er_release.run(ip3_um=5.0)


def test_the_numbers_are_the_stored_ones(result):
    """Every summary number as stored before (tests/reference.py): a change
    that moves one is a bug, or a fix named in its commit."""
    reference.check("er-release", result[0].summary)


def test_the_figure_keeps_the_house_rules(result):
    """Its axes in the units of the table columns they plot, symbols (µM, τ, κ) in
    its text, the protocol's name in its title, its panels lettered (tests/figures.py)."""
    figures.check_figure(result[1], "er-release")
