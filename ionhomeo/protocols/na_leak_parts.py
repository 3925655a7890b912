"""The model of the ``na-leak`` protocol (:mod:`ionhomeo.protocols.na_leak`):
a cell whose leak and pump densities are scaled (:class:`Leaks`), current
steps at the soma with spike detection (:class:`Stepper`: rheobase by
bisection, f-I), the compensation by root finding, and the soma's clamped
rest against the GHK voltage equation (:func:`clamped_point`). Derivations
and discussion: docs/protocols/na-leak.md.
"""

from __future__ import annotations

import math

import numpy as np

#: concentration owners removed to clamp Na, K and Cl
OWNERS = ("nadyn", "kdyn", "cldyn")
#: ion -> (leak mechanism, permeability parameter)
LEAKS = {"na": ("naleak", "pna"), "k": ("kleak", "pk"), "cl": ("clleak", "pcl")}
VALENCE = {"na": 1, "k": 1, "cl": -1}
#: ions whose membrane currents are summed (plasma membrane)
MEMBRANE_IONS = ("na", "k", "cl", "ca", "hco3")
#: what the soma needs
REQUIRED = ("naleak", "kleak", "clleak", "nakpump", "nadyn")


class Leaks:
    """A :class:`ionhomeo.cell.Cell` with the leak and pump densities it started with."""

    def __init__(self, cell):
        self.cell, self.soma = cell, cell.soma_center
        missing = [m for m in REQUIRED if not hasattr(self.soma, m)]
        if missing:
            from ..recipe import RecipeError

            raise RecipeError(f"na-leak: the soma lacks {', '.join(missing)}; the protocol scales "
                             "the Na leak and compares the soma with the GHK equation")
        self.base = {}
        for mech, param in (("naleak", "pna"), ("kleak", "pk"), ("nakpump", "imax")):
            segs = [s for sec in cell.all for s in sec if hasattr(s, mech)]
            self.base[mech] = [(s, param, getattr(s, f"{param}_{mech}")) for s in segs]

    def scale(self, naleak=1.0, kleak=1.0, nakpump=1.0):
        """Every segment's pna, pk and imax at these multiples of their starting values."""
        for mech, factor in (("naleak", naleak), ("kleak", kleak), ("nakpump", nakpump)):
            for s, param, value in self.base[mech]:
                setattr(s, f"{param}_{mech}", value * factor)

    def solve(self):
        """The resting state at the current densities (Cell.initialize); NEURON is left there."""
        self.cell.initialize()
        return self.rest()

    def start(self, state=None):
        """finitialize into ``state`` (default: the last solved one)."""
        if state is not None:
            self.cell.state = state
        self.cell.start()

    def rest(self):
        s = self.soma
        return {"v": s.v, "nai": s.nai, "ki": s.ki, "cli": s.cli, "ipump": s.ipump_nakpump}

    def clamp_concentrations(self):
        """Remove the Na, K and Cl owners: those concentrations stay where they are put."""
        for sec in self.cell.all:
            for m in OWNERS:
                if sec.has_membrane(m):
                    sec.uninsert(m)


class Stepper:
    """Current steps at the soma (``spec``: delay_ms, step_ms, tail_ms, dt_ms,
    spike_threshold_mV, rheobase_start_nA, rheobase_rtol) with spike detection."""

    def __init__(self, h, leaks, spec):
        seg = leaks.soma
        self.stim = h.IClamp(seg)
        self.stim.delay, self.stim.dur = spec.delay_ms, spec.step_ms
        self.detector = h.NetCon(seg._ref_v, None, sec=seg.sec)
        self.detector.threshold = spec.spike_threshold_mV
        self.spikes = h.Vector()
        self.detector.record(self.spikes)
        self.leaks, self.spec, self.trials = leaks, spec, 0

    def spikes_at(self, amp_nA):
        """Spike times (ms) in the step window for a step of ``amp_nA``, from rest."""
        from .. import simulate, solver

        s = self.spec
        self.stim.amp = float(amp_nA)
        solver.use_fixed_step(s.dt_ms)
        self.leaks.start()
        simulate.run(s.delay_ms + s.step_ms + s.tail_ms, method="fixed", dt_ms=s.dt_ms)
        self.trials += 1
        t = np.array(self.spikes.to_python())  # numpy < 2.4 cannot convert an empty Vector
        return t[(t >= s.delay_ms) & (t < s.delay_ms + s.step_ms + s.tail_ms)]

    def rheobase(self):
        """(rheobase nA, largest current without a spike nA, trials)."""
        n0 = self.trials
        if self.spikes_at(0.0).size:
            return 0.0, 0.0, self.trials - n0
        lo, hi = 0.0, self.spec.rheobase_start_nA
        while not self.spikes_at(hi).size:
            lo, hi = hi, 2.0 * hi
            if hi > 1e3:
                from ..simulate import SimulationError

                raise SimulationError("na-leak: no spike for current steps up to 1000 nA: the "
                                      "cell cannot fire (does the recipe give the soma nav and "
                                      "kdr?)")
        while hi - lo > self.spec.rheobase_rtol * hi:
            mid = 0.5 * (lo + hi)
            if self.spikes_at(mid).size:
                hi = mid
            else:
                lo = mid
        return hi, lo, self.trials - n0

    def rate(self, amp_nA):
        """(spikes during the step, rate Hz)."""
        s = self.spikes_at(amp_nA)
        n = int(np.sum(s < self.spec.delay_ms + self.spec.step_ms))
        return n, n / (self.spec.step_ms * 1e-3)


def clamped_point(h, leaks):
    """Soma potential and the GHK predictions at the current (clamped) state."""
    from .. import thermo

    s = leaks.soma
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


def v_scaled(leaks, multiple, mechanism, scale, rows):
    """Full-model resting potential (mV) at ``multiple`` x Na leak with ``mechanism``
    scaled by ``scale``; appended to ``rows``; nan if no resting state is found."""
    from ..steady import SteadyStateError

    leaks.scale(naleak=multiple, **{mechanism: scale})
    try:
        r = leaks.solve()
    except SteadyStateError:
        rows.append((mechanism, scale, math.nan, math.nan))
        return math.nan
    rows.append((mechanism, scale, r["v"], r["nai"]))
    return r["v"]


def root(fun, lo, hi):
    """Root of fun on [lo, hi] (brentq), or nan if fun does not change sign."""
    from scipy import optimize

    f_lo, f_hi = fun(lo), fun(hi)
    if not (np.isfinite(f_lo) and np.isfinite(f_hi)) or f_lo * f_hi > 0:
        return math.nan
    return float(optimize.brentq(fun, lo, hi, xtol=1e-9, rtol=1e-10))


def compensation(leaks, stepper, spec, multiple, v_target):
    """The K leak and the pump scalings that restore ``v_target`` at ``multiple``
    x Na leak, each on its own: a dict with the scales, the compensated
    states and every evaluated point (``rows``)."""
    rows = []

    def v_kleak(scale):
        return v_scaled(leaks, multiple, "kleak", scale, rows)

    def v_pump(scale):
        return v_scaled(leaks, multiple, "nakpump", scale, rows)

    out = {"k_scale": root(lambda s: v_kleak(s) - v_target, 1.0, spec.k_scale_max),
           "comp_k": None, "comp_p": None, "rows": rows}
    if math.isfinite(out["k_scale"]):
        leaks.scale(naleak=multiple, kleak=out["k_scale"])
        out["comp_k"] = leaks.solve()
        out["comp_k"]["rheobase"] = stepper.rheobase()[0]
    out["pump_scale"] = root(lambda s: v_pump(s) - v_target, 1.0, spec.pump_scale_max)
    out["v_pump_max"] = v_pump(spec.pump_scale_max)
    if math.isfinite(out["pump_scale"]):
        leaks.scale(naleak=multiple, nakpump=out["pump_scale"])
        out["comp_p"] = leaks.solve()
    return out
