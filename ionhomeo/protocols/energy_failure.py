"""Protocol ``energy-failure``: the Na/K-ATPase and the ATP supply fail.

At ``t0`` the Na/K pump stops (nakpump ``avail`` = 0 everywhere) and, in the
default scenario, so does every other ATP-driven pump: the ATP supply is
gone, so the pumps stop turning over (pmca ``imax`` = 0, serca ``vmax`` = 0
where present). Alternatively, with ``dgatp_kj``, the other pumps keep their
rates but run on a lower ATP free energy
(:func:`ionhomeo.calcium.set_atp_free_energy`, default -55 kJ/mol); note
that above about -40 kJ/mol the PMCA then runs backwards at rest (its
thermodynamic factor changes sign: Ca influx at up to imax), which is why
stopping the pumps is the default. For comparison the Na/K pump is also
blocked alone ("ouabain", ATP supply intact).

The cell runs down: Na leaks in, NCX reverses when Vm crosses its reversal
potential ``3 E_Na - 2 E_Ca``, cytosolic Ca overloads, the cell
depolarises and (with ``kext``) K leaks into the extracellular space.

The cell
--------
Default (``morphology=None``): one isopotential cylinder, L = diam =
``diam_um`` = 20 um (a soma), carrying the Na/K/Cl system (nadyn, kdyn,
cldyn, nakpump, naleak, kleak, clleak, kcc2), the Ca system (cadyn, pmca,
ncx, caleak) and, with ``kext=True``, kext (a thin extracellular shell
cleared by the bath and by glia), every parameter at its mod-file default;
no spike channels. With ``recipe`` the recipe's soma mechanisms are used
instead (kext added if asked for and absent); with ``morphology`` the
protocol runs on that cell (:class:`ionhomeo.cell.Cell`, default recipe
mature; slow) and watches the soma centre. Every time scale of the rundown
is proportional to volume/area (diam/4): in a 20 um soma Nai doubles in
about 8 min and Vm reaches -40 mV after about an hour, so the default run
covers 2 hours (about 5 s of CPU per scenario); a 1 um process runs down 20
times faster.

Integration: CVODE with ionhomeo's tolerances (:func:`ionhomeo.simulate.run`)
and its step capped at ``maxstep_ms`` (100 ms), so that every event is
interpolated between recorded steps at most that far apart. The cap is not
needed for the run to complete. It was until cadyn and cabuf stopped
writing ica into their flux (cadyn.mod, KINETIC block): NEURON's Jacobian
guess for that flux, applied to cai alone, pulled the free Ca off its
buffer equilibrium once CVODE's steps passed about 100 ms, and CVODE
stopped with repeated error-test failures after 100-4500 s of the rundown.
With caps of 100 and 1000 ms and none the event times of the default run
agree to 0.01 s. A failing integration raises
:class:`ionhomeo.simulate.SimulationError` naming the time reached and the
fix, with the steps recorded until then (every run so far, in the layout
of the time course, at every integration step) as ``err.partial``.

Events
------
Each is the first crossing after t0, located between the two integration
steps that bracket it (every step is recorded) by linear interpolation:

1. ``Nai_rise``: Nai reaches 1.1 x its resting value (+10 %);
2. ``NCX_reversal``: the exchange current incx changes sign from forward
   (< 0, Ca out) to reverse (> 0, Ca in); also reported: when it returns
   to forward mode, and what moved Vm across E_NCX (the change of Vm, of
   3 E_Na and of -2 E_Ca since rest);
3. ``Ca_overload``: cai reaches 1 uM;
4. ``depolarisation``: Vm crosses -40 mV upward (also reported: the time
   Vm first stands 20 mV above rest);
5. ``K_accumulation`` (with kext): ko reaches its resting value + 1 mM
   (reported, not part of the order).

Check: events 1-4 occur, in that order, and at the NCX reversal Vm equals
``thermo.ncx_reversal`` (3 E_Na - 2 E_Ca from the simulated Nai, Nao, Cai,
Cao at that moment) within 1 mV (ncx.mod's bracket vanishes exactly there;
what is left is the interpolation error, reported with the error at the
first step after the sign change).

What the model gives (default run): the reversals sit on 3 E_Na - 2 E_Ca
to about 1e-3 mV, but the order check FAILS. The resting exchanger runs
forward only 12.1 mV below its reversal (Vm -77.3, E_NCX -65.2 mV;
3 E_Na - 2 E_Ca gives about -65 mV at Nai 12 mM, Cai 100 nM).
Stopping the pumps removes their outward currents (Na/K pump 0.29, PMCA
0.54 uA/cm2) and depolarises by 12.6 mV within 40 ms, while the Ca leak
raises Cai and with it E_NCX: in the 20 um soma the depolarisation wins by
0.5 mV and NCX runs in reverse from 0.04 to 0.15 s, before Nai has changed
(Nai +10 % at 51 s, Cai 1 uM at 205 s, Vm -40 mV at 3816 s); in cylinders
of 5 or 10 um the Ca rise wins and NCX never reverses. After that NCX
stays in forward mode: with the PMCA stopped Cai rises through the Ca leak,
which raises E_NCX, and Vm falls 12-39 mV below 3 E_Na - 2 E_Ca during the
first minutes; it closes in only as Nai rises (within 1 mV after about 27
min, 0.01 mV at 2 h). Ca overloads through the Ca leak, not through a
reversed NCX. Most of the acute step comes from the PMCA, which pmca.mod
models by default (nh = 0) with 2 charges per Ca.

The electroneutral PMCA (``pmca_nh=2``: 1 Ca : 2 H+, Thomas 2009, the H+
returned by Na/H exchange, see pmca.mod) removes that part of the step, but
it does not rescue the order: at the shipped parameters the PMCA's H+ then
costs the cell 2 Na per Ca, the pump current at rest rises from 0.29 to 0.43
uA/cm2, resting Nai from 12 to 16.6 mM and Vm from -77.3 to -70.8 mV, and
E_NCX falls to -87.8 mV: NCX runs in reverse already at rest, so there is
no forward-to-reverse transition in either scenario (Cai 1 uM at 64 s, Nai
+10 % at 67 s, Vm -40 mV at 3835 s). Using the electroneutral PMCA would
need the cell's Na budget re-parameterised; that, like the stoichiometry
itself, is a modelling decision and not a parameter to tune for this check.
Even with the budget restored (NALCN scaled by 0.367, which brings back the
resting Nai 12.48 mM and Vm -77.3 mV; tests/test_protocol_energy_failure.py)
NCX never reverses when the ATP supply fails: the Ca leak, no longer
opposed by the PMCA, raises Cai and E_NCX faster than Nai and Vm move (Nai
+10 % at 68 s, Cai 1 uM at 349 s, Vm -40 mV at 6272 s); in that
re-budgeted cell, with the pump blocked alone, it reverses at 41 s, before
Nai +10 % (74 s). (The test asserts the orders and the restored rest; the
times quoted are from the run.)
With the Na/K
pump blocked alone NCX reverses durably at 45 s (Vm +5.7 mV, 3 E_Na -4.7
mV, -2 E_Ca -1.7 mV since rest), still before Nai +10 % (75 s); the intact
PMCA then extrudes the Ca that the reversed NCX brings in, reversed NCX +
PMCA extrude Na (3 Na per Ca cycled), and the cell settles near -90 mV with
Nai about 35 mM and Cai about 0.3 uM: no overload, no depolarisation. With
``kext`` at its defaults ko rises by only about 0.2 mM: the bath exchange
(10 s) and glial uptake clear the K that leaves.

Onset: by default the pumps stop at t0. With ``onset_s`` they decline as
exp(-(t - t0)/onset_s) instead (ouabain binds over tens of seconds, ATP
runs down over minutes), played into every segment with
:func:`ionhomeo.simulate.play`. Slow events then come about one onset later
(a first-order decline withholds onset x the resting pump flux: Nai +10 %
1.07 and 1.14 onsets later for onsets of 1 and 3 s). The brief NCX reversal
of the instantaneous failure is gone already at a 1 s onset: it is the
membrane charging within milliseconds, faster than the Ca leak raises
E_NCX. The rest of the model's order stays: with the ATP supply failing NCX
never reverses; with the pump blocked alone it reverses durably before Nai
+10 % (46 s vs 76 s at a 1 s onset, 81 s vs 105 s at 30 s).

Nor does the order hold when the resting Ca turnover (PMCA and Ca leak
together) is cut to 0.1 (NCX then never reverses under ATP failure) or 0.01
(NCX rests 2.6 mV from its reversal and the pumps' lost current reverses it
within 12 ms), or in the mature preset's soma (5.3 mV, 8 ms); with the pump
blocked alone NCX reverses before Nai +10 % in every one of them
(tests/test_protocol_energy_failure.py). For the textbook order NCX would
have to rest further below its reversal than the pumps' current
depolarises the cell plus the 7.6 mV that Nai +10 % moves 3 E_Na
(3 RT/F ln 1.1), while the Ca that enters does not raise E_NCX faster.
The one combination found that gives it: a resting Ca turnover of 0.02 and
a 30 s onset. NCX then reverses durably after Nai +10 % (605 s vs 104 s),
Cai reaches 1 uM at 947 s and Vm -40 mV at 8838 s, and the whole check
passes; at 0.05 Ca overloads before NCX reverses. Such a turnover makes the
PMCA, which clears most of a small Ca load near rest, 50 times slower.

Everything created in NEURON is deleted, and the CVODE settings, pump rates
and ATP free energies are restored, before the protocol returns.
"""

from __future__ import annotations

import math
import time

import numpy as np

from .. import recipe as recipe_mod
from .common import Result, check_number, compartment, finish, summary_dict, summary_table

NAME = "energy-failure"
DESCRIPTION = ("Na/K pump and ATP supply fail in a 20 um soma: times of Nai +10 %, NCX reversal "
               "(at 3 E_Na - 2 E_Ca), Ca overload, depolarisation and ko rise, and their order")

#: mechanisms of the default compartment, all at their mod-file defaults
MECHANISMS = ("nadyn", "kdyn", "cldyn", "nakpump", "naleak", "kleak", "clleak", "kcc2",
              "cadyn", "pmca", "ncx", "caleak")
DIAM_UM = 20.0
T0_S = 10.0
#: ATP free energy of the mod files (kJ/mol)
DGATP_DEFAULT_KJ = -55.0
MAXSTEP_MS = 100.0
RECORD_DT_MS = 1000.0
#: event thresholds
NAI_RISE = 0.10          # relative
CA_OVERLOAD_MM = 1e-3    # 1 uM
DEPOL_MV = -40.0
DEPOL_RISE_MV = 20.0
KO_RISE_MM = 1.0
#: NCX reversal check tolerance (mV)
NCX_TOL_MV = 1.0
ORDER = ("Nai_rise", "NCX_reversal", "Ca_overload", "depolarisation")


def _compartment(h, rec, diam_um, kext, name):
    """One cylinder (L = diam) with MECHANISMS or the recipe's soma mechanisms."""
    from .. import mechanisms

    sec, applied = compartment(h, name, diam_um, diam_um, MECHANISMS, rec)
    if kext and not sec.has_membrane("kext"):
        mechanisms.insert(sec, "kext")
    return sec, applied


#: the ATP-driven pumps stopped when the ATP supply fails (dgatp_kj None):
#: mechanism -> its maximal-rate parameter, set to 0
ATPASE_RATES = {"pmca": "imax", "serca": "vmax"}
#: soma variables recorded at every integration step
STEP_VARIABLES = ("v", "nai", "ki", "cli", "cai", "ko", "incx_ncx", "ipmca_pmca")


#: with an onset time constant, the failure is played as exp(-(t - t0)/onset)
#: sampled every onset/ONSET_SAMPLES up to ONSET_SPAN onsets, then 0
#: (linear interpolation of the exponential: relative error <= (1/20)^2/8 =
#: 3e-4 of the factor; the final step from exp(-12) = 6e-6 to 0 is negligible)
ONSET_SAMPLES = 20
ONSET_SPAN = 12


def _onset_factor(t0_ms, onset_ms):
    """(times, factors) of the failure's time course: the pumps' remaining
    fraction exp(-(t - t0)/onset) from t0, 0 after ONSET_SPAN onsets (held
    there by :func:`ionhomeo.simulate.play`; NEURON alone would extrapolate
    the last ramp and run the pumps backwards)."""
    s = np.linspace(0.0, ONSET_SPAN * onset_ms, ONSET_SPAN * ONSET_SAMPLES + 1)
    factor = np.exp(-s / onset_ms)
    factor[-1] = 0.0
    return t0_ms + s, factor


def _simulate(h, start, segments, soma, t0_ms, tstop_ms, failure, dgatp_kj, maxstep_ms,
              onset_ms=0.0):
    """One run from rest; at t0 the failure: "ouabain" (nakpump avail = 0),
    "atp" (also every other ATPase stopped, or, with dgatp_kj, the ATP free
    energy set to dgatp_kj). With ``onset_ms`` > 0 the pumps' availability
    (and the ATPases' rates) fall as exp(-(t - t0)/onset) instead of at
    once, played into each segment (Vector.play with linear interpolation,
    which CVODE evaluates at every step). Returns {name: array} at every
    integration step.
    """
    from .. import calcium, solver
    from ..simulate import SimulationError, play
    from ..simulate import run as integrate

    cvode = h.CVode()
    sec = soma.sec
    vectors = {"t": h.Vector().record(h._ref_t, sec=sec)}
    for name in STEP_VARIABLES:
        if hasattr(soma, name):
            vectors[name] = h.Vector().record(getattr(soma, f"_ref_{name}"), sec=sec)
    avail = [s.nakpump.avail for s in segments]
    rates = [(s, m, p, getattr(getattr(s, m), p)) for s in segments
             for m, p in ATPASE_RATES.items() if s.sec.has_membrane(m)]
    dgatp = {m: float(getattr(h, f"dgatp_{m}")) for m in calcium.ATP_MECHANISMS
             if hasattr(h, f"dgatp_{m}")}
    # what falls to zero: (segment's mechanism, parameter, value before)
    falling = [(s.nakpump, "avail", a) for s, a in zip(segments, avail)]
    if failure == "atp" and dgatp_kj is None:
        falling += [(getattr(s, m), p, value) for s, m, p, value in rates]
    played = []  # (times, values) Vectors of every play
    try:
        solver.use_cvode()
        cvode.maxstep(maxstep_ms)
        if onset_ms > 0:
            # NEURON takes up a play at finitialize: set it before the start
            # (it holds the first value, the parameter's own, until t0)
            times, factor = _onset_factor(t0_ms, onset_ms)
            played += [play(getattr(mech, f"_ref_{p}"), times, factor * value)
                       for mech, p, value in falling]
        start()
        try:
            # simulate.run finds CVODE on with these settings and continues
            integrate(t0_ms)
            if onset_ms <= 0:
                for mech, p, _ in falling:
                    setattr(mech, p, 0.0)
            if failure == "atp" and dgatp_kj is not None:
                calcium.set_atp_free_energy(dgatp_kj)
            cvode.re_init()
            integrate(tstop_ms)
        except SimulationError as err:
            if err.t_ms is None:
                raise
            raise SimulationError(
                f"energy-failure, {failure} run: {err} (In this protocol the step cap is its "
                f"maxstep_ms argument, now {maxstep_ms:g} ms.)", t_ms=err.t_ms, info=err.info,
                partial=_steps_table({CONDITION[failure]: _arrays(vectors)})) from err
        out = _arrays(vectors)
    finally:
        for _, values in played:
            values.play_remove()
        played.clear()
        for m, value in dgatp.items():
            setattr(h, f"dgatp_{m}", value)
        for s, m, p, value in rates:
            setattr(getattr(s, m), p, value)
        for s, a in zip(segments, avail):
            s.nakpump.avail = a
        for vec in vectors.values():
            vec.play_remove()
        del vectors
    return out


#: the time-course condition of each failure scenario of _simulate
CONDITION = {"atp": "energy_loss", "ouabain": "ouabain"}


def _arrays(vectors):
    """{name: numpy array} of the recorded Vectors, at every integration step."""
    out = {k: np.array(v) for k, v in vectors.items()}
    n = min(a.size for a in out.values())
    out = {k: a[:n] for k, a in out.items()}
    # CVODE records the initialisation and the re-initialisation at t0 twice
    keep = np.ones(n, bool)
    keep[1:] = np.diff(out["t"]) > 0
    return {k: a[keep] for k, a in out.items()}


def _steps_table(runs):
    """Tidy table of runs ({condition: arrays}) at every integration step,
    in the layout of the time course (condition, t_s, variable, value, unit)."""
    import pandas as pd

    frames = [pd.DataFrame({"condition": cond, "t_s": data["t"] / 1e3, "variable": name,
                            "value": data[name], "unit": unit})
              for cond, data in runs.items() for name, unit in _UNITS.items() if name in data]
    return pd.concat(frames, ignore_index=True) if frames else None


def _events(data, rest, t0_ms, celsius):
    """The events after t0 (module docstring): {name: {t_s, and the state then}}.

    Each is the first crossing after t0, linearly interpolated between the
    two integration steps that bracket it.
    """
    from .. import thermo

    t = data["t"]
    after = t >= t0_ms

    def crossing(y, level, rising=True):
        yy = y if rising else -y
        lv = level if rising else -level
        k = np.flatnonzero(after[1:] & (yy[:-1] < lv) & (yy[1:] >= lv))
        if k.size == 0:
            return None
        i = int(k[0])
        f = (lv - yy[i]) / (yy[i + 1] - yy[i])
        return i, float(f)

    def state(i, f):
        out = {"t_s": float(t[i] + f * (t[i + 1] - t[i])) / 1e3}
        for name in STEP_VARIABLES:
            if name in data:
                out[name] = float(data[name][i] + f * (data[name][i + 1] - data[name][i]))
        return out

    events = {}
    levels = {"Nai_rise": ("nai", (1 + NAI_RISE) * rest["nai"]),
              "NCX_reversal": ("incx_ncx", 0.0),
              "Ca_overload": ("cai", CA_OVERLOAD_MM),
              "depolarisation": ("v", DEPOL_MV),
              "depolarisation_20mV": ("v", rest["v"] + DEPOL_RISE_MV)}
    if "ko" in data and rest.get("kext"):
        levels["K_accumulation"] = ("ko", rest["ko"] + KO_RISE_MM)
    for label, (name, level) in levels.items():
        hit = crossing(data[name], level)
        if hit is not None:
            events[label] = state(*hit)
    ncx = crossing(data["incx_ncx"], 0.0)
    if ncx is not None:
        i, f = ncx
        # E_NCX at the two bracketing steps, interpolated like Vm
        e = thermo.ncx_reversal(data["nai"][i:i + 2], rest["nao"], data["cai"][i:i + 2],
                                rest["cao"], celsius)
        ev = events["NCX_reversal"]
        ev["E_NCX"] = float(e[0] + f * (e[1] - e[0]))
        ev["E_NCX_after"] = float(e[1])
        ev["v_after"] = float(data["v"][i + 1])
        ev["step_ms"] = float(t[i + 1] - t[i])
        back = np.flatnonzero((t[i + 1:] > t[i + 1]) & (data["incx_ncx"][i + 1:] < 0))
        ev["forward_again_s"] = float(t[i + 1 + back[0]] / 1e3) if back.size else math.nan
    return events


def run(out_dir=None, morphology=None, recipe=None, duration_s: float = 7200.0,
        diam_um: float = DIAM_UM, kext: bool = True, dgatp_kj=None, t0_s: float = T0_S,
        maxstep_ms: float = MAXSTEP_MS, compare_ouabain: bool = True, pmca_nh=None,
        onset_s: float = 0.0, defaults=None, progress=None) -> Result:
    """Run the energy-failure protocol (module docstring); write to ``out_dir`` if given.

    morphology: None for the protocol's own compartment (``diam_um``, L =
        diam), or a morphology for :class:`ionhomeo.cell.Cell` (events at
        the soma centre).
    recipe: None (the compartment's MECHANISMS at their defaults; for a cell
        the mature preset), a preset name, TOML file or Recipe.
    duration_s: simulated time (s); the failure starts at ``t0_s``.
    kext: add extracellular K dynamics (kext) to the compartment.
    dgatp_kj: None (the ATP supply fails: every ATPase stops), or the ATP
        free energy (kJ/mol, -100..0) the pumps other than nakpump run on
        after the failure.
    maxstep_ms: cap on CVODE's step (ms), see the module docstring.
    compare_ouabain: also run the pump block alone (ATP supply intact).
    pmca_nh: None (pmca.mod's nh, 0 by default: electrogenic PMCA) or the H+
        taken up per Ca by the PMCA for this run (0..2; 2 is electroneutral,
        see the module docstring). Restored afterwards. Not with dgatp_kj.
    onset_s: 0 (the pumps stop at t0) or the time constant (s) of their
        decline: availability, and with the ATP supply failing the ATPases'
        rates, fall as exp(-(t - t0)/onset_s) (ouabain wash-in and binding,
        ATP running down; module docstring). Not with dgatp_kj.
    defaults: :class:`ionhomeo.defaults.Defaults`; the package defaults if None.
    progress: accepted for the command line; unused.
    """
    start_clock = time.perf_counter()
    from ..mechanisms import ParameterError

    duration_s = check_number("duration_s", duration_s, low=0.0)
    diam_um = check_number("diam_um", diam_um, low=0.0)
    t0_s = check_number("t0_s", t0_s, low=0.0)
    maxstep_ms = check_number("maxstep_ms", maxstep_ms, low=0.0)
    if dgatp_kj is not None:
        dgatp_kj = check_number("dgatp_kj", dgatp_kj)
        if not -100.0 <= dgatp_kj <= 0.0:
            raise ParameterError(f"dgatp_kj = {dgatp_kj:g} kJ/mol is outside the mod files' "
                                 "range [-100, 0]")
    onset_s = check_number("onset_s", onset_s)
    if onset_s < 0:
        raise ParameterError(f"onset_s = {onset_s:g} s must be >= 0 (0: the pumps stop at once)")
    if onset_s > 0 and dgatp_kj is not None:
        raise ParameterError("onset_s > 0 cannot be combined with dgatp_kj: the onset scales the "
                             "pumps' rates down, dgatp_kj changes their free energy at t0; use "
                             "one of the two")
    if duration_s <= t0_s:
        raise ParameterError(f"duration_s = {duration_s:g} s must exceed t0_s = {t0_s:g} s")
    if pmca_nh is not None:
        pmca_nh = check_number("pmca_nh", pmca_nh)
        if not 0.0 <= pmca_nh <= 2.0:
            raise ParameterError(f"pmca_nh = {pmca_nh:g} is outside pmca.mod's range [0, 2] "
                                 "(H+ taken up per Ca extruded)")
        if pmca_nh > 0 and dgatp_kj is not None:
            raise ParameterError(
                "pmca_nh > 0 cannot be combined with dgatp_kj: pmca.mod returns the PMCA's H+ "
                "through a lumped Na/H exchange that assumes forward pumping, and a lowered ATP "
                "free energy can reverse the PMCA. Use one of the two")

    from neuron import h

    from .. import build, calcium, defaults as _defaults, results, solver, steady, thermo
    from ..cell import Cell
    from ..simulate import SimulationError

    build.load()
    h.load_file("stdrun.hoc")
    d = _defaults.apply(defaults)
    rec = recipe_mod.resolve(recipe, default=None if morphology is None else "mature")
    cvode = h.CVode()
    saved = {"active": cvode.active(), "rtol": cvode.rtol(), "atol": cvode.atol(),
             "maxstep": cvode.maxstep(),
             "scales": {var: cvode.atolscale(var) for var in solver.ATOL_SCALE}}
    saved_dgatp = {m: float(getattr(h, f"dgatp_{m}")) for m in calcium.ATP_MECHANISMS
                   if hasattr(h, f"dgatp_{m}")}
    saved_nh = float(h.nh_pmca)
    cell = sec = None
    warnings = []
    try:
        if pmca_nh is not None:
            h.nh_pmca = pmca_nh
        nh_used = float(h.nh_pmca)
        if morphology is None:
            sec, applied = _compartment(h, rec, diam_um, kext, "ionhomeo_energy_failure_cell")
            cvode.active(0)
            state = steady.solve([sec])
            segments = [sec(0.5)]
            soma = sec(0.5)

            def start(state=state, sec=sec):
                state.finitialize([sec])

            cell_meta = {"morphology": None, "L_um": diam_um, "diam_um": diam_um, "nseg": 1,
                         "recipe": None if rec is None else rec.to_dict(), "kext": bool(kext),
                         "applied": applied}
        else:
            cell = Cell(morphology, rec)
            cvode.active(0)
            state = cell.initialize()
            segments = [s for s in cell.segments("all") if s.sec.has_membrane("nakpump")]
            soma = cell.soma_center

            def start(state=state):
                state.finitialize()

            cell_meta = cell.to_dict()
        for mech in ("nakpump", "nadyn", "ncx"):
            if not soma.sec.has_membrane(mech):
                raise ParameterError(f"the cell has no {mech} at the soma: the energy-failure "
                                     "protocol needs the Na/K pump, nadyn, a Ca owner and ncx")
        if calcium.owner(soma) is None:
            raise ParameterError("the cell has no Ca owner (cadyn or cabuf) at the soma: the "
                                 "energy-failure protocol needs the Na/K pump, nadyn, a Ca owner "
                                 "and ncx")
        start()
        rest = {"v": soma.v, "nai": soma.nai, "ki": soma.ki, "cli": soma.cli, "cai": soma.cai,
                "ko": soma.ko, "nao": soma.nao, "cao": soma.cao, "incx": soma.incx_ncx,
                "ipump": soma.ipump_nakpump,
                "ipmca": soma.ipmca_pmca if hasattr(soma, "ipmca_pmca") else 0.0,
                "kext": bool(soma.sec.has_membrane("kext"))}
        rest["E_NCX"] = float(thermo.ncx_reversal(rest["nai"], rest["nao"], rest["cai"],
                                                  rest["cao"], h.celsius))
        celsius = float(h.celsius)
        rest["celsius"] = celsius
        runs = {}
        try:
            runs["energy_loss"] = _simulate(h, start, segments, soma, t0_s * 1e3,
                                            duration_s * 1e3, "atp", dgatp_kj, maxstep_ms,
                                            onset_s * 1e3)
            if compare_ouabain:
                runs["ouabain"] = _simulate(h, start, segments, soma, t0_s * 1e3,
                                            duration_s * 1e3, "ouabain", None, maxstep_ms,
                                            onset_s * 1e3)
        except SimulationError as err:
            if runs and err.partial is not None:  # keep the runs that completed too
                import pandas as pd

                err.partial = pd.concat([_steps_table(runs), err.partial], ignore_index=True)
            raise
    finally:
        for m, value in saved_dgatp.items():
            setattr(h, f"dgatp_{m}", value)
        h.nh_pmca = saved_nh
        cvode.active(saved["active"])
        cvode.rtol(saved["rtol"])
        cvode.atol(saved["atol"])
        cvode.maxstep(saved["maxstep"])
        for var, scale in saved["scales"].items():
            cvode.atolscale(var, scale)
        state = start = None
        segments = soma = None
        sec = None
        if cell is not None:
            cell.destroy()
            cell = None
    sim_clock = time.perf_counter() - start_clock

    # -- analysis ---------------------------------------------------------------
    data = runs["energy_loss"]
    events = _events(data, rest, t0_s * 1e3, celsius)
    times = {k: (events[k]["t_s"] - t0_s if k in events else math.nan)
             for k in (*ORDER, "depolarisation_20mV", "K_accumulation")}
    missing = [k for k in ORDER if k not in events]
    order_ok = not missing and all(times[a] <= times[b] for a, b in zip(ORDER, ORDER[1:]))
    observed = sorted((k for k in ORDER if k in events), key=lambda k: times[k])
    ncx = events.get("NCX_reversal")
    ncx_err = (ncx["v"] - ncx["E_NCX"]) if ncx else math.nan
    ouabain_events = (_events(runs["ouabain"], rest, t0_s * 1e3, celsius)
                      if "ouabain" in runs else {})
    oncx = ouabain_events.get("NCX_reversal")
    oncx_err = (oncx["v"] - oncx["E_NCX"]) if oncx else math.nan
    # every reversal seen (energy failure, and pump block alone) must be at E_NCX
    seen = [e for e in (ncx_err, oncx_err) if math.isfinite(e)]
    ncx_ok = bool(seen) and all(abs(e) < NCX_TOL_MV for e in seen)
    passed = bool(order_ok and ncx_ok)
    # what moved Vm across E_NCX: the depolarisation, and E_NCX's own change
    # from Nai (3 E_Na) and from Cai (-2 E_Ca)
    rtf = float(thermo.rt_over_f(celsius))

    def shares(ev):
        """(dVm, d(3 E_Na), d(-2 E_Ca)) since rest at a reversal (mV)."""
        if not ev:
            return math.nan, math.nan, math.nan
        # 3 E_Na = 3 (RT/F) ln(nao/nai); -2 E_Ca = -(RT/F) ln(cao/cai)
        return (ev["v"] - rest["v"], -3 * rtf * math.log(ev["nai"] / rest["nai"]),
                rtf * math.log(ev["cai"] / rest["cai"]))

    d_v, d_ena3, d_eca2 = shares(ncx)
    o_v, o_ena3, o_eca2 = shares(oncx)
    if rest["incx"] >= 0:
        warnings.append("NCX runs in reverse already at rest: no forward-to-reverse transition")
    if ncx and math.isfinite(ncx["forward_again_s"]):
        warnings.append(f"NCX was in reverse mode only from {times['NCX_reversal']:.3g} to "
                        f"{ncx['forward_again_s'] - t0_s:.3g} s after the failure")
    if missing:
        warnings.append(f"event(s) not reached within {duration_s - t0_s:g} s after the failure: "
                        f"{', '.join(missing)}")
    if not order_ok and not missing:
        warnings.append(f"events not in the expected order: observed {' < '.join(observed)}")
    ko_rise = float(np.max(data["ko"]) - rest["ko"]) if "ko" in data else math.nan
    if rest["kext"] and "K_accumulation" not in events:
        warnings.append(f"ko never rose by {KO_RISE_MM:g} mM (largest rise {ko_rise:.3g} mM): "
                        "kext's bath exchange and glial uptake clear it")
    final = {k: float(a[-1]) for k, a in data.items()}
    failure = ("nakpump avail = 0; " + ("PMCA (and SERCA) stopped: imax (vmax) = 0"
                                       if dgatp_kj is None else
                                       f"ATP free energy {dgatp_kj:g} kJ/mol for the other pumps")
               + (f"; falling as exp(-t/{onset_s:g} s)" if onset_s > 0 else ""))
    rows = [
        ("Vm_rest", rest["v"], "mV", "resting potential (solved steady state)"),
        ("Nai_rest", rest["nai"], "mM", "resting Nai"),
        ("Cai_rest", rest["cai"] * 1e3, "uM", "resting Cai"),
        ("E_NCX_rest", rest["E_NCX"], "mV", "NCX reversal 3 E_Na - 2 E_Ca at rest (forward below)"),
        ("I_pump_rest", rest["ipump"] * 1e3, "uA/cm2", "resting Na/K pump current (outward)"),
        ("I_pmca_rest", rest["ipmca"] * 1e3, "uA/cm2",
         "resting PMCA Ca current (outward); its net membrane current is (1 - nh/2) times this"),
        ("pmca_nh", nh_used, "1",
         "H+ taken up per Ca by the PMCA (0: electrogenic, pmca.mod's default; 2: electroneutral)"),
        ("onset", onset_s, "s", "time constant of the pumps' decline (0: they stop at t0)"),
        ("dGATP", DGATP_DEFAULT_KJ if dgatp_kj is None else dgatp_kj, "kJ/mol",
         "ATP free energy after the failure" + (" (unchanged: the ATPases stop instead)"
                                                if dgatp_kj is None else "")),
        ("t_Nai_rise", times["Nai_rise"], "s",
         f"after the failure ({failure}): Nai reaches +{NAI_RISE:.0%}"),
        ("t_NCX_reversal", times["NCX_reversal"], "s",
         "after the failure: incx turns from forward (< 0, Ca out) to reverse (> 0)"),
        ("t_NCX_forward_again", (ncx["forward_again_s"] - t0_s) if ncx else math.nan, "s",
         "after the failure: NCX back in forward mode (nan: stays reversed)"),
        ("t_Ca_overload", times["Ca_overload"], "s",
         f"after the failure: Cai reaches {CA_OVERLOAD_MM * 1e3:g} uM"),
        ("t_depolarisation", times["depolarisation"], "s",
         f"after the failure: Vm crosses {DEPOL_MV:g} mV"),
        ("t_depolarisation_20mV", times["depolarisation_20mV"], "s",
         f"after the failure: Vm first {DEPOL_RISE_MV:g} mV above rest"),
        ("t_K_accumulation", times["K_accumulation"], "s",
         f"after the failure: ko + {KO_RISE_MM:g} mM (kext)" if rest["kext"] else "no kext"),
        ("ko_rise_max", ko_rise, "mM", "largest rise of ko (kext)"),
        ("check_order", float(order_ok), "1", "Nai +10 % <= NCX reversal <= Ca 1 uM <= Vm -40 "
                                              "mV, all reached; observed: " + " < ".join(observed)),
        ("Vm_at_NCX_reversal", ncx["v"] if ncx else math.nan, "mV",
         "Vm when incx changes sign (interpolated between integration steps)"),
        ("E_NCX_at_NCX_reversal", ncx["E_NCX"] if ncx else math.nan, "mV",
         "thermo.ncx_reversal from the simulated Nai, Nao, Cai, Cao then"),
        ("NCX_error", ncx_err, "mV", "Vm - E_NCX at the reversal"),
        ("NCX_error_uninterpolated", (ncx["v_after"] - ncx["E_NCX_after"]) if ncx else math.nan,
         "mV", "the same at the first integration step after the sign change"),
        ("ouabain_NCX_error", oncx_err, "mV",
         "pump block alone: Vm - E_NCX at its NCX reversal (interpolated)"),
        ("ouabain_NCX_dVm", o_v, "mV", "pump block alone, at its reversal: Vm - rest"),
        ("ouabain_NCX_d3ENa", o_ena3, "mV", "pump block alone, at its reversal: change of 3 E_Na"),
        ("ouabain_NCX_d2ECa", o_eca2, "mV", "pump block alone, at its reversal: change of -2 E_Ca"),
        ("check_NCX", float(ncx_ok), "1", f"|Vm - E_NCX| < {NCX_TOL_MV:g} mV at every NCX "
                                          "reversal seen (energy failure, pump block alone)"),
        ("check", float(passed), "1", "check_order and check_NCX"),
        ("NCX_dVm", d_v, "mV", "at the reversal: Vm - rest (the depolarisation's share)"),
        ("NCX_d3ENa", d_ena3, "mV", "at the reversal: change of 3 E_Na since rest (Nai's share)"),
        ("NCX_d2ECa", d_eca2, "mV", "at the reversal: change of -2 E_Ca since rest (Cai's share)"),
        ("Nai_at_NCX_reversal", ncx["nai"] if ncx else math.nan, "mM", "Nai at the reversal"),
        ("Vm_final", final["v"], "mV", f"Vm at {duration_s:g} s"),
        ("Nai_final", final["nai"], "mM", f"Nai at {duration_s:g} s"),
        ("Ki_final", final["ki"], "mM", f"Ki at {duration_s:g} s"),
        ("Cai_final", final["cai"] * 1e3, "uM", f"Cai at {duration_s:g} s"),
        ("ko_final", final.get("ko", math.nan), "mM", f"ko at {duration_s:g} s"),
    ]
    if "ouabain" in runs:
        odata = runs["ouabain"]
        for k in (*ORDER, "K_accumulation"):
            rows.append((f"ouabain_t_{k}", ouabain_events[k]["t_s"] - t0_s
                         if k in ouabain_events else math.nan, "s",
                         f"pump block alone (ATP supply intact): {k} after the block "
                         "(nan: not reached)"))
        rows += [
            ("ouabain_Vm_final", float(odata["v"][-1]), "mV", "pump block alone: Vm at the end"),
            ("ouabain_Nai_final", float(odata["nai"][-1]), "mM",
             "pump block alone: Nai at the end"),
            ("ouabain_Cai_final", float(odata["cai"][-1]) * 1e3, "uM",
             "pump block alone: Cai at the end"),
        ]
    summary = summary_table([(q, float(v), u, desc) for q, v, u, desc in rows])
    timecourse = _timecourse(runs, t0_s, duration_s)
    parameters = {
        "duration_s": duration_s, "t0_s": t0_s, "diam_um": diam_um if morphology is None else None,
        "kext": rest["kext"], "dgatp_kj": dgatp_kj, "dgatp_default_kj": DGATP_DEFAULT_KJ,
        "pmca_nh": nh_used, "onset_s": onset_s,
        "failure": failure, "ouabain_comparison": "nakpump avail = 0 only",
        "cvode": {"maxstep_ms": maxstep_ms, "atolscale": dict(solver.ATOL_SCALE)},
        "timecourse_dt_s": RECORD_DT_MS / 1e3,
        "thresholds": {"Nai_rise_rel": NAI_RISE, "Ca_overload_mM": CA_OVERLOAD_MM,
                       "depolarisation_mV": DEPOL_MV, "depolarisation_rise_mV": DEPOL_RISE_MV,
                       "ko_rise_mM": KO_RISE_MM},
    }
    metadata = results.provenance(
        protocol=NAME, description=DESCRIPTION, cells={"cell": cell_meta}, defaults=d.to_dict(),
        parameters=parameters, rest=rest, events=events, ouabain_events=ouabain_events or None,
        event_order_observed=observed, integration_steps=int(data["t"].size),
        summary=summary_dict(summary),
        check={"expected": {"order": list(ORDER),
                            "Vm_at_NCX_reversal_mV": ncx["E_NCX"] if ncx else None},
               "obtained": {"order": observed, "Vm_at_NCX_reversal_mV": ncx["v"] if ncx else None},
               "tolerance": {"NCX_mV": NCX_TOL_MV}, "passed": passed},
        warnings=warnings, simulation_runtime_s=sim_clock,
    )
    return finish(out_dir, NAME, summary, metadata, start_clock, timecourse,
                  figure=lambda: _figure(runs, rest, t0_s, times, summary, failure))


_UNITS = {"v": "mV", "nai": "mM", "ki": "mM", "cli": "mM", "cai": "mM", "ko": "mM",
          "incx_ncx": "mA/cm2", "ipmca_pmca": "mA/cm2"}


def _timecourse(runs, t0_s, duration_s):
    """Tidy table: every run resampled (linear interpolation) every RECORD_DT_MS."""
    import pandas as pd

    grid = np.arange(0.0, duration_s * 1e3 + 1e-9, RECORD_DT_MS)
    frames = []
    for cond, data in runs.items():
        for name, unit in _UNITS.items():
            if name in data:
                frames.append(pd.DataFrame({"condition": cond, "t_s": np.round(grid / 1e3, 6),
                                            "variable": name,
                                            "value": np.interp(grid, data["t"], data[name]),
                                            "unit": unit}))
    return pd.concat(frames, ignore_index=True)


def _figure(runs, rest, t0_s, times, summary, failure):
    from matplotlib.figure import Figure

    from .. import thermo

    values = dict(zip(summary["quantity"], summary["value"]))
    fig = Figure(figsize=(9.0, 10.5), layout="constrained")
    axes = fig.subplots(4, 1, sharex=True)
    colours = {"energy_loss": "k", "ouabain": "tab:blue"}
    labels = {"energy_loss": "energy failure", "ouabain": "Na/K pump block alone"}
    for cond, full in runs.items():
        # 2000 points, log-spaced in the time after the failure (the traces
        # have one point per integration step, tens of thousands)
        span = full["t"][-1] / 1e3 - t0_s
        tm = np.geomspace(1e-3, span, 2000) if span > 1e-3 else np.array([span])
        data = {k: np.interp(tm + t0_s, full["t"] / 1e3, a) for k, a in full.items()}
        after = np.ones(tm.size, bool)
        c, lab = colours[cond], labels[cond]
        axes[0].plot(tm, data["v"][after], color=c, lw=1.0, label=f"Vm, {lab}")
        if cond == "energy_loss":
            encx = thermo.ncx_reversal(np.maximum(data["nai"][after], 1e-9), rest["nao"],
                                       np.maximum(data["cai"][after], 1e-12), rest["cao"],
                                       rest["celsius"])
            axes[0].plot(tm, encx, color="tab:red", ls="--", lw=1.0,
                         label="3 E$_{Na}$ - 2 E$_{Ca}$, energy failure")
        axes[1].plot(tm, data["nai"][after], color=c, lw=1.0, label=lab)
        axes[2].plot(tm, data["cai"][after] * 1e3, color=c, lw=1.0, label=lab)
        if "ko" in data:
            axes[3].plot(tm, data["ko"][after], color=c, lw=1.0, label=lab)
        else:
            axes[3].plot(tm, data["ki"][after], color=c, lw=1.0, label=lab)
    axes[2].set_yscale("log")
    axes[0].axhline(DEPOL_MV, color="0.6", lw=0.6, ls=":")
    axes[2].axhline(CA_OVERLOAD_MM * 1e3, color="0.6", lw=0.6, ls=":")
    axes[0].set_ylabel("mV")
    axes[1].set_ylabel("Na$_i$ (mM)")
    axes[2].set_ylabel("Ca$_i$ (uM)")
    axes[3].set_ylabel("K$_o$ (mM)" if "ko" in runs["energy_loss"] else "K$_i$ (mM)")
    axes[3].set_xlabel("time after the failure (s, log scale)")
    axes[3].set_xscale("log")
    axes[3].set_xlim(1e-3, None)
    for key, colour in zip((*ORDER, "K_accumulation"),
                           ("tab:green", "tab:red", "tab:orange", "tab:purple", "tab:brown")):
        if math.isfinite(times[key]) and times[key] > 0:
            for ax in axes:
                ax.axvline(times[key], color=colour, lw=0.8, alpha=0.7)
            axes[0].text(times[key], 0.98, f" {key}", rotation=90, va="top", fontsize=7,
                         color=colour, transform=axes[0].get_xaxis_transform())
    axes[0].legend(fontsize=8, loc="lower left")
    axes[1].legend(fontsize=8)
    fig.suptitle(f"Energy failure ({failure}).\nNCX reverses at Vm "
                 f"{values['Vm_at_NCX_reversal']:.3f} mV, 3 E_Na - 2 E_Ca = "
                 f"{values['E_NCX_at_NCX_reversal']:.3f} mV; event order "
                 f"{'as expected' if values['check_order'] else 'NOT as expected'}",
                 fontsize=10)
    return fig
