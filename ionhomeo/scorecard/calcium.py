"""Scorecard experiments: calcium (registered with :func:`ionhomeo.scorecard.experiment`).

One experiment, ``ca-added-buffer``, reproduces the measurements of the
calcium targets (``targets_calcium.toml``) on the model's cell in one set of
runs, since they all start from the same steady state and the same action
potential:

* the resting free Ca at the recording sites, read at the whole-cell steady
  state (Maravall et al. 2000, Biophys J 78:2655, proximal apical dendrite);
* the Ca transient evoked by a somatic action potential (a 2 ms current
  pulse, the smallest of 1, 2, 4, 8 nA that fires exactly one spike, else
  the smallest that fires: a cell resting near threshold fires a doublet on
  its afterdepolarisation, and the amplitude is then given per spike, the two transients 6-8 ms apart adding where the
  decay takes tens of ms),
  recorded at the soma, the proximal apical trunk, a bouton and the axon
  flanking it: its amplitude (peak rise of free Ca above rest) and its decay
  time constant (an exponential fitted to the decay, :func:`ionhomeo.analysis.fit_decay`);
* the endogenous buffer capacity kappa_S by the added-buffer method (Neher &
  Augustine 1992, J Physiol 450:273; Helmchen, Imoto & Sakmann 1996, Biophys
  J 70:1069): the same action potential with a high-affinity indicator
  (fura-2: cadyn's dye, K_D 224 nM) at several concentrations in every
  segment; the decay time constant grows linearly with the indicator's
  capacity kappa_B, tau = (1 + kappa_S + kappa_B)/gamma, so the line's
  x-intercept is -(1 + kappa_S) (``kappa_S_<site>``). The amplitude gives a
  second estimate, 1/amplitude linear in kappa_B with the same x-intercept
  (``kappa_S_amp_<site>``). kappa_S is what the simulated measurement gives,
  not the parameter ``kappab`` (also reported, as ``kappa_model_<site>``, for
  comparison).

How the simulation follows the measurements, and where it departs:

* The indicator is put into every segment at the same total, as a
  whole-cell pipette loads it at equilibrium, but *immobile* (cadyn's
  ``diffdye`` set to 0 during the experiment and restored afterwards). The
  real indicator diffuses; the papers measured where the influx is locally
  uniform (proximal dendrites) or in isolated compartments (dissociated
  somata, isolated terminals; Kim et al. 2003, J Neurosci 23:11673). With
  the earlier, uncalibrated preset Ca entered in the soma and the boutons
  only, and a mobile indicator (100 um2/s) carried bound Ca into the
  neurites: on the bundled pyramidal cell it gave kappa_S 176 in the soma
  for a set capacity of 40, and a
  decay that *shortens* with more indicator in the bouton. An immobile
  indicator measures the local capacity, which is what the papers report.
* The cell's lean Ca owner ``cabuf`` is swapped for ``cadyn`` (same
  parameters and resting state, see mod/cabuf.mod), the owner that holds the
  indicator.
* The decay is fitted from 20 ms after the peak (the spike's
  afterdepolarisation over) to the end of an 800 ms run, or to where it has
  fallen by e^-3. The runs are short for the scorecard's cost; a single
  exponential's tau is determined by a window shorter than tau.
* kappa_B of each concentration is the indicator's capacity at the site's
  resting Ca, K_D/(K_D + c)^2 times its total (:func:`ionhomeo.buffering.capacity`).
* The decay line gives ``kappa_S_<site>``, the output the targets use (Kim
  et al. 2003 computed kappa_S from the decay phases; Helmchen et al. 1996
  from the decays and the amplitudes). The amplitude line
  (``kappa_S_amp_<site>``) is biased high in this model (bundled pyramidal
  cell, the earlier, uncalibrated mature preset: soma 71 for a set 40, bouton 409
  for 250): the
  indicator takes up Ca with a relaxation time of about 1 ms (its on rate
  times the free indicator, divided by 1 + the fast endogenous capacity, to
  which the entering Ca binds first), while the Ca entry of the model's
  spike and afterdepolarisation lasts several ms, so the peak overshoots the
  buffered equilibrium, the more so the more indicator. The decay, hundreds
  of ms later, is past this.
* ``tau_trunk_7um_ms`` scales the trunk's decay to the 7 um diameter at
  which Helmchen et al. (1996) quote theirs: where extrusion through the
  membrane limits the decay, tau = (1 + kappa) d/(4 j) grows in proportion
  to the diameter d (j the extrusion rate per membrane area per unit Ca).

A site the cell does not have (no apical trunk, no bouton), a transient
smaller than :data:`MIN_TRANSIENT_NM` at zero indicator (no Ca entry near
the site: no decay or kappa_S), a ratio whose denominator is no transient at
all (below :data:`NUMERICAL_ZERO_NM`) or runs that do not all fire the
same number of spikes give NaN for the outputs that need it.
"""

from __future__ import annotations

import math

import numpy as np

from . import experiment

#: indicator (fura-2) totals of the added-buffer series (uM): kappa_B 0, about
#: 150 and 300 at 50 nM rest, about 100 and 200 at 120 nM (K_D 224 nM;
#: Helmchen et al. 1996 loaded 50-250 uM)
DYE_UM = (0.0, 50.0, 100.0)
STIM_MS, PULSE_MS = 10.0, 2.0          # onset and duration of the somatic current pulse
PULSE_START_NA, PULSE_DOUBLINGS = 1.0, 3  # pulses tried: 1, 2, 4, 8 nA
SEARCH_MS = 60.0                       # a pulse search run: the spike and 50 ms after
RUN_MS = 800.0                         # each transient: this long after the onset
FIT_DELAY_MS, FIT_SPAN = 20.0, 3.0     # fit from 20 ms after the peak over <= 3 tau
RECORD_DT_MS = 0.25                    # sampling of the recorded cai traces
CVODE_ATOL = 1e-5                      # as the added-buffer protocol (cai to 1e-11 mM)
MIN_TRANSIENT_NM = 1.0                 # smaller zero-indicator transients are "no transient"
NUMERICAL_ZERO_NM = 1e-3               # a ratio's denominator below this is integration error
PROXIMAL_TRUNK_UM = 50.0               # the dendritic site: the trunk segment nearest this
HELMCHEN_DIAM_UM = 7.0                 # the diameter of Helmchen et al.'s quoted decay
SITES = ("soma", "trunk", "bouton", "axon")  # axon: the axon flanking the bouton


def sites(cell) -> dict:
    """The recording sites of ``cell``: {name: segment or None} for :data:`SITES`.

    soma: the soma centre; trunk: the apical trunk segment whose centre is
    nearest :data:`PROXIMAL_TRUNK_UM` (path) from the soma centre; bouton:
    the first segment of region ``bouton``; axon: the axon segment on the
    soma side of that bouton (the flanking axon).
    """
    from neuron import h

    h.distance(0, cell.soma_center)
    trunk = cell.segments("trunk", optional=True)
    boutons = cell.segments("bouton", optional=True)
    near = min(trunk, key=lambda s: abs(h.distance(s) - PROXIMAL_TRUNK_UM)) if trunk else None
    bouton = boutons[0] if boutons else None
    return {"soma": cell.soma_center, "trunk": near, "bouton": bouton,
            "axon": _proximal_neighbour(bouton) if bouton is not None else None}


def _proximal_neighbour(seg):
    """The segment next to ``seg`` on the soma side: the previous segment of its
    section, or the parent section's segment where the section attaches."""
    sec, n = seg.sec, seg.sec.nseg
    k = min(int(seg.x * n), n - 1)
    if k > 0:
        return sec((k - 0.5) / n)
    parent = sec.parentseg()
    if parent is None:
        return None
    psec, pn = parent.sec, parent.sec.nseg
    return psec(min(max(parent.x, 0.5 / pn), 1 - 0.5 / pn))


def _spikes(h, seg):
    """(NetCon, Vector) recording the spike times (threshold 0 mV) at ``seg``."""
    nc, times = h.NetCon(seg._ref_v, None, sec=seg.sec), h.Vector()
    nc.threshold = 0.0  # mV
    nc.record(times)
    return nc, times


def one_spike_pulse_nA(h, cell) -> float:
    """The smallest :data:`PULSE_START_NA` * 2**k nA (k <= :data:`PULSE_DOUBLINGS`),
    as a :data:`PULSE_MS` pulse at the soma, that fires exactly one spike,
    else the smallest that fires (a doublet: the second spike carried by the
    afterdepolarisation of a cell resting near threshold); NaN if none fires."""
    from .. import simulate

    soma = cell.soma_center
    stim = h.IClamp(soma)
    stim.delay, stim.dur = STIM_MS, PULSE_MS
    nc, times = _spikes(h, soma)
    firing = math.nan
    for k in range(PULSE_DOUBLINGS + 1):
        stim.amp = PULSE_START_NA * 2.0 ** k
        h.finitialize()
        simulate.run(STIM_MS + SEARCH_MS, atol=CVODE_ATOL)
        if times.size() == 1:
            return float(stim.amp)
        if times.size() > 1 and math.isnan(firing):
            firing = float(stim.amp)
    return firing


def transients(h, cell, where: dict, pulse_nA: float, dyes=DYE_UM) -> list:
    """One action potential at each indicator total of ``dyes`` (uM): a list of
    (dye uM, spike count, t ms, {site: cai mM array})."""
    from .. import simulate
    from ..recording import Recorder

    soma = cell.soma_center
    stim = h.IClamp(soma)
    stim.delay, stim.dur, stim.amp = STIM_MS, PULSE_MS, pulse_nA
    nc, times = _spikes(h, soma)
    owners = [seg for seg in cell.segments("all") if seg.sec.has_membrane("cadyn")]
    recorded = {k: seg for k, seg in where.items() if seg is not None}
    out = []
    for dye in dyes:
        for seg in owners:
            seg.cadyn.dyetot = dye * 1e-3  # mM
        rec = Recorder(dt_ms=RECORD_DT_MS)
        for seg in recorded.values():
            rec.record("cai", at=seg)
        h.finitialize()
        simulate.run(STIM_MS + RUN_MS, atol=CVODE_ATOL)
        out.append((dye, int(times.size()), rec.t_ms(),
                    {k: rec.trace("cai", seg)[1] for k, seg in recorded.items()}))
    for seg in owners:
        seg.cadyn.dyetot = 0.0
    return out


def amplitude_and_tau(t_ms, rise_mM) -> tuple:
    """(peak rise mM, decay tau ms) of a transient ``rise_mM`` (cai - rest) after
    the pulse; tau NaN when no decay could be fitted."""
    from ..analysis import fit_decay

    after = t_ms >= STIM_MS
    i = int(np.argmax(np.where(after, rise_mM, -np.inf)))
    try:
        fit = fit_decay(t_ms, rise_mM, t_ms[i] + FIT_DELAY_MS, FIT_SPAN).fit
    except (RuntimeError, ValueError):
        fit = None
    tau = fit.tau if fit is not None and fit.tau > 0 else math.nan
    return float(rise_mM[i]), float(tau)


def added_buffer_line(kappa_b, values) -> tuple:
    """(kappa_S, R^2) of the straight line ``values`` (tau, or 1/amplitude)
    against kappa_B: x-intercept -(1 + kappa_S). NaN if not all values are
    finite and > 0 or the line does not rise."""
    from .. import buffering

    values = np.asarray(values, float)
    if not np.all(np.isfinite(values) & (values > 0)):
        return math.nan, math.nan
    try:
        line = buffering.added_buffer_fit(np.asarray(kappa_b, float), values)
    except ValueError:
        return math.nan, math.nan
    return float(line.kappa_s), float(line.r_squared)


def _site_outputs(name, seg, rest_mM, runs, dye_kd_mM) -> dict:
    """The outputs of one site from the runs (see the module docstring)."""
    nan = math.nan
    out = {f"cai_rest_{name}_nM": rest_mM * 1e6, f"amp_{name}_nM": nan,
           f"tau_{name}_ms": nan, f"kappa_S_{name}": nan, f"kappa_S_amp_{name}": nan,
           f"r2_{name}": nan}
    spikes = runs[0][1]
    if spikes < 1 or not all(n == spikes for _, n, _, _ in runs):
        return out
    fits = [amplitude_and_tau(t, trace[name] - rest_mM) for _, _, t, trace in runs]
    amp0, tau0 = fits[0]
    out[f"amp_{name}_nM"] = amp0 * 1e6 / spikes  # per spike
    if name == "axon" or not amp0 * 1e6 >= MIN_TRANSIENT_NM:
        return out
    from .. import buffering

    kb = [float(buffering.capacity(dye * 1e-3, dye_kd_mM, rest_mM)) for dye, *_ in runs]
    out[f"tau_{name}_ms"] = tau0
    out[f"kappa_S_{name}"], out[f"r2_{name}"] = added_buffer_line(kb, [f[1] for f in fits])
    out[f"kappa_S_amp_{name}"] = added_buffer_line(kb, [1.0 / f[0] if f[0] > 0 else nan
                                                        for f in fits])[0]
    return out


def _ratio(a, b) -> float:
    """a/b, NaN where b (nM) is no transient at all: below :data:`NUMERICAL_ZERO_NM`,
    100 times CVODE's absolute tolerance of cai (1e-5 nM)."""
    return a / b if b >= NUMERICAL_ZERO_NM else math.nan


@experiment("ca-added-buffer")
def ca_added_buffer(model) -> dict:
    """Resting Ca, the single-AP Ca transient (amplitude, decay) and the
    added-buffer kappa_S at the soma, proximal apical trunk and a bouton
    (module docstring). Outputs: ``cai_rest_<site>_nM``, ``amp_<site>_nM``,
    ``tau_<site>_ms``, ``kappa_S_<site>``, ``kappa_S_amp_<site>``,
    ``r2_<site>``, ``kappa_model_<site>`` (site soma, trunk, bouton; axon:
    rest and amplitude), ``tau_trunk_7um_ms``, ``bouton_over_axon``,
    ``soma_over_trunk``, ``pulse_nA``, ``spikes`` (the zero-indicator run's),
    ``ncx_share_<site>`` (soma, bouton: the share of the clearance rate lost
    when the Na-dependent Ca exchangers, ncx and nckx, are blocked, as in
    Na-free saline),
    ``trunk_distance_um``, ``trunk_diam_um``."""
    from neuron import h

    recipe = model.recipe.swap_mechanism("cabuf", "cadyn")
    with model.cell(recipe) as cell:
        where = sites(cell)
        rest = {k: float(seg.cai) if seg is not None else math.nan for k, seg in where.items()}
        kappa = {k: float(seg.cadyn.kappa) if seg is not None else math.nan
                 for k, seg in where.items()}
        h.distance(0, cell.soma_center)
        trunk = where["trunk"]
        out = {"trunk_distance_um": h.distance(trunk) if trunk is not None else math.nan,
               "trunk_diam_um": float(trunk.diam) if trunk is not None else math.nan}
        saved_diffdye = h.diffdye_cadyn
        h.diffdye_cadyn = 0.0  # an immobile indicator (module docstring)
        try:
            pulse = one_spike_pulse_nA(h, cell)
            runs = transients(h, cell, where, pulse) if math.isfinite(pulse) else \
                [(dye, 0, None, {}) for dye in DYE_UM]
            blocked = _ncx_blocked(h, cell, where, pulse) if math.isfinite(pulse) else []
        finally:
            h.diffdye_cadyn = saved_diffdye
        for name, seg in where.items():
            if seg is None:
                out.update(_site_outputs(name, seg, math.nan, [(0.0, 0, None, {})], 1.0))
            else:
                out.update(_site_outputs(name, seg, rest[name], runs, float(h.dyekd_cadyn)))
            if name != "axon":
                out[f"kappa_model_{name}"] = kappa[name]
    out["tau_trunk_7um_ms"] = out["tau_trunk_ms"] * HELMCHEN_DIAM_UM / out["trunk_diam_um"]
    out["bouton_over_axon"] = _ratio(out["amp_bouton_nM"], out["amp_axon_nM"])
    out["soma_over_trunk"] = _ratio(out["amp_soma_nM"], out["amp_trunk_nM"])
    out["pulse_nA"], out["spikes"] = pulse, float(runs[0][1])
    for name in ("soma", "bouton"):
        out[f"ncx_share_{name}"] = _ncx_share(name, rest, runs, blocked)
    return {k: float(v) for k, v in out.items()}


#: the Na-dependent Ca exchangers an acute removal of external Na stops: the
#: Na/Ca exchanger (3 Na : 1 Ca) and the K-dependent one (4 Na : 1 Ca + 1 K)
NA_CA_EXCHANGERS = ("ncx", "nckx")


def _ncx_blocked(h, cell, where, pulse_nA) -> list:
    """The zero-indicator transient with every Na-dependent Ca exchanger
    (:data:`NA_CA_EXCHANGERS`) blocked at the moment of the spike (as an acute
    removal of external Na does), or [] when the cell has none."""
    ncx = [getattr(seg, name) for seg in cell.segments("all")
           for name in NA_CA_EXCHANGERS if hasattr(seg, name)]
    if not ncx:
        return []
    saved = [m.imax for m in ncx]
    try:
        for m in ncx:
            m.imax = 0.0
        # without the exchanger the resting state drifts (its resting Ca
        # efflux is gone): the transient is the run with the spike minus the
        # same run without it, as a control sweep removes a drifting baseline
        [(dye, n, t, spiked)] = transients(h, cell, where, pulse_nA, dyes=(0.0,))
        [(_, _, _, drift)] = transients(h, cell, where, 0.0, dyes=(0.0,))
        return [(dye, n, t, {k: spiked[k] - drift[k] for k in spiked})]
    finally:
        for m, value in zip(ncx, saved):
            m.imax = value


def _ncx_share(name, rest, runs, blocked) -> float:
    """The share of the clearance rate (1/tau) of a site's transient that the
    exchanger carries: 1 - tau(control) / tau(exchanger blocked)."""
    if not blocked or runs[0][1] < 1 or blocked[0][1] != runs[0][1] or name not in runs[0][3]:
        return math.nan
    tau = amplitude_and_tau(runs[0][2], runs[0][3][name] - rest[name])[1]
    tau_blocked = amplitude_and_tau(blocked[0][2], blocked[0][3][name])[1]
    return 1.0 - tau / tau_blocked
