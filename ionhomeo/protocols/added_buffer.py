"""Protocol ``added-buffer``: the added-buffer method of Neher & Augustine (1992)
and Helmchen, Imoto & Sakmann (1996), run on the model.

One action potential is evoked (a 1 ms current pulse) at each of several
concentrations of the indicator of ``cadyn`` (``dyetot``; fura-2 defaults
``dyekd`` 224 nM, ``dyekon`` 5e8 /M/s, see mod/cadyn.mod), as when a cell is
loaded with more and more dye from the patch pipette. The HVA Ca channels
(``cahva``) open during the spike; the free Ca transient that follows decays
with

    tau = (1 + kappa_S + kappa_B) / gamma

where kappa_B is the dye's buffer capacity at rest
(:func:`ionhomeo.buffering.capacity`), kappa_S the endogenous one and gamma
the linear extrusion rate constant. Each decay is fitted with an exponential,
and the straight line tau(kappa_B) (:func:`ionhomeo.buffering.added_buffer_fit`)
gives kappa_S (x-intercept -(1 + kappa_S)) and gamma (1/slope).

THE CHECK: the line fits with R^2 > 0.99, and the fitted kappa_S and gamma
agree within 10 % with the model's own values at rest:

* kappa_S: the equilibrium capacity of cadyn's endogenous buffers at the
  resting cai (generic buffer ``btot``, ``kdb``; calbindin and parvalbumin if
  present, as cadyn's own ``kappa`` sums them);
* gamma: the linear extrusion rate d(net Ca extrusion flux)/d(cai) at rest,
  computed from the mechanisms' own currents at clamped cai (``h.fcurrent``,
  as tests/test_calcium.py does; flux per volume with cadyn's geometry,
  4/diam), with V at its quasi-steady value for that cai (the experiment is
  in current clamp; see "Voltage coupling" below).

Geometry (default ``morphology=None``): one isopotential compartment,
L = diam = 20 um (a pyramidal soma, as in the ``spike-train`` protocol),
nseg 1. With a single segment there is no diffusion, so every decay is a
single exponential (axial Ca and dye diffusion out of a recording site makes
the decay multi-exponential, the reason Helmchen et al. chose proximal
dendrites and waited for equilibration). The transient is small (about 3 nM
on 110 nM without dye, 3 %), well inside the linear range of the PMCA
(K_m 0.3 uM) and of the dye (K_D 224 nM): the decay rate changes by about
2 dc/(cai + K) = 1.5 % at the start of the fit window, less later.

Mechanisms of the compartment, all with their mod-file defaults: nav, kdr
(the spike), cahva (Ca entry), cadyn (buffers and the dye), pmca, ncx and
caleak (extrusion and the resting leak), and the Na/K pump with the Na and K
GHK leaks for the resting potential. Na and K have no concentration owner:
they stay at their defaults, as in a whole-cell recording where the pipette
dialyses the cell (the same pipette that loads the dye). With Na dynamics the
Na load of the spike would slowly hyperpolarise the cell through the
electrogenic pump, change the voltage-dependent Ca leak and shift the Ca
baseline during the decay. SK is left out (a Ca-activated K current would add
a second Ca-voltage coupling).

Voltage coupling. The experiment is in current clamp, as the original ones:
PMCA (2 charges out per Ca) and NCX (1 charge in per Ca out) are
electrogenic, so a Ca transient shifts V a little (about -0.06 mV/nM here), and
the GHK Ca leak changes with V. The decay therefore follows the extrusion rate
with V at its quasi-steady value (V follows cai within the membrane time
constant, tens of ms, while Ca decays over seconds):

    gamma_cc = dJ/dc|_V + dJ/dV|_c * dV/dc,   dV/dc = -(dI_m/dc) / G_ss

with J the net Ca extrusion flux per volume, I_m the total membrane current
and G_ss the steady-state slope conductance at rest (all from the mechanisms'
own currents; gating states and the PMCA's slow calmodulin state frozen at
rest in the partial derivatives, since they do not follow cai during the
decay, the voltage gates equilibrated in G_ss). THE CHECK uses gamma_cc; the
rate at clamped V (dJ/dc|_V, the definition of tests/test_calcium.py, which
clamps V) is reported too: here it is about 9 % larger.

A morphology (with a recipe, default "mature") can be given instead: the
dye is then put into every segment, the spike is evoked at the soma centre
and the transient recorded there. The cell keeps its own Na dynamics and
axial diffusion, so the decay there need not be single-exponential; the
expected gamma then uses dJ/dc and dJ/dV at the soma with the voltage
coupling dV/dc measured from the transients (the steady-state conductance of a
whole cell is not a local quantity). Expect larger deviations than in the
compartment; the protocol reports what it finds. On the bundled ball-and-stick
cell with the mature preset, for example, the mobile dye (``diffdye``)
carries bound Ca out of the soma into the neurites, the more so the more dye:
tau grows less than linearly with kappa_B and the fitted kappa_S and gamma
both come out about 20 % high (about 75 % on the bundled pyramidal cell,
whose soma feeds a 4 um apical trunk), so the check fails there. This is the
diffusion the default compartment excludes.

Integration: CVODE with ionhomeo's concentration tolerances at atol 1e-5
(cai to 1e-11 mM, about 1e-5 of the smallest fitted deviation), which also
avoids the Crank-Nicolson ringing of stiff buffers after a current step
(ionhomeo.solver). The fit window starts 200 ms after the pulse (spike,
after-depolarisation and dye equilibration over; V quasi-static) and spans
three time constants (it ends where the deviation from rest has fallen by
e^-3); each run lasts until then. The baseline is the solved resting cai
(the compartment returns exactly there).

Everything created in NEURON is deleted before returning, and the CVODE
settings are restored.
"""

from __future__ import annotations

import math
import time

import numpy as np

from .common import Result, finish, summary_dict, summary_table

NAME = "added-buffer"
DESCRIPTION = ("added-buffer method (Neher & Augustine 1992; Helmchen et al. 1996): AP-evoked "
               "Ca transients at several indicator concentrations; tau vs kappa_B recovers the "
               "model's endogenous buffer capacity and extrusion rate")

#: mechanisms of the default compartment, each with its mod-file defaults
MECHANISMS = ("nakpump", "naleak", "kleak", "nav", "kdr", "cadyn", "pmca", "ncx", "caleak",
              "cahva")
COMPARTMENT_UM = 20.0
MORPHOLOGY_SOURCE = ("single cylinder, L = diam = 20 um, nseg 1: a pyramidal soma (Spruston "
                     "2008, Nat Rev Neurosci 9:206); one segment, so no diffusion")
#: indicator totals (uM); the largest gives kappa_B about 400 with fura-2 at 110 nM
DYE_UM = (0.0, 25.0, 50.0, 100.0, 200.0)
STIM_MS = 50.0          # onset of the current pulse (ms); quiet rest before
PULSE_MS = 1.0
#: pulse amplitude per membrane area (nA/um2): 1 nA on a 20 um soma (1257 um2),
#: +80 mV in 1 ms at 1 uF/cm2, as in the spike-train protocol; one spike
PULSE_NA_PER_UM2 = 1.0 / (math.pi * 20.0 * 20.0)
#: first pulse tried for a whole cell (nA), at the soma centre; doubled until
#: it evokes a spike (at most PULSE_SEARCH_STEPS tries)
CELL_PULSE_NA = 1.0
PULSE_SEARCH_STEPS = 6
SPIKE_THRESHOLD_MV = 0.0
FIT_DELAY_MS = 200.0    # fit window starts this long after the pulse onset
FIT_SPAN = 3.0          # ... and ends when the deviation has fallen by exp(-FIT_SPAN)
RECORD_DT_MS = 1.0      # sampling of the traces used for the fit
CHUNK_MS = 2000.0       # runs advance in chunks until the fit window is complete
MAX_RUN_MS = 300_000.0  # give up after this (a decay that never ends)
CVODE_ATOL = 1e-5
#: warn if an exponential fit misses by more than this fraction of its
#: amplitude (a clean decay in the compartment fits to about 1e-3)
FIT_MAX_RESIDUAL = 0.02
#: the issue's criteria
R2_MIN = 0.99
REL_TOL = 0.10
#: finite-difference steps (mM, mV) for the model's own rates: the currents
#: are smooth, so central differences are exact to (step/scale)^2 ~ 1e-8
DC_MM = 1e-8
DV_MV = 1e-3
def _flux(ica_mA_cm2, diam_um, afac=1.0):
    """Ca flux per cytosolic volume (mM/ms, outward > 0) of a current density."""
    from .. import thermo

    return float(thermo.concentration_loss_rate(ica_mA_cm2, diam_um, 2, afac))


# ---------------------------------------------------------------------------
# the model's own numbers
# ---------------------------------------------------------------------------

def endogenous_buffers(h, seg) -> list:
    """cadyn's endogenous buffers at ``seg`` as (name, total mM, K_D mM), dye excluded.

    Calbindin counts as its two site classes (2 cbtot each); parvalbumin with
    its apparent K_D raised by Mg competition, as cadyn's ``totals()`` does.
    ``btot`` is read after initialisation (``kappab`` may have set it).
    """
    from .. import calcium

    c = calcium.owner(seg)
    out = [("generic", float(c.btot), float(c.kdb))]
    if c.name() == "cabuf":  # the lean owner: the generic buffer only
        return [b for b in out if b[1] > 0]
    if c.cbtot > 0:
        out.append(("calbindin high", 2 * float(c.cbtot), h.cbkoffh_cadyn / h.cbkonh_cadyn))
        out.append(("calbindin medium", 2 * float(c.cbtot), h.cbkoffm_cadyn / h.cbkonm_cadyn))
    if c.pvtot > 0:
        kd = (h.pvkoffca_cadyn / h.pvkonca_cadyn) * (1 + h.mgi_cadyn * h.pvkonmg_cadyn
                                                      / h.pvkoffmg_cadyn)
        out.append(("parvalbumin", float(c.pvtot), kd))
    return [b for b in out if b[1] > 0]


def endogenous_capacity(h, seg, ca) -> tuple:
    """(total capacity, {buffer: capacity}) of the endogenous buffers at free Ca ``ca`` (mM)."""
    from .. import buffering

    parts = {name: float(buffering.capacity(total, kd, ca))
             for name, total, kd in endogenous_buffers(h, seg)}
    return sum(parts.values()), parts


def extrusion_derivatives(h, seg, ca, v) -> dict:
    """Partial derivatives of the site's currents at (cai, v), states frozen.

    Returns dJ/dc (1/ms), dJ/dV (mM/ms/mV), dI_m/dc (mA/cm2/mM) where J is the
    net Ca extrusion flux per volume (outward ica) and I_m the total ionic
    membrane current (ina + ik + ica + icl where present). NEURON is left
    with the perturbed values: initialise again afterwards.
    """
    def at(c, vv):
        seg.cai = c
        seg.v = vv
        h.fcurrent()
        return seg.ica, _membrane_current(seg)

    (ip, mp), (im, mm) = at(ca + DC_MM, v), at(ca - DC_MM, v)
    (ivp, _), (ivm, _) = at(ca, v + DV_MV), at(ca, v - DV_MV)
    at(ca, v)
    # the Ca owner scales membrane flux by afac (3-D area over the cylinder's)
    from .. import calcium

    owner = calcium.owner(seg)
    af = owner.afac if owner is not None else 1.0
    return {"dJ_dc": _flux((ip - im) / (2 * DC_MM), seg.diam, af),
            "dJ_dV": _flux((ivp - ivm) / (2 * DV_MV), seg.diam, af),
            "dIm_dc": (mp - mm) / (2 * DC_MM)}


def _membrane_current(seg) -> float:
    """Total ionic membrane current density at ``seg`` (mA/cm2)."""
    from ..steady import ionic_current

    return ionic_current(seg)


# ---------------------------------------------------------------------------
# the compartment and its rest
# ---------------------------------------------------------------------------

def _make_compartment(h, diam_um):
    from .. import mechanisms

    sec = h.Section(name="ionhomeo_added_buffer")
    sec.L, sec.diam, sec.nseg = diam_um, diam_um, 1
    for name in MECHANISMS:
        mechanisms.insert(sec, name)
    return sec


def _solve_rest(h, sec, v_guess=-70.0):
    """Resting V and cai of the compartment (Na, K fixed): I_m = 0 and ica = 0.

    Newton-type root finding (MINPACK hybrid) on NEURON's own currents, each
    evaluation a finitialize into (V, cai) so that every gate and buffer is at
    equilibrium with it; returns a :class:`ionhomeo.steady.SteadyState`.
    """
    from scipy import optimize

    from ..steady import SteadyState, SteadyStateError

    objs = {"sec": sec}  # no reference cycle through scipy's closure

    def state(x):
        return SteadyState(v=float(x[0]), concentrations={"ca": float(math.exp(x[1]))},
                           fixed=("na", "k"), residual=math.nan)

    def residual(x):
        s = objs["sec"]
        state(x).finitialize([s])
        seg = s(0.5)
        return [1e3 * _membrane_current(seg), 1e3 * seg.ica]  # uA/cm2

    from .. import defaults as _defaults

    try:
        sol = optimize.root(residual, [v_guess, math.log(_defaults.Defaults().cai)],
                            method="hybr", options={"xtol": 1e-14})
        worst = float(np.max(np.abs(residual(sol.x)))) * 1e-3
    finally:
        objs.clear()
    if not np.all(np.isfinite(sol.x)) or worst > 1e-13:
        raise SteadyStateError(f"added-buffer compartment: no resting state (residual "
                               f"{worst:.3g} mA/cm2; {sol.message})")
    import dataclasses

    return dataclasses.replace(state(sol.x), residual=worst)


def _steady_conductance(h, sec, state) -> float:
    """dI_m/dV at rest with the gates at equilibrium (mA/cm2/mV), cai fixed."""
    import dataclasses

    seg_i = []
    for dv in (DV_MV, -DV_MV):
        dataclasses.replace(state, v=state.v + dv).finitialize([sec])
        seg_i.append(_membrane_current(sec(0.5)))
    state.finitialize([sec])
    return (seg_i[0] - seg_i[1]) / (2 * DV_MV)


# ---------------------------------------------------------------------------
# runs and fits
# ---------------------------------------------------------------------------

def _run_one(h, seg, c0, pulse_nA):
    """One transient from the installed resting state, until the fit window is complete.

    Returns dict of arrays t (ms), cai (mM), v (mV), spike times (ms) and a flag
    whether the window completed.
    """
    stim = h.IClamp(seg)
    stim.delay, stim.dur, stim.amp = STIM_MS, PULSE_MS, pulse_nA
    nc = h.NetCon(seg._ref_v, None, sec=seg.sec)
    nc.threshold = SPIKE_THRESHOLD_MV
    spikes = h.Vector()
    nc.record(spikes)
    vec = {"t": h.Vector(), "cai": h.Vector(), "v": h.Vector()}
    vec["t"].record(h._ref_t, RECORD_DT_MS)
    vec["cai"].record(seg._ref_cai, RECORD_DT_MS)
    vec["v"].record(seg._ref_v, RECORD_DT_MS)
    cvode = h.CVode()
    try:
        h.finitialize()
        t_start = STIM_MS + FIT_DELAY_MS
        cvode.solve(t_start)
        y_start = seg.cai - c0
        complete = False
        while y_start > 0 and h.t < MAX_RUN_MS:  # no transient, nothing to wait for
            cvode.solve(h.t + CHUNK_MS)
            if seg.cai - c0 <= y_start * math.exp(-FIT_SPAN):
                complete = True
                break
        data = {k: np.array(v) for k, v in vec.items()}
        n = min(a.size for a in data.values())
        data = {k: a[:n] for k, a in data.items()}
        data["spikes"] = np.array(spikes.to_python())  # numpy < 2.4: not an empty Vector
        data["complete"] = complete
    finally:
        for v in vec.values():
            v.play_remove()
        del vec, nc, spikes, stim
    return data


def _spikes_for(h, seg, pulse_nA) -> int:
    """Spikes from one pulse of ``pulse_nA`` (a 100 ms run from the installed rest)."""
    stim = h.IClamp(seg)
    stim.delay, stim.dur, stim.amp = STIM_MS, PULSE_MS, pulse_nA
    nc = h.NetCon(seg._ref_v, None, sec=seg.sec)
    nc.threshold = SPIKE_THRESHOLD_MV
    spikes = h.Vector()
    nc.record(spikes)
    try:
        h.finitialize()
        h.CVode().solve(STIM_MS + 100.0)
        return int(spikes.size())
    finally:
        del nc, stim, spikes


def find_pulse(h, seg, start_nA, steps=PULSE_SEARCH_STEPS) -> float:
    """The smallest of start_nA * 2**k (k < steps) that evokes exactly one spike."""
    tried = []
    for k in range(steps):
        amp = start_nA * 2.0 ** k
        n = _spikes_for(h, seg, amp)
        tried.append((amp, n))
        if n == 1:
            return amp
        if n > 1:
            break
    from ..simulate import SimulationError

    raise SimulationError(f"added-buffer: no 1 ms pulse gave exactly one spike at {seg} "
                       f"(amplitude nA, spikes: {tried}); give pulse_nA")


def fit_decay(t_ms, y, t_start_ms, span=FIT_SPAN) -> dict:
    """Fit y = a exp(-(t - t0)/tau) (baseline 0) from t_start until y < y(t_start) e^-span.

    Least squares (scipy curve_fit) started from a log-linear fit. Returns
    tau_ms, its standard error, a, the window and the largest residual
    relative to a.
    """
    from scipy import optimize

    i0 = int(np.searchsorted(t_ms, t_start_ms))
    out = {"t_start_ms": float(t_ms[min(i0, t_ms.size - 1)]), "model": "y = a exp(-(t - t0)/tau)"}
    if i0 >= t_ms.size or not y[i0] > 0:
        return {**out, "tau_ms": math.nan, "tau_se_ms": math.nan, "a": math.nan,
                "t_end_ms": math.nan, "n": 0, "max_rel_residual": math.nan, "complete": False}
    below = np.flatnonzero(y[i0:] <= y[i0] * math.exp(-span))
    i1 = i0 + (int(below[0]) if below.size else y.size - i0 - 1)
    x, yy = t_ms[i0:i1 + 1] - t_ms[i0], y[i0:i1 + 1]
    pos = yy > 0
    slope, icpt = np.polyfit(x[pos], np.log(yy[pos]), 1)
    p, cov = optimize.curve_fit(lambda tt, a, tau: a * np.exp(-tt / tau), x, yy,
                                p0=[math.exp(icpt), -1.0 / slope if slope < 0 else x[-1]],
                                maxfev=20000)
    resid = yy - p[0] * np.exp(-x / p[1])
    return {**out, "tau_ms": float(p[1]), "tau_se_ms": float(np.sqrt(cov[1, 1])),
            "a": float(p[0]), "t_end_ms": float(t_ms[i1]), "n": int(x.size),
            "max_rel_residual": float(np.max(np.abs(resid)) / p[0]),
            "complete": bool(below.size > 0)}


def _coupling(t_ms, y, dv, t0, t1) -> float:
    """Slope of V - V_rest against cai - rest in [t0, t1] (mV/mM), through the origin."""
    m = (t_ms >= t0) & (t_ms <= t1)
    return float(np.dot(y[m], dv[m]) / np.dot(y[m], y[m])) if m.any() else math.nan


# ---------------------------------------------------------------------------
# the protocol
# ---------------------------------------------------------------------------

def _check_dye(dye_uM):
    from ..mechanisms import ParameterError

    try:
        values = [float(x) for x in dye_uM]
    except (TypeError, ValueError):
        raise ParameterError(f"dye_uM must be a list of concentrations in uM, got {dye_uM!r}") \
            from None
    if len(set(values)) < 2 or any(not math.isfinite(x) or x < 0 for x in values):
        raise ParameterError(f"dye_uM needs at least two distinct finite values >= 0 uM, "
                             f"got {dye_uM!r}")
    return sorted(values)


def run(out_dir=None, morphology=None, recipe=None, dye_uM=DYE_UM,
        diam_um: float = COMPARTMENT_UM, pulse_nA: float | None = None) -> Result:
    """Run the added-buffer protocol; write results to ``out_dir`` if given.

    Parameters
    ----------
    out_dir : directory for added-buffer.csv (time courses), added-buffer_fits.csv,
        added-buffer_summary.csv, added-buffer.json and added-buffer.png.
    morphology : None for the protocol's compartment (see the module
        docstring), or a morphology (file, bundled name or Morphology) to
        record at the soma of a cell.
    recipe : recipe of the cell (default "mature"); only with a morphology (the
        protocol's own compartments have a fixed mechanism set, and a recipe
        without a morphology is refused rather than ignored).
    dye_uM : indicator totals (uM), at least two distinct values.
    diam_um : diameter = length of the compartment (um).
    pulse_nA : current pulse (1 ms) amplitude (nA); default: the smallest of
        a0 * 2**k (k = 0..5) that evokes exactly one spike, with a0 = 1 nA per
        1257 um2 of compartment membrane, or 1 nA at the soma of a cell.
    """
    start_clock = time.perf_counter()
    dyes = _check_dye(dye_uM)
    from ..mechanisms import ParameterError
    if recipe is not None and morphology is None:
        raise ParameterError("added-buffer: a recipe needs a morphology (e.g. morphology="
                             "'ball_and_stick'); without one the protocol uses its own "
                             "compartments with their fixed mechanisms")

    for name, value, allow_none in (("diam_um", diam_um, False), ("pulse_nA", pulse_nA, True)):
        if value is None and allow_none:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or not value > 0:
            raise ParameterError(f"{name} must be a number > 0, got {value!r}")
    from neuron import h

    from .. import build, buffering, defaults as _defaults, results, solver

    build.load()
    h.load_file("stdrun.hoc")
    d = _defaults.apply()
    cvode = h.CVode()
    saved = {"active": cvode.active(), "atol": cvode.atol(), "rtol": cvode.rtol(),
             "scales": {var: cvode.atolscale(var) for var in solver.ATOL_SCALE}}
    cell = sec = seg = handler = None
    warnings = []
    try:
        if morphology is None:
            sec = _make_compartment(h, float(diam_um))
            seg = sec(0.5)
            cvode.active(0)
            state = _solve_rest(h, sec)
            handler = state.install([sec])
            v0, c0 = state.v, state.concentrations["ca"]
            geometry = {"kind": "compartment", "L_um": float(diam_um), "diam_um": float(diam_um),
                        "nseg": 1, "source": MORPHOLOGY_SOURCE, "mechanisms": list(MECHANISMS)}
            dye_segments = [seg]
            search_pulse = pulse_nA is None
            if search_pulse:
                pulse_nA = PULSE_NA_PER_UM2 * seg.area()
        else:
            from ..cell import Cell

            from .. import recipe as recipe_mod

            # the dye is cadyn's: a cell with the lean owner (cabuf, the
            # presets') gets cadyn with the same parameters, the same physics
            rec = recipe_mod.resolve(recipe, default="mature").swap_mechanism("cabuf", "cadyn")
            cell = Cell(morphology, rec)
            cvode.active(0)
            cell.initialize()
            seg = cell.soma_center
            if not seg.sec.has_membrane("cadyn"):
                raise ParameterError("added-buffer: the soma has no cadyn (no Ca to record); "
                                     "use a recipe that inserts cadyn there")
            v0, c0 = float(seg.v), float(seg.cai)
            geometry = {"kind": "cell", **cell.to_dict(), "site": str(seg)}
            dye_segments = [s for s in cell.segments("all") if s.sec.has_membrane("cadyn")]
            search_pulse = pulse_nA is None
            if search_pulse:
                pulse_nA = CELL_PULSE_NA
        kappa_s, kappa_parts = endogenous_capacity(h, seg, c0)
        for s in dye_segments:
            s.cadyn.dyetot = 0.0
        h.finitialize()
        kappa_model = float(seg.cadyn.kappa)  # cadyn's own sum at rest, no dye
        der = extrusion_derivatives(h, seg, c0, v0)
        if cell is None:
            g_ss = _steady_conductance(h, sec, state)
            dvdc_model = -der["dIm_dc"] / g_ss
        else:
            g_ss = dvdc_model = math.nan
        dye_kd, dye_kon = float(h.dyekd_cadyn), float(h.dyekon_cadyn)

        solver.use_cvode(True, atol=CVODE_ATOL)
        if search_pulse:
            pulse_nA = find_pulse(h, seg, pulse_nA)
        runs = []
        for dye in dyes:
            for s in dye_segments:
                s.cadyn.dyetot = dye * 1e-3
            data = _run_one(h, seg, c0, pulse_nA)
            runs.append((dye, data))
            if not data["complete"]:
                warnings.append(f"dye {dye:g} uM: the decay did not reach exp(-{FIT_SPAN:g}) "
                                f"of its start within {MAX_RUN_MS / 1e3:g} s")
        cell_meta = geometry
    finally:
        cvode.active(saved["active"])
        cvode.atol(saved["atol"])
        cvode.rtol(saved["rtol"])
        for var, scale in saved["scales"].items():
            cvode.atolscale(var, scale)
        handler = None
        seg = None
        sec = None
        if cell is not None:
            cell.destroy()
            cell = None

    # ---- analysis
    fits, kappa_b, taus, couplings = [], [], [], []
    for dye, data in runs:
        y = data["cai"] - c0
        n_spikes = int(np.sum((data["spikes"] >= STIM_MS) & (data["spikes"] < STIM_MS + 50.0)))
        if n_spikes != 1 or data["spikes"].size != n_spikes:
            warnings.append(f"dye {dye:g} uM: {data['spikes'].size} spike(s), expected exactly one")
        fit = fit_decay(data["t"], y, STIM_MS + FIT_DELAY_MS)
        kb = float(buffering.capacity(dye * 1e-3, dye_kd, c0))
        after = data["t"] >= STIM_MS
        peak = float(np.max(y[after]))
        fit.update(dye_uM=dye, kappa_B=kb, peak_nM=peak * 1e6, spikes=data["spikes"].tolist())
        if math.isfinite(fit["tau_ms"]) and fit["max_rel_residual"] > FIT_MAX_RESIDUAL:
            warnings.append(f"dye {dye:g} uM: the decay is not single-exponential (largest "
                            f"residual {fit['max_rel_residual']:.2g} of its amplitude)")
        fits.append(fit)
        kappa_b.append(kb)
        taus.append(fit["tau_ms"])
        if math.isfinite(fit["tau_ms"]):
            couplings.append(_coupling(data["t"], y, data["v"] - v0, fit["t_start_ms"],
                                       fit["t_end_ms"]))
    dvdc_measured = float(np.mean(couplings)) if couplings else math.nan
    dvdc = dvdc_model if cell_meta["kind"] == "compartment" else dvdc_measured
    gamma_v = der["dJ_dc"]
    gamma_cc = der["dJ_dc"] + der["dJ_dV"] * dvdc
    ok_taus = all(math.isfinite(t) and t > 0 for t in taus)
    if ok_taus:
        ab = buffering.added_buffer_fit(np.array(kappa_b), np.array(taus))
        kappa_fit, gamma_fit, r2 = ab.kappa_s, ab.gamma, ab.r_squared
        slope, intercept = ab.slope, ab.intercept
    else:
        kappa_fit = gamma_fit = r2 = slope = intercept = math.nan
        warnings.append("a decay could not be fitted: no added-buffer line")
    err_k = kappa_fit / kappa_s - 1.0
    err_g = gamma_fit / gamma_cc - 1.0
    passed = bool(ok_taus and r2 > R2_MIN and abs(err_k) < REL_TOL and abs(err_g) < REL_TOL)
    criterion = (f"R^2 > {R2_MIN:g}, |kappa_S fit/model - 1| < {REL_TOL:g} and "
                 f"|gamma fit/model - 1| < {REL_TOL:g}")

    rows = [
        ("V_rest", v0, "mV", "resting potential at the recording site"),
        ("Cai_rest", c0 * 1e6, "nM", "resting free Ca at the recording site"),
        ("kappa_S_model", kappa_s, "1", "expected: endogenous buffer capacity at rest "
                                        "(buffering.capacity of cadyn's buffers)"),
        ("kappa_S_fit", kappa_fit, "1", "obtained: x-intercept of tau(kappa_B) is -(1 + kappa_S)"),
        ("kappa_S_error", err_k, "1", "kappa_S fit / model - 1"),
        ("gamma_model", gamma_cc * 1e3, "1/s",
         "expected: linear extrusion rate d(net Ca efflux)/d(cai) at rest, V following cai "
         "(current clamp)" + ("" if cell_meta["kind"] == "compartment"
                              else "; dV/dc measured from the transients")),
        ("gamma_fit", gamma_fit * 1e3, "1/s", "obtained: 1/slope of tau(kappa_B)"),
        ("gamma_error", err_g, "1", "gamma fit / model - 1"),
        ("gamma_clamped_V", gamma_v * 1e3, "1/s",
         "d(net Ca efflux)/d(cai) at rest with V clamped (tests/test_calcium.py definition)"),
        ("dV_dCa_model", dvdc_model * 1e-6, "mV/nM",
         "quasi-static voltage coupling -(dI_m/dc)/G_ss from the currents (compartment only)"),
        ("dV_dCa_measured", dvdc_measured * 1e-6, "mV/nM",
         "(V - V_rest)/(cai - rest) in the fit windows, mean over the runs"),
        ("r_squared", r2, "1", "R^2 of the straight line tau(kappa_B)"),
        ("tau_intercept", intercept, "ms", "tau at kappa_B = 0 from the line: (1 + kappa_S)/gamma"),
        ("tau_slope", slope, "ms", "d tau / d kappa_B = 1/gamma"),
    ]
    for f in fits:
        tag = f"{f['dye_uM']:g}uM"
        rows += [
            (f"kappa_B {tag}", f["kappa_B"], "1", f"indicator capacity at rest, dyetot {tag}"),
            (f"tau {tag}", f["tau_ms"], "ms", "decay time constant (exponential fit)"),
            (f"tau_expected {tag}", (1 + kappa_s + f["kappa_B"]) / gamma_cc, "ms",
             "(1 + kappa_S + kappa_B)/gamma with the model's kappa_S and gamma"),
            (f"peak {tag}", f["peak_nM"], "nM", "peak rise of free Ca above rest"),
        ]
    rows.append(("check", 1.0 if passed else 0.0, "1", criterion))
    summary = summary_table([(q, float(v), u, desc) for q, v, u, desc in rows])
    if not passed:
        warnings.append(f"check failed: {criterion} (R^2 {r2:.5f}, kappa_S error {err_k:+.3f}, "
                        f"gamma error {err_g:+.3f})")
    if len(kappa_parts) > 1:
        warnings.append("slow buffers (calbindin/parvalbumin) present: their equilibrium "
                        "capacity need not act on the time scale of the decay")

    timecourse = _timecourse(runs, c0, v0)
    import pandas as pd

    fit_table = pd.DataFrame([{k: f[k] for k in ("dye_uM", "kappa_B", "tau_ms", "tau_se_ms",
                                                 "peak_nM", "t_start_ms", "t_end_ms", "n",
                                                 "max_rel_residual")} for f in fits])
    parameters = {
        "dye_uM": dyes, "dyekd_mM": dye_kd, "dyekon_per_mM_ms": dye_kon, "pulse_nA": pulse_nA,
        "pulse_ms": PULSE_MS, "stim_ms": STIM_MS, "fit_delay_ms": FIT_DELAY_MS,
        "fit_span_tau": FIT_SPAN, "record_dt_ms": RECORD_DT_MS, "method": "cvode",
        "cvode_atol": CVODE_ATOL, "atolscale": dict(solver.ATOL_SCALE),
    }
    model = {"v_rest_mV": v0, "cai_rest_mM": c0, "kappa_S": kappa_s, "kappa_S_parts": kappa_parts,
             "kappa_cadyn_at_rest": kappa_model, "dJ_dc_per_ms": der["dJ_dc"],
             "dJ_dV_mM_per_ms_mV": der["dJ_dV"], "dIm_dc_mA_cm2_mM": der["dIm_dc"],
             "G_ss_mA_cm2_mV": g_ss, "dV_dc_model_mV_per_mM": dvdc_model,
             "dV_dc_measured_mV_per_mM": dvdc_measured, "gamma_cc_per_ms": gamma_cc,
             "gamma_clamped_V_per_ms": gamma_v}
    check = {"expected": {"kappa_S": kappa_s, "gamma_per_s": gamma_cc * 1e3,
                          "r_squared": f"> {R2_MIN}"},
             "obtained": {"kappa_S": kappa_fit, "gamma_per_s": gamma_fit * 1e3, "r_squared": r2},
             "tolerance": {"relative": REL_TOL, "r_squared_min": R2_MIN},
             "criterion": criterion, "passed": passed}
    metadata = results.provenance(
        protocol=NAME, description=DESCRIPTION, cells={"recording site": cell_meta},
        parameters=parameters, defaults=d.to_dict(), model=model, fits=fits,
        summary=summary_dict(summary),
        check=check, warnings=warnings,
    )
    return finish(out_dir, NAME, summary, metadata, start_clock, timecourse,
                  figure=lambda: _figure(runs, fits, c0, kappa_s, gamma_cc, kappa_fit, gamma_fit,
                                         r2, passed),
                  tables={"": timecourse, "fits": fit_table})


def _timecourse(runs, c0, v0):
    """Tidy table: every sample in the first 500 ms after the pulse, every 10 ms after."""
    import pandas as pd

    frames = []
    for dye, data in runs:
        t = data["t"]
        keep = (t <= STIM_MS + 500.0) | (np.round(t) % 10 == 0)
        for name, values, unit, scale in (("cai", data["cai"], "nM", 1e6),
                                          ("v", data["v"], "mV", 1.0)):
            frames.append(pd.DataFrame({"t_ms": np.round(t[keep], 6), "dye_uM": dye,
                                        "variable": name, "value": values[keep] * scale,
                                        "unit": unit}))
    return pd.concat(frames, ignore_index=True)


def _figure(runs, fits, c0, kappa_s, gamma, kappa_fit, gamma_fit, r2, passed):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.5), layout="constrained")
    ax1, ax2, ax3 = fig.subplots(1, 3)
    cmap = __import__("matplotlib").colormaps["viridis"]
    for k, ((dye, data), f) in enumerate(zip(runs, fits)):
        col = cmap(k / max(1, len(runs) - 1))
        t_s = (data["t"] - STIM_MS) / 1e3
        y = (data["cai"] - c0) * 1e6
        ax1.plot(t_s, y, color=col, lw=1, label=f"{dye:g} uM (kB {f['kappa_B']:.0f})")
        m = t_s < 0.1
        ax3.plot(t_s[m] * 1e3, data["v"][m], color=col, lw=0.8)
        if math.isfinite(f["tau_ms"]):
            tt = np.linspace(f["t_start_ms"], f["t_end_ms"], 100)
            ax1.plot((tt - STIM_MS) / 1e3, f["a"] * np.exp(-(tt - f["t_start_ms"]) / f["tau_ms"])
                     * 1e6, color="k", ls=":", lw=1)
    ax1.set_xlabel("time after the pulse (s)")
    ax1.set_ylabel("free Ca above rest (nM)")
    ax1.set_title("AP-evoked transients (dotted: fits)", fontsize=9)
    ax1.legend(fontsize=7)
    kb = np.array([f["kappa_B"] for f in fits])
    tau = np.array([f["tau_ms"] for f in fits]) / 1e3
    ax2.plot(kb, tau, "o", color="k", label="fitted tau")
    x = np.linspace(-(1 + max(kappa_s, kappa_fit if math.isfinite(kappa_fit) else 0)) * 1.1,
                    kb.max() * 1.05, 100)
    if math.isfinite(gamma_fit):
        ax2.plot(x, (1 + kappa_fit + x) / gamma_fit / 1e3, color="tab:red",
                 label=f"line: kS {kappa_fit:.1f}, gamma {gamma_fit * 1e3:.1f}/s, R2 {r2:.5f}")
    ax2.plot(x, (1 + kappa_s + x) / gamma / 1e3, color="tab:blue", ls="--",
             label=f"model: kS {kappa_s:.1f}, gamma {gamma * 1e3:.1f}/s")
    ax2.axhline(0, color="0.5", lw=0.6)
    ax2.axvline(0, color="0.5", lw=0.6)
    ax2.set_xlabel("indicator capacity kappa_B")
    ax2.set_ylabel("decay tau (s)")
    ax2.set_title(f"tau = (1 + kS + kB)/gamma  [check {'passed' if passed else 'FAILED'}]",
                  fontsize=9)
    ax2.legend(fontsize=7)
    ax3.set_xlabel("time after the pulse onset (ms)")
    ax3.set_ylabel("V (mV)")
    ax3.set_title("the action potential", fontsize=9)
    return fig
