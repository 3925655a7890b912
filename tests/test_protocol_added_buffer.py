"""Protocol added-buffer: AP-evoked Ca transients at several indicator
concentrations recover the model's own endogenous buffer capacity and
extrusion rate (Neher & Augustine 1992; Helmchen et al. 1996)."""

import json

import pandas as pd
import pytest

from ionhomeo.mechanisms import ParameterError
from ionhomeo.protocols import added_buffer

import figures
import reference

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """The protocol with its defaults (20 um compartment, 0-200 uM fura-2): about 7 s."""
    out = tmp_path_factory.mktemp("added_buffer")
    return added_buffer.run(out_dir=out), out


def test_added_buffer_recovers_kappa_and_gamma(h, default_run):
    result, _ = default_run
    v = result.value
    # THE CHECK of the issue: R^2 > 0.99, both within 10 %
    assert result.passed is True
    assert [c.name for c in result.checks] == ["r_squared", "kappa_S", "gamma"]
    assert result.check("kappa_S").expected == pytest.approx(v("kappa_S_model"), rel=1e-12)
    assert result.check("gamma").expected == pytest.approx(v("gamma_model"), rel=1e-12)
    assert all(c.source.startswith(("physics:", "model:")) for c in result.checks)
    assert v("r_squared") > 0.99
    assert abs(v("kappa_S_fit") / v("kappa_S_model") - 1) < 0.10
    assert abs(v("gamma_fit") / v("gamma_model") - 1) < 0.10
    # Tighter, what the physics allows here: measured 1.3 % and 1.2 %. What
    # is left is the curvature of the PMCA (K_m 0.3 uM) and of the dye (K_D
    # 224 nM) over the 1-3 nM transients (decay rate off by up to 2 dc/(c+K),
    # 1.5 %, at the start of the fit windows), so 3 %.
    assert abs(v("kappa_S_error")) < 0.03
    assert abs(v("gamma_error")) < 0.03
    assert v("r_squared") > 0.9999
    # the model's kappa_S is cadyn's default generic buffer at the resting Ca
    assert v("kappa_S_model") == pytest.approx(
        1.0 * 0.01 / (0.01 + v("Cai_rest") * 1e-6) ** 2, rel=1e-12)
    # every decay follows tau = (1 + kS + kB)/gamma with the model's numbers,
    # within the same 3 %
    for dye in added_buffer.DYE_UM:
        tag = f"{dye:g}uM"
        assert v(f"tau {tag}") == pytest.approx(v(f"tau_expected {tag}"), rel=0.03)
    # the electrogenic coupling is real: the rate at clamped V misses the fit
    # by more than 5 % (9 % measured), and the quasi-static voltage coupling
    # computed from the currents is what the transients show (1 % measured;
    # 3 % allows for the lag of V behind cai by the membrane time constant)
    assert v("gamma_clamped_V") / v("gamma_fit") - 1 > 0.05
    assert v("dV_dCa_measured") == pytest.approx(v("dV_dCa_model"), rel=0.03)
    assert result.metadata["warnings"] == []


def test_added_buffer_files(h, default_run):
    result, out = default_run
    assert {p.name for p in out.iterdir()} == {
        "added-buffer.csv", "added-buffer_fits.csv", "added-buffer_summary.csv",
        "added-buffer_checks.csv", "added-buffer.json", "added-buffer.png"}
    meta = json.loads((out / "added-buffer.json").read_text())
    assert meta["protocol"] == "added-buffer"
    assert all(c["passed"] is True for c in meta["checks"])
    kappa = next(c for c in meta["checks"] if c["name"] == "kappa_S")
    assert kappa["expected"] == pytest.approx(result.value("kappa_S_model"))
    # the protocol's own compartment with its preset, recorded in the provenance
    site = meta["cells"]["recording site"]
    assert site["kind"] == "compartment" and site["recipe"]["name"] == "added-buffer"
    assert meta["spec"]["recipe"] is None
    summary = pd.read_csv(out / "added-buffer_summary.csv")
    assert list(summary.columns) == ["quantity", "value", "unit", "description"]
    assert "check" not in set(summary["quantity"])
    assert set(pd.read_csv(out / "added-buffer_checks.csv")["result"]) == {"PASS"}
    fits = pd.read_csv(out / "added-buffer_fits.csv")
    assert list(fits["dye_uM"]) == list(added_buffer.DYE_UM)
    assert (fits["tau_ms"].diff().dropna() > 0).all()  # more dye, slower decay
    tc = pd.read_csv(out / "added-buffer.csv")
    assert set(tc["variable"]) == {"cai", "v"} and set(tc["dye_uM"]) == set(added_buffer.DYE_UM)
    assert (out / "added-buffer.png").read_bytes()[:8] == PNG_SIGNATURE


def test_added_buffer_on_a_cell(h):
    """A morphology is accepted: the dye goes everywhere, the soma is recorded."""
    result = added_buffer.run(morphology="ball_and_stick", dye_uM=(0, 200))
    v = result.value
    # mature preset: somatic capacity 79 (kappab; Kim et al. 2003), one spike per run
    assert v("kappa_S_model") == pytest.approx(79.0, rel=1e-9)
    assert all(len(f["spikes"]) == 1 for f in result.metadata["fits"])
    assert v("tau 200uM") > 2 * v("tau 0uM") > 0
    # without dye the soma decays nearly as (1 + 79)/gamma, gamma including the
    # SERCA's uptake (without it the expectation was 3.7 times too slow): the
    # calibrated preset's soma decays 5.0 % slower than that (the earlier
    # preset, with no store: 0.4 %). Not yet explained, so pinned to 3-7 %
    # (the ER lumen's Ca, held in the derivative, and the cell's other
    # segments are the candidates)
    assert 1.03 < v("tau 0uM") / v("tau_expected 0uM") < 1.07
    # on a cell the line is straight but kappa_S and gamma miss the model's
    # (dye and Ca diffuse into the neurites; the idealised note says so)
    assert result.check("r_squared").passed
    assert not result.check("kappa_S").passed and not result.check("gamma").passed
    assert result.metadata["cells"]["recording site"]["kind"] == "cell"
    assert not result.files


def test_added_buffer_applies_a_recipe_to_its_own_compartment(h):
    """A recipe without a morphology goes onto the protocol's own 20 um
    compartment (it used to be refused): mature's somatic capacity 79, its
    Na/K/Cl owners, and the recipe in the provenance."""
    result = added_buffer.run(recipe="mature", dye_uM=(0, 100))
    site = result.metadata["cells"]["recording site"]
    assert site["kind"] == "compartment" and site["recipe"]["name"] == "mature"
    assert site["geometry"]["pieces"][0]["diam_um"] == 20.0
    assert result.metadata["spec"]["recipe"] == "mature"
    assert result.value("kappa_S_model") == pytest.approx(79.0, rel=1e-9)
    # a uniform compartment, but the calibrated preset: the line gives kappa_S
    # 7.2 % and gamma 14.2 % below the model's own (also 7.7 % and 10.1 %
    # without the ER; the earlier preset: about 1 %). Not explained yet, so
    # pinned here to within 2 points of the measured values; the gamma check
    # (10 %) fails and the run says so, with the idealised note
    assert -0.092 < result.value("kappa_S_error") < -0.052
    assert -0.162 < result.value("gamma_error") < -0.122
    assert result.check("kappa_S").passed and not result.check("gamma").passed
    assert result.passed is False and result.metadata["idealised"] == added_buffer.run.idealised


@pytest.mark.parametrize("dye", [(0,), (50, 50), (0, -1), "abc"])
def test_added_buffer_rejects_bad_dye_lists(dye):
    with pytest.raises(ParameterError, match="dye_uM"):
        added_buffer.run(dye_uM=dye)


def test_the_numbers_are_the_stored_ones(default_run):
    """Every summary number as stored before (tests/reference.py): a change
    that moves one is a bug, or a fix named in its commit."""
    reference.check("added-buffer", default_run[0].summary)


def test_the_figure_keeps_the_house_rules(default_run):
    """Its axes in the units of the table columns they plot, symbols (µM, τ, κ) in
    its text, the protocol's name in its title, its panels lettered (tests/figures.py)."""
    figures.check_figure(default_run[1], "added-buffer")
