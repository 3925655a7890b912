"""Protocol kcc2-phosphorylation: the E_Cl checks, the synapse's E_GABA against
thermo, the phosphorylation kinetics, and the files (ball-and-stick cell, a
shortened run: 60 s of phosphorylation, 2 s input windows, the protocol's default)."""

import json
import math

import pandas as pd
import pytest

from ionhomeo import thermo
from ionhomeo.mechanisms import ParameterError
from ionhomeo.protocols import kcc2_phosphorylation as proto

import figures
import reference

FILES = {"kcc2-phosphorylation.csv", "kcc2-phosphorylation_summary.csv",
         "kcc2-phosphorylation_checks.csv", "kcc2-phosphorylation.json",
         "kcc2-phosphorylation.png"}
#: the protocol's checks, in order
CHECKS = ["E_Cl(5 mM)", "E_Cl(15 mM)", "egaba error", "p error", "Cli rises", "E_GABA rises",
          "firing rises"]


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    from ionhomeo import build, defaults

    build.load()
    defaults.apply()
    from neuron import h

    before = len(list(h.allsec()))
    out = tmp_path_factory.mktemp("kcc2") / "out"
    res = proto.run(out_dir=out, morphology="ball_and_stick", recipe="mature", duration_s=60.0,
                    window_s=2.0)  # calibrated preset: 161 -> 163 spikes in 2 s (80 Hz)
    assert len(list(h.allsec())) == before, "the protocol left NEURON sections behind"
    return res, out


def test_the_check_ecl_at_clo_130(h, result):
    res, _ = result
    # the reference gives -87 and -58 mV rounded to 1 mV: |error| < 1 mV is
    # the most its rounding allows; the Nernst values are -87.08 and -57.72 mV
    for cli, expected in ((5, -87.0), (15, -58.0)):
        check = res.check(f"E_Cl({cli} mM)")
        assert check.passed and check.expected == expected and check.tolerance == 1.0
        assert check.obtained == res.value(f"E_Cl({cli} mM)")
        assert abs(res.value(f"E_Cl({cli} mM)") - expected) < 1.0
        assert res.value(f"E_Cl({cli} mM) expected") == expected
    assert res.value("E_Cl(5 mM)") == pytest.approx(float(thermo.nernst(5, 130, -1, 37)), abs=1e-12)


def test_the_checks_cover_the_simulation(h, result):
    res, _ = result
    assert [c.name for c in res.checks] == CHECKS
    assert all(c.passed for c in res.checks) and res.passed is True
    assert all(c.source.split(":")[0] in ("physics", "model") for c in res.checks)
    # pass/fail is not a summary number
    assert not [q for q in res.summary["quantity"] if q.startswith("check")]


def _judge(**changes):
    # a passing set of numbers, then the changes
    kw = dict(e_cl=(-87.08, -57.72), egaba_error=1e-12, p_error=1e-10,
              cli=(3.9, 5.2), egaba=(-70.0, -64.0), rates=(6.5, 10.0))
    kw.update(changes)
    return {c.name: c.passed for c in proto.judge(**kw)}


def test_judge_fails_each_part():
    assert list(_judge()) == CHECKS and all(_judge().values())
    failing = {
        "E_Cl(15 mM)": dict(e_cl=(-87.08, -56.8)),
        "egaba error": dict(egaba_error=2e-6),
        "p error": dict(p_error=2 * proto.P_TOL),
        # Cl or E_GABA not rising, firing not increasing
        "Cli rises": dict(cli=(3.9, 3.9)),
        "E_GABA rises": dict(egaba=(-70.0, -70.5)),
        "firing rises": dict(rates=(6.5, 6.5)),
    }
    for name, change in failing.items():
        out = _judge(**change)
        assert [k for k, ok in out.items() if not ok] == [name], (name, out)
    # a NaN never passes
    assert not _judge(p_error=float("nan"))["p error"]


def test_synapse_egaba_equals_thermo(h, result):
    res, _ = result
    # the same GHK formula with the same constants in GabaA.mod and thermo:
    # they agree to round-off (~1e-12 mV); the issue asks for 1e-6 mV
    check = res.check("egaba error")
    assert check.passed and check.relation == "max" and check.expected == 1e-6
    assert res.value("egaba error") < 1e-6
    pairs = res.metadata["egaba_pairs_mV"]  # (synapse, thermo) at rest and at the end
    assert [abs(a - b) < 1e-6 for a, b in (pairs["rest"], pairs["end"])] == [True, True]


def test_phosphorylation_raises_cli_and_shifts_egaba(h, result):
    res, _ = result
    v = res.value
    # p follows kcc2's linear rate equation; CVODE's absolute tolerance on p
    # (no atolscale for it: the protocol's atol, 1e-7) bounds the difference
    assert v("p end") == pytest.approx(v("p end expected"), abs=1e-3)
    # the whole time course, not only the level: every step of the rest phase
    assert v("p error") < proto.P_TOL
    assert res.check("p error").obtained == v("p error")
    assert res.check("p error").expected == proto.P_TOL
    assert v("p rest") == 0.0 and v("p end") > 0.85
    # less KCC2: Cl accumulates and E_GABA moves up towards rest (from 13.1 to
    # 11.0 mV below it with the calibrated preset)
    assert v("Cli end") > v("Cli rest") + 0.3
    assert v("E_GABA end") > v("E_GABA rest") + 1.0
    assert v("E_GABA shift") == pytest.approx(v("E_GABA end") - v("E_GABA rest"), abs=1e-12)
    # the E_GABA reported is the GHK value of the reported Cli
    d = res.metadata["defaults"]
    assert v("E_GABA end") == pytest.approx(
        float(thermo.egaba(v("Cli end"), d["clo"], d["hco3i"], d["hco3o"])), abs=1e-6)
    # firing rates were measured in both windows (the input drives the cell)
    assert v("rate before") > 0 and v("rate after") > 0
    assert math.isfinite(v("rate after") - v("rate before"))


def test_files_written(h, result):
    res, out = result
    assert {p.name for p in out.iterdir()} == FILES
    assert {p.name for p in res.files} == FILES
    meta = json.loads((out / "kcc2-phosphorylation.json").read_text())
    assert meta["protocol"] == "kcc2-phosphorylation"
    assert [c["name"] for c in meta["checks"]] == CHECKS
    assert all(c["passed"] for c in meta["checks"])
    assert meta["spec"]["duration_s"] == {"value": 60.0, "unit": "s"}
    assert meta["cells"]["cell"]["morphology"]["path"].endswith("ball_and_stick.swc")
    tc = pd.read_csv(out / "kcc2-phosphorylation.csv")
    assert list(tc.columns) == ["phase", "t_s", "variable", "value", "unit"]
    assert set(tc["phase"]) == {"before", "phosphorylation"}
    assert set(tc["variable"]) == {"v", "cli", "p", "E_GABA"}
    summary = pd.read_csv(out / "kcc2-phosphorylation_summary.csv")
    assert "check" not in set(summary["quantity"])
    table = pd.read_csv(out / "kcc2-phosphorylation_checks.csv")
    assert list(table["name"]) == CHECKS and set(table["result"]) == {"PASS"}


def test_bad_arguments_raise_before_simulating(h):
    with pytest.raises(ParameterError, match="duration_s"):
        proto.run(duration_s=0)
    with pytest.raises(ParameterError, match="kwnk"):
        proto.run(kwnk_per_s=200.0, rate_speedup=10.0)
    with pytest.raises(ParameterError, match="kwnk_per_s must be >= 0"):
        proto.run(kwnk_per_s=-1.0)
    with pytest.raises(ParameterError, match="no synaptic event"):
        proto.run(gaba_hz=0.1, window_s=2.0)


def test_the_numbers_are_the_stored_ones(result):
    """Every summary number as stored before (tests/reference.py): a change
    that moves one is a bug, or a fix named in its commit."""
    reference.check("kcc2-phosphorylation", result[0].summary)


def test_the_figure_keeps_the_house_rules(result):
    """Its axes in the units of the table columns they plot, symbols (µM, τ, κ) in
    its text, the protocol's name in its title, its panels lettered (tests/figures.py)."""
    figures.check_figure(result[1], "kcc2-phosphorylation")
