"""Start a simulation at a true resting steady state.

At rest every net flux vanishes: for each ion whose intracellular
concentration is dynamic (owned by ``nadyn``, ``kdyn``, ``cldyn``, ...), the
summed membrane current of that ion is zero, and so is the membrane current.
:func:`solve` finds the membrane potential and the concentrations that make
those currents zero by root finding (scipy's MINPACK hybrid method) on the
currents NEURON itself computes from the inserted mechanisms, so the answer
is exactly the model's steady state, with no rate law written twice.

Why solve and not simulate to rest: concentrations relax with time constants
of minutes (Na through the pump, Cl through KCC2), so a relaxation run would
take thousands of simulated seconds and still stop short of the fixed point.

Degeneracy: with only ionic currents, charge conservation makes the resting
states a one-parameter family (any shift of cations and anions together that
keeps C V consistent). One concentration is therefore held at its initial
value while the others and V are solved: K by default (``fixed=("k",)``),
the ion with the largest, best-measured intracellular concentration.

Scope: every segment of the given sections must carry the same mechanisms
and densities, so the steady state is uniform (no axial current or
diffusion at rest). :func:`solve` checks the residual in every segment and
says so if this does not hold. All membrane current must be carried by
ions that the solver sees (Na, K, Cl, HCO3, Ca); a NONSPECIFIC_CURRENT leak
(such as ``hh``'s ``il``) has no concentration to balance it and is detected.
(The organelle transporters' nonspecific currents cancel their pool currents
exactly and pass this check.) The ER and mitochondrial pools (``er``,
``mito``) are solved like the cytosolic ions: their pool currents ``icaer``
and ``icamt`` vanish at rest.

Starting there: the state is written in a type-0 FInitializeHandler, before
the INITIAL blocks, so buffers and concentration-dependent gates start in
equilibrium with it (ionhomeo's defaults handler turns off NEURON's own reset
of written concentrations, which would otherwise undo it).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

class SteadyStateError(RuntimeError):
    """No steady state could be found, or the cell is outside the solver's scope."""


@dataclasses.dataclass(frozen=True)
class SteadyState:
    """A resting state: membrane potential (mV) and intracellular concentrations (mM)."""

    v: float
    concentrations: dict  # ion -> intracellular mM, for every dynamic ion
    fixed: tuple
    residual: float  # largest |net ionic current| over all segments, mA/cm2

    def apply(self, sections):
        """Write the state into every segment.

        Meant for a type-0 FInitializeHandler: it runs after ionhomeo's own
        type-0 handler has set the default concentrations and before the
        mechanisms' INITIAL blocks, so buffers (cadyn, er) and gates that
        depend on concentrations (pmca, ip3r, ryr, kcc2, ...) start in
        equilibrium with the steady-state concentrations.
        """
        for sec in sections:
            for seg in sec:
                seg.v = self.v
                for ion, c in self.concentrations.items():
                    setattr(seg, f"{ion}i", c)

    def finitialize(self, sections):
        """``h.finitialize`` directly into this state (one-shot)."""
        from neuron import h

        sections = list(sections)
        handler = h.FInitializeHandler(0, lambda: self.apply(sections))
        h.finitialize(self.v)
        del handler
        # currents and reversal potentials consistent with the new concentrations
        h.fcurrent()
        cvode = h.CVode()
        if cvode.active():
            cvode.re_init()

    def install(self, sections):
        """Keep every later ``finitialize`` starting here; returns the handler.

        The state applies as long as the returned object is referenced.
        """
        from neuron import h

        sections = list(sections)
        return h.FInitializeHandler(0, lambda: self.apply(sections))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def dynamic_ions(seg) -> list[str]:
    """Ions whose intracellular concentration a mechanism in ``seg`` WRITEs.

    Read from the mechanism catalogue (the mod files' USEION lines), in the
    order of :data:`ionhomeo.defaults.VALENCES`.
    """
    from .defaults import VALENCES
    from .mechanisms import catalog

    cat = catalog()
    written = {w for mech in seg if mech.name() in cat for w in cat[mech.name()].writes}
    return [ion for ion in VALENCES if f"{ion}i" in written]


def _ion_currents(seg, ions) -> np.ndarray:
    return np.array([getattr(seg, f"i{ion}") for ion in ions])


def solve(sections, fixed=("k",), v_guess: float = -70.0, tol: float = 1e-13) -> SteadyState:
    """Find the uniform resting state of ``sections``.

    Parameters
    ----------
    sections : iterable of NEURON sections, all with the same mechanisms.
    fixed : ions held at their initial (default) concentration, see the
        module docstring. Every other dynamic ion is solved for.
    v_guess : starting membrane potential (mV).
    tol : largest acceptable |net current| of any ion in any segment (mA/cm2).
        1e-13 mA/cm2 moves a 1 um dendrite's Na by about 4e-10 mM/s.

    On return NEURON is initialised (t = 0) at the state found; later
    ``finitialize`` calls start from the defaults again unless you use
    ``state.finitialize(sections)`` or ``state.install(sections)``.
    """
    from neuron import h
    from scipy import optimize

    from . import build

    build.load()
    sections = list(sections)
    if not sections:
        raise SteadyStateError("no sections given")
    segs = [seg for sec in sections for seg in sec]
    ref = segs[0]
    ions = dynamic_ions(ref)
    if not ions:
        raise SteadyStateError(
            "no dynamic concentrations: insert concentration owners (nadyn, kdyn, cldyn) first")
    unknown_fixed = set(fixed) - set(ions)
    if unknown_fixed:
        raise SteadyStateError(
            f"fixed ion(s) {sorted(unknown_fixed)} are not dynamic here; dynamic ions: {ions}")
    free = [ion for ion in ions if ion not in fixed]
    fixed_values = {}
    h.finitialize(v_guess)
    for ion in fixed:
        fixed_values[ion] = getattr(ref, f"{ion}i")
    start = {ion: getattr(ref, f"{ion}i") for ion in free}

    def state_at(x):
        v, logc = x[0], x[1:]
        return SteadyState(v=float(v), fixed=tuple(fixed), residual=math.nan,
                           concentrations={**fixed_values,
                                           **{ion: float(math.exp(lc)) for ion, lc in zip(free, logc)}})

    # scipy wraps the residual in a function that refers to itself, a reference
    # cycle that would keep anything the residual holds alive until the next
    # garbage collection. So it reaches the NEURON objects only through this
    # dict, emptied as soon as the root finder returns.
    neuron_objects = {"sections": sections, "ref": ref}

    # residuals in uA/cm2; unknowns V (mV) and log concentrations (positivity)
    def residual(x):
        state_at(x).finitialize(neuron_objects["sections"])
        return 1e3 * _ion_currents(neuron_objects["ref"], ions)

    x0 = np.array([v_guess] + [math.log(start[ion]) for ion in free])
    try:
        sol = optimize.root(residual, x0, method="hybr", options={"xtol": 1e-14})
    finally:
        neuron_objects.clear()
    state = state_at(sol.x)
    state.finitialize(sections)
    worst = max(float(np.max(np.abs(_ion_currents(seg, ions)))) for seg in segs)
    if not np.all(np.isfinite(sol.x)) or worst > tol:
        raise SteadyStateError(
            f"no steady state found (largest residual current {worst:.3g} mA/cm2 > {tol:g}; "
            f"solver: {sol.message}). Check that every segment has the same mechanisms and "
            "densities, that a pump or transporter balances every leak, and try another v_guess.")
    # all membrane current must be ionic: otherwise V is not at rest although
    # every ion is balanced (a NONSPECIFIC_CURRENT such as hh's il)
    total = _membrane_current(ref)
    if abs(total) > max(tol, 1e-12):
        raise SteadyStateError(
            f"every ion is balanced but {total:.3g} mA/cm2 of membrane current remains: a "
            "NONSPECIFIC_CURRENT (for example hh's il; set gl_hh = 0) carries current that no "
            "concentration can balance. Use ionhomeo leaks (naleak, kleak, clleak) instead.")
    state = dataclasses.replace(state, residual=worst)
    state.finitialize(sections)  # undo the probe step: leave NEURON at t = 0, at rest
    return state


def _membrane_current(seg) -> float:
    """Net ionic membrane current density at ``seg`` (mA/cm2), including non-ionic ones.

    Computed from one tiny fixed step: C dV/dt = -I with C in uF/cm2.
    """
    from neuron import h

    cvode = h.CVode()
    was_active = cvode.active()
    cvode.active(0)
    dt, v0 = h.dt, seg.v
    h.dt = 1e-6
    try:
        h.fadvance()
        dvdt = (seg.v - v0) / h.dt  # mV/ms
    finally:
        h.dt = dt
        cvode.active(was_active)
    return -seg.cm * dvdt * 1e-3  # uF/cm2 * mV/ms = uA/cm2 -> mA/cm2
