"""Protocol ``na-leak``: doubling and tripling the NALCN Na leak: resting
potential, rheobase and f-I curve, and the compensation that restores rest.

The cell is, by default, one cylindrical compartment (L = diam = 20 um, the
soma of :mod:`ionhomeo.protocols.spike_train`) with the Na/K/Cl system at its
mod-file defaults: nadyn, kdyn, cldyn, nakpump, naleak, kleak, clleak, kcc2,
nav and kdr. A morphology and recipe may be given instead (then the leak
densities of every segment are scaled, and the rest is the whole-cell steady
state of :meth:`ionhomeo.cell.Cell.initialize`).

For each multiple of the Na leak permeability pna (1x, 2x, 3x by default):

1. the resting steady state (:func:`ionhomeo.steady.solve` for the
   compartment, K held at its default: a sealed compartment's resting states
   form a one-parameter family, see that function), with Na and Cl
   re-equilibrated: the "full-model" resting potential;
2. the rheobase: the smallest 500 ms current step at the soma that gives a
   spike (the somatic potential crossing 0 mV), found by bisection to 0.5 %
   from the resting state; every trial starts from the resting state;
3. the f-I curve: spikes per second during the step, at the same currents
   (multiples of the 1x rheobase) for every leak.

The check (the resting shift against thermodynamics): with the
concentrations clamped at their 1x resting values (the concentration owners
nadyn, kdyn and cldyn removed, so nothing changes Na, K or Cl), the
compartment is simulated with each pna until it is at rest (CVODE, 2 s, some
100 membrane time constants of 10-20 ms). Its potential must equal the GHK
voltage equation (:func:`ionhomeo.thermo.ghk_voltage`) for the same leak
permeabilities and concentrations, with the membrane current of every other
mechanism at that state as an extra current (the Na/K pump as in
tests/test_rest.py, and here also the window currents of nav and kdr) within
0.1 mV. Why 0.1 mV: after 2 s the relaxation error is far below 1e-6 mV,
CVODE resolves v to 1e-3 mV, and the mod files' GHK currents use the same
constants as ionhomeo.thermo, so an isopotential compartment agrees to about
1e-3 mV (measured: 8e-4 mV at 3x); 0.1 mV is a tenth of the 1 mV scale on
which the shifts are read. The GHK voltage with the pump alone as extra
current is reported too: the difference ("window shift") is the
depolarisation by the window currents of nav and kdr, which the
leaks-and-pump picture leaves out (0.8 mV at 3x in the default compartment,
whose rest then approaches the Na channels' activation range).

With a morphology the comparison is made at the soma, which also exchanges
axial current with the rest of the cell; the soma is then not at its own GHK
potential, and the difference (a few tenths of a mV in the ball-and-stick
cell with the mature preset) is physics, not an error of the leaks: the
check is meant for the isopotential compartment.

Also reported: the full-model shift (concentrations re-equilibrated: more Na
enters, Nai rises and E_Na falls, so the shift is smaller than the clamped
one; in the default compartment, pNa/pK 0.04, it is about 10 mV at 2x and
18 mV at 3x, not the 3-5 mV that some textbook summaries state, which
the GHK equation does not give); the K leak scaling (and, if one exists, the pump imax scaling) that
restores the 1x resting potential at the largest multiple (root finding on
the full-model steady state). A stronger pump cannot do it: at steady state
the pump's net current must equal a third of the Na leak influx, so more
pump capacity only lowers Nai (the scan is reported). Rheobase must fall
monotonically with the leak (check_rheobase): it does in the default
compartment; in a cell it need not (in the ball-and-stick cell with the
mature preset the 3x rheobase is above the 2x one), and the row then says so.

Outputs: na-leak.csv (the f-I curves), na-leak_rest.csv (per multiple: full
and clamped resting states), na-leak_compensation.csv (the evaluated
scalings), na-leak_summary.csv, na-leak.json and na-leak.png.
"""

from __future__ import annotations

import math
import time

import numpy as np

from .common import Result, finish, summary_dict, summary_table
from .spike_train import MECHANISMS, MORPHOLOGY_SOURCE, SOMA_DIAM_UM, SOMA_L_UM

NAME = "na-leak"
DESCRIPTION = ("NALCN Na leak at 1x, 2x, 3x: resting potential, rheobase, f-I curve; K-leak or "
               "pump compensation (default: a 20 um soma compartment)")

#: concentration owners removed to clamp Na, K and Cl
OWNERS = ("nadyn", "kdyn", "cldyn")
#: ion -> (leak mechanism, permeability parameter)
LEAKS = {"na": ("naleak", "pna"), "k": ("kleak", "pk"), "cl": ("clleak", "pcl")}
VALENCE = {"na": 1, "k": 1, "cl": -1}
#: ions whose membrane currents are summed (plasma membrane)
MEMBRANE_IONS = ("na", "k", "cl", "ca", "hco3")

STEP_MS = 500.0
DELAY_MS = 20.0
TAIL_MS = 20.0
DT_MS = 0.025
SPIKE_THRESHOLD_MV = 0.0
#: bisection stops when (hi - lo) < RHEOBASE_RTOL * hi
RHEOBASE_RTOL = 5e-3
#: first current tried when bracketing the rheobase (nA); doubled until a spike
RHEOBASE_START_NA = 0.01
#: the f-I curve: these multiples of the 1x rheobase
FI_MULTIPLES = (0.5, 1.0, 2.0, 3.0, 4.0)
#: the clamped-concentration rest is read after this long (ms)
CLAMP_MS = 2000.0
CHECK_TOL_MV = 0.1
#: scaling ranges searched for the compensation
K_SCALE_MAX = 100.0
PUMP_SCALE_MAX = 100.0


class _Model:
    """The compartment or the cell, with the leak/pump densities it started with."""

    def __init__(self, h, morphology, recipe):
        from .. import mechanisms

        self.h = h
        self.cell = None
        if morphology is None:
            sec = h.Section(name="ionhomeo_na_leak_soma")
            sec.L, sec.diam, sec.nseg = SOMA_L_UM, SOMA_DIAM_UM, 1
            for name in MECHANISMS:
                mechanisms.insert(sec, name)
            self.sections = [sec]
            self.soma = sec(0.5)
        else:
            from ..cell import Cell

            self.cell = Cell(morphology, recipe)
            self.sections = list(self.cell.all)
            self.soma = self.cell.soma_center
        missing = [m for m in ("naleak", "kleak", "clleak", "nakpump", "nadyn")
                   if not hasattr(self.soma, m)]
        if missing:
            raise ValueError(f"na-leak: the soma lacks {', '.join(missing)}; the protocol scales "
                             "the Na leak and compares the soma with the GHK equation")
        self.base = {}
        for mech, param in (("naleak", "pna"), ("kleak", "pk"), ("nakpump", "imax")):
            segs = [s for sec in self.sections for s in sec if hasattr(s, mech)]
            self.base[mech] = [(s, param, getattr(s, f"{param}_{mech}")) for s in segs]
        self.state = None

    def scale(self, naleak=1.0, kleak=1.0, nakpump=1.0):
        for mech, factor in (("naleak", naleak), ("kleak", kleak), ("nakpump", nakpump)):
            for s, param, value in self.base[mech]:
                setattr(s, f"{param}_{mech}", value * factor)

    def solve(self):
        """The resting state at the current densities; NEURON is left there."""
        from .. import steady

        if self.cell is None:
            self.state = steady.solve(self.sections)
        else:
            self.state = self.cell.initialize()
        return self.rest()

    def start(self, state=None):
        """finitialize into ``state`` (default: the last solved one)."""
        state = state or self.state
        if self.cell is None:
            state.finitialize(self.sections)
        else:
            state.finitialize()

    def rest(self):
        s = self.soma
        return {"v": s.v, "nai": s.nai, "ki": s.ki, "cli": s.cli, "ipump": s.ipump_nakpump}

    def clamp_concentrations(self):
        """Remove the Na, K and Cl owners: those concentrations stay where they are put."""
        for sec in self.sections:
            for m in OWNERS:
                if sec.has_membrane(m):
                    sec.uninsert(m)

    def destroy(self):
        self.base = {}
        self.state = None
        self.soma = None
        if self.cell is not None:
            self.cell.destroy()
            self.cell = None
        self.sections = []


class _Stepper:
    """Current steps at the soma with spike detection."""

    def __init__(self, h, model):
        self.h, self.model = h, model
        seg = model.soma
        self.stim = h.IClamp(seg)
        self.stim.delay, self.stim.dur = DELAY_MS, STEP_MS
        self.detector = h.NetCon(seg._ref_v, None, sec=seg.sec)
        self.detector.threshold = SPIKE_THRESHOLD_MV
        self.spikes = h.Vector()
        self.detector.record(self.spikes)
        self.trials = 0

    def spikes_at(self, amp_nA):
        """Spike times (ms) in the step window for a step of ``amp_nA``."""
        from .. import simulate, solver

        self.stim.amp = float(amp_nA)
        solver.use_fixed_step(DT_MS)
        self.model.start()
        simulate.run(DELAY_MS + STEP_MS + TAIL_MS, method="fixed", dt_ms=DT_MS)
        self.trials += 1
        s = np.array(self.spikes.to_python())  # numpy < 2.4 cannot convert an empty Vector
        return s[(s >= DELAY_MS) & (s < DELAY_MS + STEP_MS + TAIL_MS)]

    def rheobase(self):
        """(rheobase nA, largest current without a spike nA, bisection trials)."""
        n0 = self.trials
        if self.spikes_at(0.0).size:
            return 0.0, 0.0, self.trials - n0
        lo, hi = 0.0, RHEOBASE_START_NA
        while not self.spikes_at(hi).size:
            lo, hi = hi, 2.0 * hi
            if hi > 1e3:
                raise RuntimeError("na-leak: no spike for steps up to 1000 nA")
        while hi - lo > RHEOBASE_RTOL * hi:
            mid = 0.5 * (lo + hi)
            if self.spikes_at(mid).size:
                hi = mid
            else:
                lo = mid
        return hi, lo, self.trials - n0

    def rate(self, amp_nA):
        s = self.spikes_at(amp_nA)
        n = int(np.sum(s < DELAY_MS + STEP_MS))
        return n, n / (STEP_MS * 1e-3)

    def close(self):
        self.detector = None
        self.stim = None
        self.spikes = None
        self.model = None


def _clamped_point(h, model, thermo):
    """Soma potential and the GHK predictions at the current (clamped) state."""
    s = model.soma
    h.fcurrent()
    perms = {ion: getattr(s, f"{p}_{m}") for ion, (m, p) in LEAKS.items()}
    ci = {ion: getattr(s, f"{ion}i") for ion in LEAKS}
    co = {ion: getattr(s, f"{ion}o") for ion in LEAKS}
    leak_sum = sum(getattr(s, f"i_{m}") for m, _ in LEAKS.values())
    total = sum(getattr(s, f"i{ion}") for ion in MEMBRANE_IONS if hasattr(s, f"{ion}_ion"))
    other = total - leak_sum  # every other mechanism's membrane current, mA/cm2
    components = {"pump": s.ipump_nakpump}
    for m in ("nav", "kdr"):
        if hasattr(s, m):
            components[m] = getattr(s, f"i_{m}")
    ghk_all = float(thermo.ghk_voltage(perms, ci, co, VALENCE, celsius=h.celsius,
                                       extra_current=other))
    ghk_pump = float(thermo.ghk_voltage(perms, ci, co, VALENCE, celsius=h.celsius,
                                        extra_current=s.ipump_nakpump))
    return {"v": s.v, "ghk": ghk_all, "ghk_pump_only": ghk_pump, "i_other": other,
            "components": components, "nai": ci["na"], "ki": ci["k"], "cli": ci["cl"],
            "pna": perms["na"]}


def _v_scaled(model, multiple, mechanism, scale, rows):
    """Full-model resting potential (mV) at ``multiple`` x Na leak with ``mechanism``
    scaled by ``scale``; appended to ``rows``; nan if no resting state is found."""
    from ..steady import SteadyStateError

    model.scale(naleak=multiple, **{mechanism: scale})
    try:
        r = model.solve()
    except SteadyStateError:
        rows.append((mechanism, scale, math.nan, math.nan))
        return math.nan
    rows.append((mechanism, scale, r["v"], r["nai"]))
    return r["v"]


def _root(fun, lo, hi):
    """Root of fun on [lo, hi] (brentq), or nan if fun does not change sign."""
    from scipy import optimize

    f_lo, f_hi = fun(lo), fun(hi)
    if not (np.isfinite(f_lo) and np.isfinite(f_hi)) or f_lo * f_hi > 0:
        return math.nan
    return float(optimize.brentq(fun, lo, hi, xtol=1e-9, rtol=1e-10))


def _check_args(multiples, compensation_multiple, morphology, recipe):
    from ..mechanisms import ParameterError

    try:
        mult = tuple(float(m) for m in multiples)
    except (TypeError, ValueError):
        raise ParameterError(f"multiples must be a sequence of numbers, got {multiples!r}") from None
    if len(mult) < 2 or mult[0] != 1.0 or any(not math.isfinite(m) for m in mult) \
            or any(b <= a for a, b in zip(mult, mult[1:])):
        raise ParameterError(f"multiples must start at 1 and increase, e.g. (1, 2, 3); got "
                             f"{multiples!r}")
    if recipe is not None and morphology is None:
        raise ParameterError("na-leak: a recipe needs a morphology (e.g. morphology="
                             "'ball_and_stick'); without one the protocol uses its own "
                             "compartment with the default mechanisms")
    comp = mult[-1] if compensation_multiple is None else float(compensation_multiple)
    if not (math.isfinite(comp) and comp > 1.0):
        raise ParameterError(f"compensation_multiple must be > 1, got {compensation_multiple!r}")
    return mult, comp


def run(out_dir=None, morphology=None, recipe=None, multiples=(1.0, 2.0, 3.0),
        compensation_multiple=None, fi_multiples=FI_MULTIPLES, progress=None) -> Result:
    """Scale the Na leak by ``multiples`` and report rest, rheobase, f-I and compensation.

    morphology, recipe: None for the protocol's own 20 um compartment
        (default mechanisms), or a morphology (with a recipe, default the
        mature preset) for a whole cell.
    multiples: factors on pna, starting at 1, increasing.
    compensation_multiple: the leak multiple to compensate (default: the largest).
    fi_multiples: currents of the f-I curve, as multiples of the 1x rheobase.
    progress: accepted for the command line; this protocol runs short simulations.
    """
    start_clock = time.perf_counter()
    mult, comp_mult = _check_args(multiples, compensation_multiple, morphology, recipe)
    fi_mult = tuple(float(x) for x in fi_multiples)
    from neuron import h

    from .. import build, defaults as _defaults, results, simulate, solver, thermo

    build.load()
    h.load_file("stdrun.hoc")
    cvode = h.CVode()
    saved = {"celsius": float(h.celsius), "dt": float(h.dt), "secondorder": int(h.secondorder),
             "active": int(cvode.active()), "rtol": float(cvode.rtol()),
             "atol": float(cvode.atol()),
             "atolscale": {var: float(cvode.atolscale(var)) for var in solver.ATOL_SCALE}}
    d = _defaults.apply()
    if morphology is not None and recipe is None:
        recipe = "mature"
    model = _Model(h, morphology, recipe)
    stepper = None
    try:
        stepper = _Stepper(h, model)
        full, rheo, fi_rows = {}, {}, []
        states = {}
        for f in mult:
            model.scale(naleak=f)
            full[f] = model.solve()
            states[f] = model.state
            rheo[f] = stepper.rheobase()
        rb1 = rheo[1.0][0]
        currents = [round(m * rb1, 6) for m in fi_mult]
        for f in mult:
            model.scale(naleak=f)
            model.state = states[f]
            for m, amp in zip(fi_mult, currents):
                n, rate = stepper.rate(amp)
                fi_rows.append((f, m, amp, n, rate))

        # compensation at comp_mult: K leak, then pump, each on its own
        v_target = full[1.0]["v"]
        comp_rows = []

        def v_kleak(scale):
            return _v_scaled(model, comp_mult, "kleak", scale, comp_rows)

        def v_pump(scale):
            return _v_scaled(model, comp_mult, "nakpump", scale, comp_rows)

        k_scale = _root(lambda s: v_kleak(s) - v_target, 1.0, K_SCALE_MAX)
        comp_k = None
        if math.isfinite(k_scale):
            model.scale(naleak=comp_mult, kleak=k_scale)
            comp_k = model.solve()
            comp_k["rheobase"] = stepper.rheobase()[0]
        pump_scale = _root(lambda s: v_pump(s) - v_target, 1.0, PUMP_SCALE_MAX)
        v_pump_max = v_pump(PUMP_SCALE_MAX)
        comp_p = None
        if math.isfinite(pump_scale):
            model.scale(naleak=comp_mult, nakpump=pump_scale)
            comp_p = model.solve()

        # the check: concentrations clamped at their 1x resting values, no step
        stepper.stim.amp = 0.0
        model.scale()
        base = {m: float(getattr(model.soma, f"{p}_{m}"))  # the 1x densities at the soma
                for m, p in (("naleak", "pna"), ("kleak", "pk"), ("clleak", "pcl"),
                             ("nakpump", "imax"))}
        state1 = states[1.0]
        if model.cell is not None:
            model.solve()  # the cell's own handler back at 1x
            state1 = model.state
        model.clamp_concentrations()
        clamped = {}
        for f in mult:
            model.scale(naleak=f)
            model.start(state1)
            simulate.run(CLAMP_MS, method="cvode")
            clamped[f] = _clamped_point(h, model, thermo)
        area_um2 = float(model.soma.area())
        cell_meta = model.cell.to_dict() if model.cell is not None else {
            "morphology": {"L_um": SOMA_L_UM, "diam_um": SOMA_DIAM_UM, "nseg": 1,
                           "source": MORPHOLOGY_SOURCE},
            "mechanisms": list(MECHANISMS)}
    finally:
        states = state1 = None  # a cell's steady states hold its segments
        if stepper is not None:
            stepper.close()
        stepper = None
        model.destroy()
        model = None
        cvode.active(saved["active"])
        cvode.rtol(saved["rtol"])
        cvode.atol(saved["atol"])
        for var, scale in saved["atolscale"].items():
            cvode.atolscale(var, scale)
        h.dt, h.secondorder, h.celsius = saved["dt"], saved["secondorder"], saved["celsius"]

    # ---- analysis ------------------------------------------------------------
    import pandas as pd

    rb = [rheo[f][0] for f in mult]
    monotonic = all(b < a for a, b in zip(rb, rb[1:]))
    errors = {f: clamped[f]["v"] - clamped[f]["ghk"] for f in mult}
    worst = max(abs(e) for e in errors.values())
    passed = worst < CHECK_TOL_MV

    rows = []
    for f in mult:
        tag = f"{f:g}x"
        rows += [
            (f"Vm {tag}", full[f]["v"], "mV", f"resting potential, pna x{f:g}, concentrations "
                                              "re-equilibrated (K held)"),
            (f"Nai {tag}", full[f]["nai"], "mM", "resting Na"),
            (f"Cli {tag}", full[f]["cli"], "mM", "resting Cl"),
            (f"I_pump {tag}", full[f]["ipump"] * 1e3, "uA/cm2", "resting pump current (soma)"),
            (f"rheobase {tag}", rheo[f][0] * 1e3, "pA",
             f"smallest {STEP_MS:g} ms step giving a spike (bisection to {RHEOBASE_RTOL:g})"),
        ]
    for f in mult[1:]:
        tag = f"{f:g}x"
        rows += [
            (f"shift full {tag}", full[f]["v"] - full[1.0]["v"], "mV",
             "full-model resting shift from 1x (concentrations re-equilibrated)"),
            (f"shift clamped {tag}", clamped[f]["v"] - clamped[1.0]["v"], "mV",
             "simulated shift from 1x with Na, K, Cl clamped at their 1x rest"),
            (f"shift GHK {tag}", clamped[f]["ghk"] - clamped[1.0]["ghk"], "mV",
             "thermo.ghk_voltage shift for the same permeabilities and concentrations"),
        ]
    for f in mult:
        tag = f"{f:g}x"
        rows += [
            (f"Vm clamped {tag}", clamped[f]["v"], "mV",
             "simulated rest, concentrations clamped at the 1x rest"),
            (f"Vm GHK {tag}", clamped[f]["ghk"], "mV",
             "thermo.ghk_voltage: leak permeabilities, pump and other currents as extra"),
            (f"GHK error {tag}", errors[f], "mV", "simulated - GHK (check: |.| < 0.1 mV)"),
            (f"Vm GHK pump only {tag}", clamped[f]["ghk_pump_only"], "mV",
             "thermo.ghk_voltage with the pump current alone as extra current"),
            (f"window shift {tag}", clamped[f]["v"] - clamped[f]["ghk_pump_only"], "mV",
             "simulated - GHK(pump only): other currents (nav/kdr window currents; in a "
             "cell also Ca transport and axial current)"),
        ]
    rows += [
        ("GHK error max", worst, "mV", "largest |simulated - GHK| with clamped concentrations"),
        ("check", 1.0 if passed else 0.0, "1",
         "|Vm(clamped, simulated) - thermo.ghk_voltage| < 0.1 mV at every multiple"),
        ("check_rheobase", 1.0 if monotonic else 0.0, "1",
         "rheobase falls strictly monotonically with the Na leak"),
        ("compensation multiple", comp_mult, "1", "Na leak multiple compensated"),
        ("target Vm", v_target, "mV", "the 1x resting potential to restore"),
        ("kleak scale", k_scale, "1",
         f"pk factor restoring the 1x rest at {comp_mult:g}x Na leak (nan: none in "
         f"[1, {K_SCALE_MAX:g}])"),
    ]
    if comp_k is not None:
        rows += [("Vm kleak compensated", comp_k["v"], "mV", "resting potential with that pk"),
                 ("Nai kleak compensated", comp_k["nai"], "mM", "resting Na with that pk"),
                 ("rheobase kleak compensated", comp_k["rheobase"] * 1e3, "pA",
                  "rheobase with that pk")]
    rows += [("pump scale", pump_scale, "1",
              f"pump imax factor restoring the 1x rest (nan: none in [1, {PUMP_SCALE_MAX:g}])"),
             ("Vm pump x100", v_pump_max, "mV",
              f"resting potential at {comp_mult:g}x Na leak with {PUMP_SCALE_MAX:g}x pump imax")]
    if comp_p is not None:
        rows += [("Vm pump compensated", comp_p["v"], "mV", "resting potential with that imax")]
    summary = summary_table([(q, float(v), u, desc) for q, v, u, desc in rows])

    fi = pd.DataFrame(fi_rows, columns=["na_leak_multiple", "rheobase_1x_multiple", "I_nA",
                                        "spikes", "rate_Hz"])
    rest_rows = []
    for f in mult:
        for kind, r in (("full", full[f]), ("clamped", clamped[f])):
            for var, unit in (("v", "mV"), ("nai", "mM"), ("ki", "mM"), ("cli", "mM")):
                rest_rows.append((f, kind, var, float(r[var]), unit))
        rest_rows.append((f, "clamped", "ghk", clamped[f]["ghk"], "mV"))
        rest_rows.append((f, "clamped", "ghk_pump_only", clamped[f]["ghk_pump_only"], "mV"))
        rest_rows.append((f, "full", "rheobase", rheo[f][0], "nA"))
    rest = pd.DataFrame(rest_rows, columns=["na_leak_multiple", "concentrations", "variable",
                                            "value", "unit"])
    comp = pd.DataFrame(comp_rows, columns=["scaled", "scale", "v_mV", "nai_mM"])

    warnings = []
    if not passed:
        warnings.append(f"clamped rest differs from thermo.ghk_voltage by {worst:.3g} mV "
                        f"(> {CHECK_TOL_MV:g} mV)")
    if not monotonic:
        warnings.append(f"rheobase does not fall monotonically with the leak: {rb}")
    if not math.isfinite(pump_scale):
        warnings.append(f"no pump scaling in [1, {PUMP_SCALE_MAX:g}] restores the 1x rest: with "
                        f"{PUMP_SCALE_MAX:g}x imax rest is {v_pump_max:.2f} mV (target "
                        f"{v_target:.2f}); at steady state the pump current equals a third of "
                        "the Na influx, so more capacity only lowers Nai")
    if not math.isfinite(k_scale):
        warnings.append(f"no K leak scaling in [1, {K_SCALE_MAX:g}] restores the 1x rest")
    if any(rheo[f][0] == 0.0 for f in mult):
        warnings.append("spontaneous firing at rest for some multiple: rheobase 0")

    parameters = {
        "multiples": list(mult), "compensation_multiple": comp_mult,
        "step_ms": STEP_MS, "delay_ms": DELAY_MS, "dt_ms": DT_MS, "secondorder": 2,
        "spike_threshold_mV": SPIKE_THRESHOLD_MV, "rheobase_rtol": RHEOBASE_RTOL,
        "fi_multiples_of_1x_rheobase": list(fi_mult), "fi_currents_nA": currents,
        "clamp_ms": CLAMP_MS, "clamp_method": "cvode", "check_tol_mV": CHECK_TOL_MV,
        "base_densities_soma": base, "soma_area_um2": area_um2,
        "trials": {f"{f:g}x": rheo[f][2] for f in mult},
    }
    metadata = results.provenance(
        protocol=NAME, description=DESCRIPTION, cells={"cell": cell_meta}, defaults=d.to_dict(),
        parameters=parameters,
        summary=summary_dict(summary),
        check={"expected": {f"{f:g}x": clamped[f]["ghk"] for f in mult},
               "obtained": {f"{f:g}x": clamped[f]["v"] for f in mult},
               "tolerance": CHECK_TOL_MV, "passed": bool(passed)},
        check_rheobase={"rheobase_nA": {f"{f:g}x": rheo[f][0] for f in mult},
                        "passed": bool(monotonic)},
        clamped_currents={f"{f:g}x": {"i_other_mA_per_cm2": clamped[f]["i_other"],
                                      **{f"i_{k}_mA_per_cm2": v
                                         for k, v in clamped[f]["components"].items()}}
                          for f in mult},
        warnings=warnings,
    )
    return finish(out_dir, NAME, summary, metadata, start_clock, fi,
                  figure=lambda: _figure(mult, full, clamped, rheo, fi, comp, v_target, comp_mult,
                                         k_scale),
                  tables={"": fi, "rest": rest, "compensation": comp})


def _figure(mult, full, clamped, rheo, fi, comp, v_target, comp_mult, k_scale):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 8), layout="constrained")
    (a, b), (c, e) = fig.subplots(2, 2)
    x = np.array(mult)
    a.plot(x, [full[f]["v"] for f in mult], "o-", color="k", label="full model (Na, Cl re-equilibrated)")
    a.plot(x, [clamped[f]["v"] for f in mult], "s-", color="tab:blue",
           label="clamped at 1x concentrations")
    a.plot(x, [clamped[f]["ghk"] for f in mult], "x--", color="tab:red", ms=9,
           label="thermo.ghk_voltage (clamped)")
    a.plot(x, [clamped[f]["ghk_pump_only"] for f in mult], ":", color="tab:orange",
           label="GHK, pump only (no window currents)")
    a.set_xlabel("Na leak (x default pna)")
    a.set_ylabel("resting potential (mV)")
    a.legend(fontsize=8)
    b.plot(x, [rheo[f][0] * 1e3 for f in mult], "o-", color="tab:purple")
    b.set_xlabel("Na leak (x default pna)")
    b.set_ylabel(f"rheobase, {STEP_MS:g} ms step (pA)")
    b.set_ylim(bottom=0)
    colours = ["k", "tab:blue", "tab:red", "tab:green", "tab:orange"]
    for f, colour in zip(mult, colours * 4):
        part = fi[fi["na_leak_multiple"] == f]
        c.plot(part["I_nA"] * 1e3, part["rate_Hz"], "o-", color=colour, label=f"{f:g}x")
    c.set_xlabel("step current (pA)")
    c.set_ylabel("firing rate (Hz)")
    c.legend(title="Na leak", fontsize=8)
    for kind, colour, label in (("kleak", "tab:green", "K leak pk x"),
                                ("nakpump", "tab:brown", "pump imax x")):
        part = comp[(comp["scaled"] == kind) & np.isfinite(comp["v_mV"])].sort_values("scale")
        e.plot(part["scale"], part["v_mV"], "o-", color=colour, label=label, ms=3)
    e.axhline(v_target, color="k", ls="--", lw=1, label="1x rest")
    if math.isfinite(k_scale):
        e.axvline(k_scale, color="tab:green", ls=":", lw=1)
    e.set_xscale("log")
    e.set_xlabel("scaling factor")
    e.set_ylabel(f"resting potential at {comp_mult:g}x Na leak (mV)")
    e.legend(fontsize=8)
    for ax in (a, b, c, e):
        ax.grid(alpha=0.3)
    fig.suptitle("NALCN Na leak: rest, excitability and compensation", fontsize=11)
    return fig
