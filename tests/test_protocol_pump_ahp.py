"""Protocol pump-ahp: the slow Na/K-pump afterhyperpolarisation after a spike train,
against the Nai recovery time constant derived from nakpump's own rate law."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from ionhomeo import kinetics, mechanisms, steady
from ionhomeo.cell import Cell
from ionhomeo.geometry import cylinder
from ionhomeo.protocols import pump_ahp

import figures
import reference

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """The protocol as shipped (1 um process, 20 spikes, 125 s: about 3 s; and the
    pyramidal cell, 50 spikes, 3 x 61 s: about 23 s of CPU)."""
    out = tmp_path_factory.mktemp("pump_ahp")
    result = pump_ahp.run(out_dir=out)
    return result, out


def _values(result):
    return dict(zip(result.summary["quantity"], result.summary["value"]))


def test_issue_check_passes(h, default_run):
    result, _ = default_run
    v = _values(result)
    assert v["spikes"] == 20 and v["pulses"] == 20
    # 1. duration: measured vs the model's tau_Na = (diam/4) F / (3 dIp/dNai)
    # within 10 %: the other Na fluxes lengthen it by 5 % (tau_Na_all) and a
    # 14 % Na load adds about 2 % of nonlinearity
    assert abs(v["duration"] / v["duration_pred"] - 1) < 0.10
    assert 10 < v["duration"] < 100  # "tens of seconds"
    # ... and the full slow-manifold prediction is within 3 % (nonlinearity only)
    assert abs(v["tau_Nai"] / v["tau_Na_all"] - 1) < 0.03
    # 2. the AHP follows Nai
    assert abs(v["tau_AHP"] / v["tau_Nai"] - 1) < 0.10
    assert v["correlation"] > 0.99
    # 3. no hyperpolarisation with the pump blocked after the train
    assert v["AHP_ouabain"] > -0.1 * abs(v["AHP"])
    process = result.checks[:4]
    assert [c.name for c in process] == ["duration", "tau_AHP", "correlation",
                                         "ouabain_fraction"]
    assert all(c.passed for c in process)
    assert result.check("duration").expected == pytest.approx(v["duration_pred"], rel=1e-15)
    assert result.check("tau_AHP").expected == pytest.approx(v["tau_Nai"], rel=1e-15)
    assert result.check("ouabain_fraction").obtained == v["ouabain_fraction"]
    assert all(c.source.split(":")[0] in ("model", "physics", "paper") and c.why
               for c in result.checks)


def test_amplitude_is_mv_sized_and_predicted(h, default_run):
    result, _ = default_run
    v = _values(result)
    assert -3.0 < v["AHP"] < -0.3  # mV-sized in a 1 um process
    # quasi-steady prediction with every mechanism (V, Cl, Ca re-balanced at
    # Nai + x, Ki - x): linear in x, so only the nonlinearity of the 14 % load
    # remains; 5 % is generous
    assert v["AHP_t1"] == pytest.approx(v["AHP_pred_all"], rel=0.05)
    # the pump alone overestimates it: the K the spikes lost depolarises
    assert v["AHP_pred_pump"] < v["AHP_pred_all"] < 0
    # charge conservation: the area is -Q_Na/(3 G_m) for the pump alone
    # (amplitude x tau = (I_p'/G_m) dNa x (diam/4) F/(3 I_p')); here the lost K
    # scales the amplitude by AHP_pred_all/AHP_pred_pump (0.77) and the other
    # Na fluxes the duration by tau_Na_all/tau_Na_pred (1.05): about 0.81,
    # and the 2 s before t1 add a little more (measured 0.85)
    expected = (v["AHP_pred_all"] / v["AHP_pred_pump"]) * (v["tau_Na_all"] / v["tau_Na_pred"])
    assert v["AHP_area"] / v["AHP_area_pred"] == pytest.approx(expected, rel=0.08)


def test_twenty_um_soma_estimates(h, default_run):
    result, _ = default_run
    v = _values(result)
    # the same resting state in a 20x wider cylinder: tau scales exactly with diam
    assert v["tau_Na_20um"] == pytest.approx(20 * v["tau_Na_pred"], rel=1e-6)
    assert abs(v["AHP_20um"]) < 0.1  # the known problem: a tiny somatic AHP
    assert v["factor_20um"] == pytest.approx(v["tau_Na_20um"] / 20.0)
    # imax and every leak x factor: tau 20 s, but G_m grows too: the AHP stays tiny
    assert v["tau_Na_20um_imax_leaks"] == pytest.approx(20.0, rel=0.05)
    assert abs(v["AHP_20um_imax_leaks"]) < 0.1
    # imax and pna x factor (pNa/pK x 24): no resting state
    assert math.isnan(v["Vm_20um_imax_pna"])
    assert 1 < v["kmna_max_factor"] < 3
    assert 0 < v["Nai_imax_only"] < 2


def test_rate_law_matches_nakpump(h):
    """The protocol's pump current and Na sensitivity (kinetics' nakpump rate law)
    are nakpump's, in the protocol's own compartment at rest."""
    cell = Cell(cylinder(10.0, 1.0), "na-k-cl-spiking")
    try:
        state = cell.initialize()
        cell.start()
        seg = cell.soma_center
        ip, dip = kinetics.nakpump_at(seg)
        assert ip == pytest.approx(seg.ipump_nakpump, rel=1e-12)
        args = (seg.nao, seg.ki, seg.ko, seg.v, seg.nakpump.imax, 1.0, h.kmna_nakpump,
                h.kmk_nakpump, h.dgatp_nakpump, h.celsius)
        d = 1e-4
        fd = (kinetics.nakpump_current(seg.nai + d, *args)
              - kinetics.nakpump_current(seg.nai - d, *args)) / (2 * d)
        assert dip == pytest.approx(float(fd), rel=1e-6)
        # and NEURON's own pump current responds the same way
        conc = dict(state.concentrations)
        conc["na"] += d
        steady.SteadyState(v=state.v, concentrations=conc, fixed=(),
                           residual=math.nan).finitialize(cell.all)
        up = seg.ipump_nakpump
        conc["na"] -= 2 * d
        steady.SteadyState(v=state.v, concentrations=conc, fixed=(),
                           residual=math.nan).finitialize(cell.all)
        down = seg.ipump_nakpump
        assert dip == pytest.approx((up - down) / (2 * d), rel=1e-6)
        # tau is proportional to the diameter
        t1, t20 = kinetics.nai_recovery_tau_s(np.array([1.0, 20.0]), dip)
        assert t20 == pytest.approx(20 * t1)
    finally:
        seg = None
        cell.destroy()


def test_the_compartment_is_the_preset_in_a_cylinder():
    """The protocol's own cell: the pump-ahp preset (the mechanisms it always
    inserted, in that order, at their mod-file defaults) in a diam_um x length_um cylinder."""
    from ionhomeo import presets

    recipe = presets.load("na-k-cl-spiking")
    assert [r.mechanism for r in recipe.rules] == [
        "nadyn", "kdyn", "cldyn", "nakpump", "naleak", "kleak", "clleak", "kcc2", "nav", "kdr"]
    assert all(str(r.region) == "all" and not r.values for r in recipe.rules)
    assert pump_ahp.run.preset == "na-k-cl-spiking"
    piece = pump_ahp.run.geometry(pump_ahp.run.spec(diam_um=2.0, length_um=5.0)).pieces[0]
    assert (piece.diam_um, piece.length_um, piece.nseg) == (2.0, 5.0, 1)
    # the options of the old run() keep their names and defaults
    spec = pump_ahp.run.spec()
    assert (spec.duration_s, spec.train_s, spec.train_hz, spec.diam_um, spec.length_um,
            spec.pulse_nA, spec.morphology, spec.recipe) == (125.0, 1.0, 20.0, 1.0, 10.0,
                                                              None, None, None)


def test_the_calibrated_preset_on_the_process(h):
    """The mature preset on the 1 um process, not the cell it was fitted on: the
    process rests at -55.9 mV (the whole cell at -66.5 mV), its Na load of a
    train (2.0 mM on 8.0 mM) is 25 %, so the AHP falls short of the linear
    prediction, and the duration, 12.7 s, is 27 % longer than the pump's
    linear time constant (10.0 s): the process's checks, made for the
    protocol's own model, fail, and the protocol says so. With the pump
    blocked the process has nothing to remove its Na and no longer rests:
    the ouabain comparison is not a pump-independent AHP here."""
    result = pump_ahp.run(recipe="mature", whole_cell=False)
    v = _values(result)
    assert result.metadata["calibrated"] is True
    assert [r["name"] for r in result.metadata["recipes"]] == ["mature"]
    assert v["spikes"] == v["pulses"] == 20
    assert -60 < v["Vm"] < -50 and v["AHP"] < 0
    assert v["duration"] > 1.1 * v["duration_pred"]
    assert result.check("correlation").passed  # the AHP still tracks Nai
    assert not result.check("duration").passed and not result.check("tau_AHP").passed
    assert result.passed is False
    assert any(w.startswith("check failed: duration") for w in result.metadata["warnings"])
    assert result.metadata["idealised"] == pump_ahp.run.idealised


def test_files_written(h, default_run):
    result, out = default_run
    assert {p.name for p in out.iterdir()} == {
        "pump-ahp.csv", "pump-ahp_summary.csv", "pump-ahp_checks.csv", "pump-ahp.json",
        "pump-ahp.png"}
    tc = pd.read_csv(out / "pump-ahp.csv")
    assert list(tc.columns) == ["condition", "t_s", "variable", "value", "unit"]
    assert set(tc["condition"]) == {"control", "ouabain", "ouabain_no_train"}
    meta = json.loads((out / "pump-ahp.json").read_text())
    assert meta["protocol"] == "pump-ahp"
    assert [c["name"] for c in meta["checks"]] == [
        "duration", "tau_AHP", "correlation", "ouabain_fraction", "cell AHP duration",
        "cell AHP pump share", "cell tau_AHP"]
    assert all(c["passed"] is True for c in meta["checks"][:4])  # the process's
    assert meta["idealised"] == pump_ahp.run.idealised and meta["calibrated"] is False
    assert [r["name"] for r in meta["recipes"]] == ["na-k-cl-spiking", "mature"]
    assert meta["whole_cell"]["recipe"] == "mature" and meta["whole_cell"]["cpu_s"] > 0
    assert meta["spec"]["duration_s"] == {"value": 125.0, "unit": "s"}
    assert meta["rest"]["v_mV"] == pytest.approx(result.value("Vm"))
    summary = pd.read_csv(out / "pump-ahp_summary.csv")
    assert list(summary.columns) == ["quantity", "value", "unit", "description"]
    assert not summary["quantity"].str.startswith("check").any()
    assert list(pd.read_csv(out / "pump-ahp_checks.csv")["result"])[:4] == ["PASS"] * 4
    assert (out / "pump-ahp.png").read_bytes()[:8] == PNG_SIGNATURE


def test_whole_cell_part(h, default_run):
    """The pyramidal cell (mature preset) after 50 spikes at 50 Hz: the AHP at the
    soma, its duration, the pump's share and the soma's Na recovery, checked against
    Gulledge et al. 2013. These checks report what the physics gives with the
    current preset (they may fail: nothing is tuned to them); here only their
    form and the invariants are tested."""
    result, _ = default_run
    v = _values(result)
    assert v["cell_spikes"] == 50  # one spike per pulse
    assert v["cell_AHP"] < 0 and v["cell_Nai_load"] > 0
    # with the calibrated preset the AHP (-1.9 mV) has not ended 60 s after the
    # train (measured: about 20 s): the duration is NaN, said in a warning, and
    # its check fails
    assert 0 <= v["cell_t_AHP"] < 60 and math.isnan(v["cell_AHP_duration"])
    assert any("has not recovered to 10% of its peak within 60 s" in w
               for w in result.metadata["warnings"])
    assert not result.check("cell AHP duration").passed
    assert v["cell_tau_Nai"] > 0 and v["cell_tau_AHP"] > 0
    # the share is 1 - (train's AHP with the pump blocked) / (control AHP)
    assert v["cell_pump_share"] == pytest.approx(1 - v["cell_AHP_ouabain"] / v["cell_AHP"])
    cell_checks = result.checks[4:]
    assert [c.name for c in cell_checks] == ["cell AHP duration", "cell AHP pump share",
                                             "cell tau_AHP"]
    assert all(c.source.startswith("paper: Gulledge et al. 2013, J Neurosci 33:13025")
               and c.why for c in cell_checks)
    assert result.check("cell AHP duration").obtained == pytest.approx(v["cell_AHP_duration"], nan_ok=True)
    assert result.check("cell AHP pump share").obtained == v["cell_pump_share"]
    assert result.check("cell tau_AHP").expected == v["cell_tau_Nai"]


def test_whole_cell_part_can_be_left_out(h):
    result = pump_ahp.run(whole_cell=False, duration_s=30.0)
    assert not any(q.startswith("cell_") for q in result.summary["quantity"])
    assert [c.name for c in result.checks] == ["duration", "tau_AHP", "correlation",
                                               "ouabain_fraction"]
    assert "whole_cell" not in result.metadata


def test_bad_arguments(h):
    with pytest.raises(mechanisms.ParameterError, match="too fast"):
        pump_ahp.run(train_hz=500.0)
    with pytest.raises(mechanisms.ParameterError, match="too short"):
        pump_ahp.run(duration_s=5.0)
    with pytest.raises(mechanisms.ParameterError, match="diam_um"):
        pump_ahp.run(diam_um=0.0)
    with pytest.raises(mechanisms.ParameterError, match="no pulse"):
        pump_ahp.run(train_s=0.01)
    with pytest.raises(mechanisms.ParameterError, match="Did you mean 'train_hz'"):
        pump_ahp.run(train_hzz=10.0)
    with pytest.raises(mechanisms.ParameterError, match="cell_hz"):
        pump_ahp.run(cell_hz=500.0)


def test_the_numbers_are_the_stored_ones(default_run):
    """Every summary number as stored before (tests/reference.py): a change
    that moves one is a bug, or a fix named in its commit."""
    reference.check("pump-ahp", default_run[0].summary)


def test_the_figure_keeps_the_house_rules(default_run):
    """Its axes in the units of the table columns they plot, symbols (µM, τ, κ) in
    its text, the protocol's name in its title, its panels lettered (tests/figures.py)."""
    figures.check_figure(default_run[1], "pump-ahp")
