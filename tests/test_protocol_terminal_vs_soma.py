"""Protocol terminal-vs-soma: the same Ca entry into a terminal and a soma,
amplitudes against the reference table, decay ratio against kappa and S/V."""

import json
import math

import pandas as pd
import pytest

from ionhomeo import buffering
from ionhomeo.mechanisms import ParameterError
from ionhomeo.protocols import terminal_vs_soma

import figures
import reference

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """The two reference compartments (0.2 fL, kappa 250; 5 pL, kappa 40): about 5 s."""
    out = tmp_path_factory.mktemp("terminal_vs_soma")
    return terminal_vs_soma.run(out_dir=out), out


def test_amplitudes_match_the_reference_table(h, default_run):
    result, _ = default_run
    v = result.value
    assert result.passed is True
    assert [c.name for c in result.checks] == ["Ca_peak_terminal", "Ca_peak_soma", "tau_ratio"]
    assert result.check("Ca_peak_terminal").expected == pytest.approx(4.1, rel=1e-12)
    assert result.check("Ca_peak_soma").expected == pytest.approx(101.0, rel=1e-12)
    assert result.check("Ca_peak_terminal").source.startswith("paper:")
    # the tolerances: the table quotes 4.1 uM (two digits, +-1.2 %)
    # and 101 nM (to the nM)
    assert v("Ca_peak_terminal") == pytest.approx(4.1, rel=0.02)
    assert v("Ca_peak_soma") == pytest.approx(101.0, abs=0.5)
    # against exact mass action for the same load and buffer: only the PMCA's
    # extrusion during the 1 ms pulse and the 0.5 ms until the reading
    # separates them (0.06 % of the terminal's rise measured, 0.1 % allowed;
    # soma rise 0.97 nM, extrusion 0.1 % of it: 1e-3 nM measured, 0.01 allowed)
    assert v("Ca_peak_terminal") == pytest.approx(v("Ca_peak_terminal_mass_action"), rel=1e-3)
    assert v("Ca_peak_soma") == pytest.approx(v("Ca_peak_soma_mass_action"), abs=0.01)
    # the load: exactly 1.2e5 ions in 0.2 fL and in 5 pL
    sites = result.metadata["sites"]
    assert sites["terminal"]["load_mM"] == pytest.approx(
        float(buffering.ions_to_mM(1.2e5, 0.2)), rel=1e-12)
    assert sites["soma"]["load_mM"] == pytest.approx(
        float(buffering.ions_to_mM(1.2e5, 5000.0)), rel=1e-12)


def test_decay_ratio_follows_kappa_and_surface_to_volume(h, default_run):
    result, _ = default_run
    v = result.value
    assert abs(v("tau_ratio_error")) < 0.05  # the check
    # Tighter: measured 0.5 %. The terminal's fit window starts at a 5 nM
    # deviation where the PMCA's rate differs from its resting slope by
    # 2 dc/(c + K_m) = 2.5 %, falling along the window; 1.5 % allowed.
    assert abs(v("tau_ratio_error")) < 0.015
    for region in ("terminal", "soma"):
        assert v(f"tau_{region}") == pytest.approx(v(f"tau_{region}_expected"), rel=0.015)
    # the formula's factors from the model's own parameters
    assert v("factor_kappa") == pytest.approx(251 / 41, rel=1e-9)
    assert v("factor_S_over_V") == pytest.approx((0.2 / 5000.0) ** (1 / 3), rel=1e-9)
    assert v("factor_extrusion") == pytest.approx(1.0, rel=1e-9)  # same pump, same rest


def test_terminal_vs_soma_files(h, default_run):
    result, out = default_run
    assert {p.name for p in out.iterdir()} == {
        "terminal-vs-soma.csv", "terminal-vs-soma_summary.csv", "terminal-vs-soma_checks.csv",
        "terminal-vs-soma.json", "terminal-vs-soma.png"}
    meta = json.loads((out / "terminal-vs-soma.json").read_text())
    assert all(c["passed"] is True for c in meta["checks"])
    assert meta["spec"]["pmca_feedback"] is False
    # the reference compartments, each with the protocol's preset
    assert meta["cells"]["kind"] == "compartments"
    assert {c["recipe"]["name"] for c in meta["cells"]["compartments"].values()} == {
        "terminal-vs-soma"}
    tc = pd.read_csv(out / "terminal-vs-soma.csv")
    assert set(tc["region"]) == {"terminal", "soma"}
    assert (out / "terminal-vs-soma.png").read_bytes()[:8] == PNG_SIGNATURE


def test_pmca_memory_breaks_the_resting_rate_prediction(h):
    """With the PMCA's calmodulin feedback the terminal, after 4 uM, is pumped
    below rest: the decay no longer tests the resting rate (why it is off by default)."""
    result = terminal_vs_soma.run(pmca_feedback=True)
    assert result.passed is False
    assert not result.check("tau_ratio").passed
    assert result.check("Ca_peak_terminal").passed and result.check("Ca_peak_soma").passed
    assert result.value("Ca_peak_terminal") == pytest.approx(4.1, rel=0.02)
    assert any("calmodulin" in w for w in result.metadata["warnings"])
    # the soma (1 nM transient) does not activate calmodulin: still as predicted
    assert result.value("tau_soma") == pytest.approx(result.value("tau_soma_expected"), rel=0.015)


def test_terminal_vs_soma_on_a_cell(h):
    """The cell's soma and a bouton, with the mature preset's capacities."""
    result = terminal_vs_soma.run(morphology="ball_and_stick")
    v = result.value
    assert v("kappa_terminal") == pytest.approx(187.0, rel=1e-9)
    assert v("kappa_soma") == pytest.approx(79.0, rel=1e-9)
    assert v("Ca_peak_soma") == pytest.approx(v("Ca_peak_soma_expected"), abs=0.5)
    # the bundled bouton's area (from its 3-D points) exceeds pi diam L; Cell
    # sets cadyn's afac, so cadyn receives every injected ion. The calibrated
    # preset's bouton NCKX (0.37 mA/cm2) extrudes during the load: the peak is
    # 3.9 % below mass action for the load in the bouton's own volume (0.2 %
    # with the earlier preset's NCX alone), so the 2 % check fails and says so
    # (bounds: the measured 3.9 % shortfall within 1 and 6 %: more than the
    # earlier preset's 0.2 %, less than twice the measured one)
    assert 0.94 < v("Ca_peak_terminal") / v("Ca_peak_terminal_received") < 0.99
    assert not result.check("Ca_peak_terminal").passed
    assert not any("3-D points" in w for w in result.metadata["warnings"])
    # and the terminal's return to rest is not one exponential: no decay ratio
    assert math.isnan(v("tau_terminal")) and math.isnan(v("tau_ratio_error"))
    assert any(w.startswith("terminal: no single-exponential return to rest")
               for w in result.metadata["warnings"])
    assert v("tau_soma") == pytest.approx(v("tau_soma_expected"), rel=0.015)  # measured 0.9 %


def test_terminal_vs_soma_applies_a_recipe_to_its_own_cell(h):
    """A recipe without a morphology goes onto the protocol's own cell, a soma
    and a bouton of the reference volumes on an axon (it used to be refused):
    the recipe's regions place the mechanisms (mature: capacity 187 in the
    terminal, the bouton; 79 in the soma), and the recipe is in the provenance."""
    result = terminal_vs_soma.run(recipe="mature")
    v, meta = result.value, result.metadata
    assert meta["cells"]["kind"] == "cell" and meta["cells"]["recipe"]["name"] == "mature"
    assert meta["cells"]["geometry"]["geometry"] == "terminal_vs_soma"
    assert meta["cells"]["sites"]["terminal"].endswith("bouton(0.5)")
    assert meta["spec"]["recipe"] == "mature"
    assert v("kappa_terminal") == pytest.approx(187.0, rel=1e-9)
    assert v("kappa_soma") == pytest.approx(79.0, rel=1e-9)
    assert v("volume_terminal") == pytest.approx(0.2, rel=1e-9)
    assert v("volume_soma") == pytest.approx(5000.0, rel=1e-9)
    # not the table's compartments: amplitudes against mass action in each
    # segment: the soma's 0.005 nM off; the terminal's 4.2 % below it (its
    # NCKX extrudes during the load, as on the cell above) and its decay not
    # one exponential, so those checks fail and the run says so
    assert result.check("Ca_peak_terminal").source.startswith("physics:")
    # (the measured 4.2 % shortfall, bounded as on the cell above)
    assert 0.94 < v("Ca_peak_terminal") / v("Ca_peak_terminal_mass_action") < 0.99
    assert v("Ca_peak_soma") == pytest.approx(v("Ca_peak_soma_mass_action"), abs=0.01)
    assert math.isnan(v("tau_ratio_error")) and result.passed is False
    assert v("tau_soma") == pytest.approx(v("tau_soma_expected"), rel=0.015)  # measured 0.8 %


@pytest.mark.parametrize("kwargs", [{"n_ions": 0}, {"n_ions": float("nan")},
                                    {"hold_mV": "x"}])
def test_terminal_vs_soma_rejects_bad_arguments(kwargs):
    with pytest.raises(ParameterError):
        terminal_vs_soma.run(**kwargs)


def test_the_numbers_are_the_stored_ones(default_run):
    """Every summary number as stored before (tests/reference.py): a change
    that moves one is a bug, or a fix named in its commit."""
    reference.check("terminal-vs-soma", default_run[0].summary)


def test_the_figure_keeps_the_house_rules(default_run):
    """Its axes in the units of the table columns they plot, symbols (µM, τ, κ) in
    its text, the protocol's name in its title, its panels lettered (tests/figures.py)."""
    figures.check_figure(default_run[1], "terminal-vs-soma")
