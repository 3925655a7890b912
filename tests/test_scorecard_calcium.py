"""The calcium scorecard: its targets, and its experiment on the bundled pyramidal cell.

Two runs of the experiment ``ca-added-buffer`` (about 8 s CPU each): the mature
preset through :func:`ionhomeo.scorecard.evaluate`, and a variant whose buffer
capacities (``kappab``) differ from the preset's in the soma and the boutons
(the apical trunk keeps the preset's, with its HVA channels), to check that
the simulated added-buffer method recovers the capacity the parameter sets.
"""

import math

import pytest

from ionhomeo import presets, scorecard
from ionhomeo.experiment import Session
from ionhomeo.scorecard import calcium

CALCIUM_EXPERIMENTS = ("ca-added-buffer",)


def _calcium_targets():
    return [t for t in scorecard.targets() if t.experiment in CALCIUM_EXPERIMENTS]


def _sections(h) -> int:
    return len(list(h.allsec()))


@pytest.fixture(scope="module")
def mature_run():
    """(values by target id, the experiment's outputs, sections before/after,
    diffdye_cadyn before/after) of the calcium targets with the mature preset."""
    with Session() as s:
        before, diffdye = _sections(s.h), s.h.diffdye_cadyn
        model = scorecard.Model(morphology="pyramidal", recipe=presets.load("mature"), session=s)
        values, info = scorecard.evaluate(model, _calcium_targets())
        after = _sections(s.h)
        return values, info, (before, after), (diffdye, s.h.diffdye_cadyn)


#: the capacities set in the recovery run, different from the preset's (79, 187)
SET_KAPPA = {"soma": 120.0, "bouton": 80.0}


@pytest.fixture(scope="module")
def recovery_run():
    """The experiment's outputs with kappab 120 in the soma, 80 in the boutons,
    the trunk's kappab (62) and HVA channels left at the preset's."""
    recipe = (presets.load("mature")
              .add("soma", "cabuf", kappab=SET_KAPPA["soma"])
              .add("bouton", "cabuf", optional=True, kappab=SET_KAPPA["bouton"]))
    with Session() as s:
        model = scorecard.Model(morphology="pyramidal", recipe=recipe, session=s)
        return calcium.ca_added_buffer(model)


def test_targets_parse_and_name_existing_outputs(mature_run):
    targets = _calcium_targets()
    assert len(targets) >= 8
    _, info, _, _ = mature_run
    for t in targets:
        assert t.role in ("fit", "validation")
        assert set(t.presets) == {"mature", "immature"}  # both share their Ca system
        assert t.experiment in scorecard.EXPERIMENTS
        assert info[t.experiment]["error"] is None, info[t.experiment]["error"]
        assert t.output in info[t.experiment]["outputs"], (t.id, t.output)
        assert "shared" not in t.source + t.note + t.range_rule


def test_mature_preset_gives_finite_values(mature_run):
    values, info, (before, after), (diffdye, diffdye_after) = mature_run
    out = info["ca-added-buffer"]["outputs"]
    assert out["spikes"] == 1 and math.isfinite(out["pulse_nA"])
    # Ca enters in the soma, the boutons and the apical trunk (the preset's HVA
    # channels): every number of those sites is defined
    for name in ("cai_rest_trunk_nM", "cai_rest_soma_nM", "amp_soma_nM", "tau_soma_ms",
                 "kappa_S_soma", "amp_bouton_nM", "tau_bouton_ms", "kappa_S_bouton",
                 "bouton_over_axon", "amp_trunk_nM", "tau_trunk_ms", "kappa_S_trunk"):
        assert math.isfinite(out[name]) and out[name] > 0, (name, out[name])
    for target_id in ("ca-rest-proximal-apical", "ca-kappa-soma", "ca-kappa-bouton",
                      "ca-ap-bouton-over-axon", "ca-decay-bouton"):
        assert math.isfinite(values[target_id]), target_id
    # the fits are straight lines: tau = (1 + kappa_S + kappa_B)/gamma
    assert out["r2_soma"] > 0.99 and out["r2_bouton"] > 0.99
    assert after == before, "the experiment left sections behind"
    assert diffdye_after == diffdye, "the indicator's diffusion coefficient was not restored"


# Tolerance of the recovered kappa_S: 15 %. The added-buffer line assumes one
# well-mixed compartment with a linear extrusion and equilibrated buffers.
# What departs from that here: the decays are fitted from 20 ms after the
# peak to the end of an 800 ms run, while with indicator tau reaches 5 s; the
# early decay still holds the spike's afterdepolarisation (the GHK Ca leak and
# the electrogenic PMCA/NCX follow V) and the exchange with the neighbouring
# segments; and kappa_B is taken at rest, not over the transient. Measured on
# the bundled pyramidal cell with the calibrated preset (SERCA uptake added):
# soma 118.2 for 120 (-1.5 %), bouton 82.0 for 80 (+2.5 %), trunk 59.9 for 62
# (-3.4 %); with the earlier, uncalibrated preset +5 to +6 % at every site,
# +12 % with 400 ms runs. 15 % is the earlier preset's bias with a margin of
# more than two (and four times the calibrated preset's largest, 3.4 %) for
# changes of the model's extrusion and channels.
KAPPA_REL_TOL = 0.15


@pytest.mark.parametrize("site", ["soma", "bouton", "trunk"])
def test_added_buffer_recovers_the_set_capacity(recovery_run, site):
    out = recovery_run
    set_kappa = out[f"kappa_model_{site}"]  # the owner's capacity at the site's resting Ca
    if site in SET_KAPPA:
        assert set_kappa == pytest.approx(SET_KAPPA[site], rel=1e-6)
    assert out[f"kappa_S_{site}"] == pytest.approx(set_kappa, rel=KAPPA_REL_TOL), site
    assert out[f"r2_{site}"] > 0.99


def test_mature_preset_recovers_its_capacities(mature_run):
    out = mature_run[1]["ca-added-buffer"]["outputs"]
    from ionhomeo import presets

    rules = {str(r.region): r.values for r in presets.load("mature").rules if r.mechanism == "cabuf"}
    for site, kappa in (("soma", rules["soma"]["kappab"]), ("bouton", rules["bouton"]["kappab"])):
        assert out[f"kappa_model_{site}"] == pytest.approx(kappa, rel=1e-6)
        assert out[f"kappa_S_{site}"] == pytest.approx(kappa, rel=KAPPA_REL_TOL), site


def test_the_exchanger_block_stops_both_na_dependent_exchangers(monkeypatch):
    """The Na-free condition of the exchanger share stops the Na/Ca exchanger
    and the K-dependent one (nckx, in the boutons here) for its runs, and
    puts both densities back afterwards."""
    recipe = (presets.load("mature")
              .add("axon & tip_distance >= 0", "nckx", optional=True, imax=0.0)
              .add("bouton", "nckx", optional=True, imax=0.01))
    seen = []

    def densities(cell):
        return {(name, float(getattr(seg, name).imax)) for seg in cell.segments("all")
                for name in calcium.NA_CA_EXCHANGERS if hasattr(seg, name)}

    def fake_transients(h, cell, where, pulse_nA, dyes=calcium.DYE_UM):
        seen.append(densities(cell))
        return [(0.0, 1, None, {})]

    with Session() as s:
        model = scorecard.Model(morphology="pyramidal", recipe=recipe, session=s)
        with model.cell() as cell:
            where = calcium.sites(cell)
            before = densities(cell)
            assert ("nckx", 0.01) in before and any(n == "ncx" and v > 0 for n, v in before)
            monkeypatch.setattr(calcium, "transients", fake_transients)
            calcium._ncx_blocked(s.h, cell, where, 1.0)
            after = densities(cell)
    assert len(seen) == 2  # the spike run and the drift run
    assert all(names == {("ncx", 0.0), ("nckx", 0.0)} for names in seen)
    assert after == before
