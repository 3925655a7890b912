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

Any model: :func:`start` takes any sections (hand-made, hoc, BluePyOpt,
NetPyNE; default every section), solves each connected cell with
:func:`solve_cell` and installs the states; from hoc it is the one line
:data:`HOC_LINE`. Its docstring says how to combine it with NEURON's
SaveState.
"""

from __future__ import annotations

import dataclasses
import gc
import math
import time

import numpy as np

from . import _interrupt, build


class SteadyStateError(RuntimeError):
    """No steady state could be found, or the cell is outside the solver's scope."""


class _HeldIonError(SteadyStateError):
    """The residual dropped for a held ion does not vanish: the cell is not degenerate."""


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
        handler = h.FInitializeHandler(0, _interrupt.neuron_callback(lambda: self.apply(sections)))
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
        return h.FInitializeHandler(0, _interrupt.neuron_callback(lambda: self.apply(sections)))

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


#: ions whose currents cross the plasma membrane (the organelle pools caer
#: and camt do not: their transporters' nonspecific currents cancel them)
_MEMBRANE_IONS = ("na", "k", "cl", "ca", "hco3")


def _membrane_ions(seg) -> list[str]:
    return [ion for ion in _MEMBRANE_IONS if hasattr(seg, f"i{ion}")]


def ionic_current(seg) -> float:
    """Net ionic membrane current density at ``seg`` (mA/cm2): the sum of the
    Na, K, Cl, Ca and HCO3 currents present (no nonspecific currents)."""
    return float(_ion_currents(seg, _membrane_ions(seg)).sum())


def _require_defaults(h) -> None:
    """SteadyStateError unless :func:`ionhomeo.defaults.apply` has run.

    Its initialisation handler turns off NEURON's reset of written
    concentrations at finitialize (ion_style cinit); without it every state
    the solvers place is wiped before they read the rates.
    """
    if not hasattr(h, "ionhomeo_init_handler"):
        raise SteadyStateError(
            "the steady-state solver needs ionhomeo's initialisation handler: call "
            "ionhomeo.defaults.apply() once in Python, or load_file(\"ionhomeo_defaults.hoc\") "
            "in hoc (it sets the temperature and the initial concentrations), before solving")


def _section_list(sections, who: str) -> list:
    """``sections`` as a list of live NEURON sections (one section is a list of
    one); SteadyStateError naming what was given otherwise."""
    if _is_section(sections):
        sections = [sections]
    else:
        try:
            sections = list(sections)
        except TypeError:
            raise SteadyStateError(
                f"{who} takes NEURON sections (a list, a SectionList or one section); got "
                f"{type(sections).__name__} {sections!r}") from None
    for sec in sections:
        if not _is_section(sec):
            raise SteadyStateError(f"{who} takes NEURON sections; got {type(sec).__name__} "
                                   f"{sec!r} among them")
        try:
            sec.name()
        except ReferenceError:
            raise SteadyStateError(f"{who}: a section given was deleted (h.delete_section or "
                                   "Cell.destroy); pass sections that exist") from None
    return sections


def _fixed_ions(fixed) -> tuple:
    """``fixed`` as a tuple of ion names; a single name is accepted for ``(name,)``."""
    if isinstance(fixed, str):
        return (fixed,)
    try:
        out = tuple(fixed)
    except TypeError:
        raise SteadyStateError(f"fixed must be ion names to hold, such as ('k',), or () for "
                               f"none; got {fixed!r}") from None
    for ion in out:
        if not isinstance(ion, str):
            raise SteadyStateError(f"fixed must be ion names to hold, such as ('k',), or () for "
                                   f"none; got {fixed!r}")
    return out


def _positive(name: str, value, unit: str) -> float:
    """``value`` as a float if it is a finite number > 0; SteadyStateError otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not 0 < value < math.inf:
        raise SteadyStateError(f"{name} must be a finite number > 0 ({unit}), got {value!r}: "
                               "it is the largest rate accepted as rest")
    return float(value)


def _segment_of(seg):
    """The segment of ``seg.sec`` that contains location ``seg.x`` (as iterated)."""
    sec = seg.sec
    return list(sec)[min(int(seg.x * sec.nseg), sec.nseg - 1)]


@_interrupt.guarded
def solve(sections, fixed=("k",), v_guess: float = -70.0, tol: float = 1e-13) -> SteadyState:
    """Find the uniform resting state of ``sections``.

    Parameters
    ----------
    sections : iterable of NEURON sections, all with the same mechanisms.
    fixed : ions held at their initial (default) concentration, see the
        module docstring. Every other dynamic ion is solved for. ``()``
        holds nothing: for cells where some current-carrying ion is not
        dynamic (constant Na and K, say, with only Ca dynamic), V is then
        solved from the net membrane current.
    v_guess : starting membrane potential (mV).
    tol : largest acceptable ``|net current|`` of any ion in any segment (mA/cm2).
        1e-13 mA/cm2 moves a 1 um dendrite's Na by about 4e-10 mM/s.

    On return NEURON is initialised (t = 0) at the state found; later
    ``finitialize`` calls start from the defaults again unless you use
    ``state.finitialize(sections)`` or ``state.install(sections)``.
    """
    from neuron import h
    from scipy import optimize

    build.ensure_loaded()
    _require_defaults(h)
    sections = _section_list(sections, "solve()")
    fixed = _fixed_ions(fixed)
    if isinstance(v_guess, bool) or not isinstance(v_guess, (int, float)) \
            or not -200.0 <= v_guess <= 200.0:
        raise SteadyStateError(f"v_guess must be a membrane potential in mV between -200 and "
                               f"200 (such as -70), got {v_guess!r}")
    tol = _positive("tol", tol, "mA/cm2")
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
    # Nothing held: V needs an equation of its own, the net ionic membrane
    # current. That is independent of the ion currents only if some ion
    # carrying current is not dynamic (fixed Na, K, Cl: constant reversal
    # potentials); otherwise it is their sum and the states form a family.
    carriers = _membrane_ions(ref)  # the ions whose currents ionic_current sums
    net_equation = not fixed
    if net_equation and set(carriers) <= set(ions):
        raise SteadyStateError(
            f"every ion carrying membrane current ({', '.join(carriers)}) is dynamic, so the "
            "resting states form a one-parameter family: hold one of them (fixed=('k',))")
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
        r = _ion_currents(neuron_objects["ref"], ions)
        if net_equation:
            r = np.append(r, ionic_current(neuron_objects["ref"]))
        return 1e3 * r

    x0 = np.array([v_guess] + [math.log(start[ion]) for ion in free])
    try:
        sol = optimize.root(residual, x0, method="hybr", options={"xtol": 1e-14})
        state = state_at(sol.x)
    except OverflowError:
        # a trial step (or the end point) with a log concentration beyond
        # exp's range: the iteration ran away from any physical state
        raise SteadyStateError(
            "no steady state found: the solver's iteration ran away (a concentration beyond "
            "1e300 mM). Usually no resting state exists: check that the pump and transporters "
            "can balance every leak (for example the Na/K pump against the Na leak), or try "
            "another v_guess.") from None
    finally:
        neuron_objects.clear()
    state.finitialize(sections)
    worst = max(float(np.max(np.abs(_ion_currents(seg, ions)))) for seg in segs)
    if not np.all(np.isfinite(sol.x)) or worst > tol:
        raise SteadyStateError(
            f"no steady state found (largest residual current {worst:.3g} mA/cm2 > {tol:g}; "
            f"solver: {sol.message}). Check that every segment has the same mechanisms and "
            "densities, that a pump or transporter balances every leak, and that the cell does "
            "not fire on its own (with spike channels a compartment may have no resting state: "
            "a preset calibrated on a whole cell can fire in a soma alone); or try another "
            "v_guess.")
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


# ----------------------------------------------------------------------------
# Whole-cell steady state (non-uniform cells)
# ----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class CellSteadyState:
    """A resting state of a whole cell: per-segment potential and concentrations.

    ``v`` (mV) and ``concentrations`` ({ion: array of mM}, NaN where a segment
    does not own the ion) are arrays over ``segments`` (the solver's order).
    ``residual_v`` (mV/ms) and ``residual_rel`` (1/ms, d ln c/dt) are the
    largest rates of change left; ``iterations`` the solver's steps.
    """

    segments: tuple
    v: np.ndarray
    concentrations: dict
    fixed: tuple
    residual_v: float
    residual_rel: float
    iterations: int
    nseg: tuple = ()  # ((section, nseg), ...) when solved: a later change invalidates the state

    def _check_discretisation(self):
        changed = [sec.name() for sec, n in self.nseg if sec.nseg != n]
        if changed:
            raise SteadyStateError(
                f"nseg of {', '.join(changed[:3])} changed since the steady state was solved: "
                "the state no longer matches the segments; solve it again")

    def apply(self):
        """Write the state into every segment (meant for a type-0 FInitializeHandler)."""
        self._check_discretisation()
        for k, seg in enumerate(self.segments):
            seg.v = float(self.v[k])
            for ion, c in self.concentrations.items():
                if not math.isnan(c[k]):
                    setattr(seg, f"{ion}i", float(c[k]))

    def finitialize(self):
        """``h.finitialize`` into this state (buffers and gates start in equilibrium)."""
        from neuron import h

        self._check_discretisation()
        handler = h.FInitializeHandler(0, _interrupt.neuron_callback(self.apply))
        h.finitialize(float(self.v[0]))
        del handler
        h.fcurrent()

    def install(self):
        """Keep every later ``finitialize`` starting here; returns the handler to keep."""
        from neuron import h

        self._check_discretisation()
        return h.FInitializeHandler(0, _interrupt.neuron_callback(self.apply))

    def summary(self) -> dict:
        """Ranges over the cell: {quantity: (min, max)} in mV or mM."""
        out = {"v_mV": (float(self.v.min()), float(self.v.max()))}
        for ion, c in self.concentrations.items():
            out[f"{ion}i_mM"] = (float(np.nanmin(c)), float(np.nanmax(c)))
        return out


def _segment_graph(segments):
    """Neighbours of each segment (index sets), from the cable's nodes.

    Every section end is a node: the free end of a section is its own
    (zero-area) node; the connected end is the node of its parent at the
    connection point, which is the parent's own connection node if that point
    is the parent's connected end, a zero-area end node if it is the parent's
    free end, or the centre node of a parent segment otherwise. All segments
    touching one zero-area node are coupled to each other (its voltage is
    eliminated); a segment touching a parent's centre node is coupled to that
    segment. Along a section, consecutive segments are coupled.
    """
    by_sec = {}
    for k, seg in enumerate(segments):
        by_sec.setdefault(seg.sec, []).append(k)
    nbrs = [set() for _ in segments]

    def link(group):
        for a in group:
            for b in group:
                if a != b:
                    nbrs[a].add(b)

    def node_at(sec, x):
        """The node at location x (0 or 1, or inside) of sec (iterative: a
        recursive closure would be a reference cycle holding the sections)."""
        while True:
            parent = sec.parentseg()
            if x == float(sec.orientation()) and parent is not None:
                sec, x = parent.sec, parent.x
                continue
            if x in (0.0, 1.0):
                return ("end", sec, x)
            ks = by_sec.get(sec)
            return ("centre", sec, None if ks is None else ks[min(int(x * sec.nseg), sec.nseg - 1)])

    nodes = {}
    for sec, ks in by_sec.items():
        for a, b in zip(ks, ks[1:]):
            link((a, b))
        connected = float(sec.orientation())
        free = 1.0 - connected
        first, last = (ks[0], ks[-1]) if connected == 0.0 else (ks[-1], ks[0])
        nodes.setdefault(node_at(sec, connected), set()).add(first)
        nodes.setdefault(node_at(sec, free), set()).add(last)
    for node, group in nodes.items():
        if node[0] == "centre":
            centre = node[2]
            if centre is not None:
                for k in group:
                    link((k, centre))
        else:
            link(group)
    return nbrs


def _distance2_colouring(nbrs):
    """Colour segments so that no two within two steps share a colour (greedy)."""
    colour = [-1] * len(nbrs)
    for k in range(len(nbrs)):
        near = set()
        for a in nbrs[k]:
            near.add(colour[a])
            for b in nbrs[a]:
                near.add(colour[b])
        c = 0
        while c in near:
            c += 1
        colour[k] = c
    return np.array(colour)


#: a whole-cell solve reports its steps (progress=None) once it has run this long (s)
PROGRESS_AFTER_S = 2.0


class _StepReport:
    """Progress of a whole-cell solve: a line per continuation step with the
    largest rates left (:mod:`ionhomeo.progress`). ``flag`` None: only once
    the solve has taken :data:`PROGRESS_AFTER_S` (a quick solve says
    nothing); True: every step; False: nothing."""

    def __init__(self, flag, n_segments, tol_v, tol_rel):
        if flag is not None and not isinstance(flag, bool):
            raise SteadyStateError(f"progress must be None, True or False, got {flag!r}")
        self.flag, self.n, self.tol_v, self.tol_rel = flag, n_segments, tol_v, tol_rel
        self.start = time.perf_counter()
        self.shown = False

    def step(self, steps, rv, rc, dt_ms):
        from . import progress

        elapsed = time.perf_counter() - self.start
        if not progress.enabled(self.flag) or (
                self.flag is None and elapsed < PROGRESS_AFTER_S):
            return
        if not self.shown:
            progress.message(f"steady state of {self.n} segments: solving until the rates of V "
                             f"and of ln(concentration) are below {self.tol_v:g} mV/ms and "
                             f"{self.tol_rel:g} /ms", flag=self.flag)
        self.shown = True
        progress.message(f"steady state: step {steps}, rates {rv:.2g} mV/ms, {rc:.2g} /ms, "
                         f"pseudo-time step {dt_ms:.2g} ms, {elapsed:.1f} s", flag=self.flag)

    def done(self, steps):
        from . import progress

        if self.shown:
            progress.message(f"steady state of {self.n} segments found: {steps} steps, "
                             f"{time.perf_counter() - self.start:.1f} s", flag=self.flag)


#: solve_cell's default tolerances: the largest rate of V (mV/ms) and of ln c (1/ms)
TOL_V, TOL_REL = 1e-7, 1e-10


@_interrupt.guarded
def solve_cell(sections, fixed=None, reference=None, tol_v: float = TOL_V,
               tol_rel: float = TOL_REL, max_iter: int = 200,
               progress=None) -> CellSteadyState:
    """Find the resting state of a whole (non-uniform) cell.

    Unknowns: the membrane potential and the logarithm of every dynamic
    intracellular concentration (those WRITten by an owner such as nadyn,
    cadyn, er) in every segment. Residuals: their rates of change (dV/dt and
    d ln c/dt), evaluated by NEURON itself (``CVode.f``) after an
    ``finitialize`` that puts every gate, buffer and other fast state at its
    equilibrium for those values, so the answer is the model's own steady
    state, axial current and diffusion included.

    Method: pseudo-transient continuation. Because the residuals are time
    derivatives of the unknowns, each step solves (I/dt - J) dx = r, an
    implicit Euler step of the cell's own slow dynamics; dt grows as the
    rates fall (switched evolution relaxation), so the iteration follows the
    relaxation of the real cell while far from rest and becomes Newton's
    method near it. The sparse Jacobian J comes from finite differences,
    perturbing all segments of one colour of a distance-2 colouring at once
    (a few dozen evaluations, whatever the cell's size). The start is the
    reference segment's local rest (its own fluxes balanced), everywhere.

    Degeneracy: when every membrane current is carried by an ion whose
    concentration a mechanism owns, a sealed cell's resting states form a
    one-parameter family (charge conservation, see :func:`solve`) and the
    Jacobian is singular. By default (``fixed=None``) K is then held at its
    start in the ``reference`` segment (default: the first) and its residual
    there, implied by the others, is dropped; afterwards that residual is
    checked, and if it does not vanish (a NONSPECIFIC_CURRENT, or an ion's
    current in a segment without its owner, breaks the degeneracy) the cell
    is solved again with nothing held. ``fixed=()`` holds nothing, ``fixed=
    ("k",)`` insists on holding K (and raises if that is wrong).
    Extracellular K dynamics (``kext``) are not supported.

    tol_v (mV/ms) and tol_rel (1/ms) are the largest rates accepted: 1e-7
    mV/ms moves v by at most 1e-3 mV in 10 s, 1e-10 /ms a concentration by
    1e-6 of itself (NEURON's rates have a round-off floor near 1e-8 mV/ms in
    cells of a thousand segments). Raises SteadyStateError when the
    continuation does not converge in ``max_iter`` steps, or earlier when the
    rates stall at the largest pseudo-time step on their round-off floor
    (the error names the rate and a tolerance above it). On return NEURON is
    initialised in the state found.

    progress: None: a line on stderr per step (its largest rates) once the
    solve has taken more than :data:`PROGRESS_AFTER_S` seconds; True: from
    the first step; False: none (see :mod:`ionhomeo.progress`, also for
    ``IONHOMEO_QUIET``). The steps are the same either way.
    """
    from neuron import h
    from scipy import sparse
    from scipy.sparse import linalg

    from .defaults import VALENCES

    build.ensure_loaded()
    _require_defaults(h)
    sections = _section_list(sections, "solve_cell()")
    tol_v = _positive("tol_v", tol_v, "mV/ms")
    tol_rel = _positive("tol_rel", tol_rel, "1/ms")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 0:
        raise SteadyStateError(f"max_iter must be a whole number of steps >= 0 (default 200), "
                               f"got {max_iter!r}")
    if reference is not None and type(reference).__name__ != "Segment":
        raise SteadyStateError(f"reference must be a segment such as soma(0.5), got "
                               f"{type(reference).__name__} {reference!r}")
    segments = tuple(seg for sec in sections for seg in sec)
    if not segments:
        raise SteadyStateError("no sections given")
    for sec in sections:
        if sec.has_membrane("kext"):
            raise SteadyStateError(
                f"{sec.name()} has kext: extracellular K dynamics are not part of the "
                "whole-cell steady state; solve without kext, then insert it")
    per_segment = [dynamic_ions(seg) for seg in segments]
    ions = [ion for ion in VALENCES if any(ion in d for d in per_segment)]
    if not ions:
        raise SteadyStateError("no dynamic concentrations: insert concentration owners first")
    automatic = fixed is None
    fixed = (("k",) if "k" in ions else ()) if automatic else _fixed_ions(fixed)
    unknown_fixed = set(fixed) - set(ions)
    if unknown_fixed:
        raise SteadyStateError(
            f"fixed ion(s) {sorted(unknown_fixed)} are not dynamic here; dynamic ions: {ions}")
    ref = segments[0] if reference is None else reference
    # the segment containing ref.x (sec(0.5) is not a segment centre when nseg is even)
    ref_k = next((k for k, s in enumerate(segments)
                  if s.sec == ref.sec and s.x == _segment_of(ref).x), None)
    if ref_k is None:
        raise SteadyStateError(f"the reference segment {ref} is not among the given sections")
    for ion in fixed:
        if ion not in per_segment[ref_k] and not automatic:
            raise SteadyStateError(
                f"the reference segment {ref} has no owner of {ion}, the ion held fixed")
    held = tuple(ion for ion in fixed if ion in per_segment[ref_k])
    # owned[ion][j]: segment j has a mechanism that writes the ion's concentration
    owned = {ion: np.array([ion in d for d in per_segment]) for ion in ions}

    report = _StepReport(progress, len(segments), tol_v, tol_rel)
    cvode = h.CVode()
    was_active = cvode.active()
    cvode.active(1)
    try:
        try:
            state = _continuation(h, segments, ions, owned, held, ref_k, tol_v, tol_rel,
                                  max_iter, sparse, linalg, report)
        except _HeldIonError:
            if not automatic:
                raise
            state = _continuation(h, segments, ions, owned, (), ref_k, tol_v, tol_rel,
                                  max_iter, sparse, linalg, report)
    finally:
        if hasattr(h, "ionhomeo_init_skip"):
            h.ionhomeo_init_skip = 0
        cvode.active(was_active)
    state = dataclasses.replace(state, nseg=tuple((sec, sec.nseg) for sec in sections))
    _check_physical(state)
    state.finitialize()
    return state


def _bath_mM(seg) -> float:
    """The bath's total ion concentration at ``seg`` (mM): the sum of every
    extracellular concentration NEURON has there. No single cytosolic ion can
    exceed it at rest: water follows solutes, and the cytosol is in osmotic
    balance with the bath (these models keep volumes fixed, so they would not
    show the swelling). About 300 mM in saline, 1000 mM in sea water."""
    from .defaults import VALENCES

    return sum(getattr(seg, f"{ion}o") for ion in VALENCES if hasattr(seg, f"{ion}o"))


#: the resting potential a living cell can have (mV): between the most negative
#: and most positive reversal potentials of the ions neurons use
PHYSICAL_V_MV = (-150.0, 80.0)
#: the leaks that balance the pump's current at rest, with their permeabilities
LEAKS = (("naleak", "pna"), ("kleak", "pk"), ("clleak", "pcl"))
#: the transport that keeps each ion down, and the parameter that switches it off
EXTRUDERS = {"na": (("nakpump", "imax"), ("ncx", "imax")), "ca": (("pmca", "imax"),
             ("ncx", "imax"), ("nckx", "imax")), "cl": (("kcc2", "imax"),),
             "k": (("kcc2", "imax"),)}


def _check_physical(state) -> None:
    """Refuse a solved state outside physical bounds, naming the likely cause."""
    problems = []
    bath = np.array([_bath_mM(seg) for seg in state.segments])
    for ion, c in state.concentrations.items():
        over = np.nan_to_num(c, nan=0.0) - bath
        if not np.any(over > 0):
            continue
        k = int(np.argmax(over))
        seg = state.segments[k]
        have = [f"{mech} {param} {getattr(getattr(seg, mech), param):g}"
                for mech, param in EXTRUDERS.get(ion, ()) if hasattr(seg, mech)]
        missing = [mech for mech, _ in EXTRUDERS.get(ion, ()) if not hasattr(seg, mech)]
        cause = "; ".join(filter(None, [", ".join(have) and f"there: {', '.join(have)}",
                                        missing and f"no {', '.join(missing)}"]))
        problems.append(f"{ion}i {c[k]:.4g} mM in {seg} (above the bath's {bath[k]:.4g} mM of "
                        f"ions in all, which a cytosol in osmotic balance cannot exceed; "
                        f"{cause or 'no extrusion'})")
    lo, hi = PHYSICAL_V_MV
    causes = []
    if problems:
        causes.append("Its ions are not extruded: check that the pumps and transporters that "
                      "hold them down are inserted with rates above zero (imax).")
    if state.v.min() < lo or state.v.max() > hi:
        k = int(np.argmax(np.abs(state.v - (lo + hi) / 2)))
        seg = state.segments[k]
        have = [f"{mech} {param} {getattr(getattr(seg, mech), param):g}"
                for mech, param in LEAKS if hasattr(seg, mech)]
        missing = [mech for mech, _ in LEAKS if not hasattr(seg, mech)]
        there = "; ".join(filter(None, [", ".join(have) and f"there: {', '.join(have)}",
                                        missing and f"no {', '.join(missing)}"]))
        problems.append(f"v {state.v[k]:.4g} mV in {seg} (outside {lo:g}..{hi:g} mV; {there})")
        causes.append(
            "The membrane potential is set by the currents: this far below the range an "
            "outward current (the Na/K pump moves 3 Na out per 2 K in) has no inward leak to "
            "balance it. Check that the leaks (naleak, kleak, clleak) are inserted with "
            "permeabilities above zero."
            if state.v[k] < lo else
            "The membrane potential is set by the currents: above the range an inward current "
            "has nothing to balance it. Check that kleak is inserted with pk above zero and the "
            "channels' conductances (gbar).")
    if problems:
        raise SteadyStateError(
            "the only steady state is not physical: " + "; ".join(problems) + ". "
            + " ".join(causes))


def _initialize_at(h, segments, ions, owned, v, conc):
    """``finitialize`` with segment j at v[j] and conc[ion][j] where it owns the ion.

    The values are written in a type-0 handler, before the INITIAL blocks, so
    gates and buffers start in equilibrium with them. Other cells start
    wherever their own handlers put them (-65 mV otherwise, never one of
    _continuation's marker values).
    """
    _Initializer(h, segments, ions, owned)(v, conc)


class _Initializer:
    """:func:`_initialize_at` for one set of segments, repeated: the pointers
    to the values it writes are looked up once (a pointer write costs a
    fraction of a ``setattr`` on a segment)."""

    def __init__(self, h, segments, ions, owned):
        self.h = h
        self.v_refs = [seg._ref_v for seg in segments]
        self.c_refs = {ion: [(j, getattr(seg, f"_ref_{ion}i")) for j, seg in enumerate(segments)
                             if owned[ion][j]] for ion in ions}
        self.values = None

    def _apply(self):
        v, conc = self.values
        for ref, value in zip(self.v_refs, v.tolist()):
            ref[0] = value
        for ion, refs in self.c_refs.items():
            c = conc[ion]
            for j, ref in refs:
                ref[0] = float(c[j])

    def __call__(self, v, conc):
        self.values = (np.asarray(v, dtype=float), conc)
        handler = self.h.FInitializeHandler(0, _interrupt.neuron_callback(self._apply))
        try:
            self.h.finitialize(-65.0)
        finally:
            del handler
            self.values = None
        _interrupt.check()  # a Ctrl-C in the handler above was swallowed by NEURON


def _local_rest(h, segments, ions, owned, fixed, v, conc, iterations: int = 30):
    """Move ``v`` and ``conc`` (in place) to each segment's local resting state.

    Each segment alone: its ionic membrane currents (one per owned ion, K held)
    vanish. All segments are solved at once (their local currents do not
    interact), with a small dense Newton system per segment. Segments that do
    not own every ion, or do not converge, keep the values they had.
    """
    n = len(segments)
    free = [ion for ion in ions if ion not in fixed]
    full = np.array([all(owned[ion][j] for ion in ions) for j in range(n)])
    if not full.any() or not set(fixed) <= set(ions):
        return
    m = 1 + len(free)

    def currents(vv, cc):
        _initialize_at(h, segments, ions, owned, vv, cc)
        h.fcurrent()
        # uA/cm2, one column per ion (residuals of the local problem)
        return 1e3 * np.array([[getattr(seg, f"i{ion}") if owned[ion][j] else 0.0
                                for ion in ions] for j, seg in enumerate(segments)])

    def unknowns(vv, cc):
        return np.column_stack([vv] + [np.log(np.where(full, cc[ion], 1.0)) for ion in free])

    def values(u):
        vv = u[:, 0].copy()
        cc = {ion: c.copy() for ion, c in conc.items()}
        for k, ion in enumerate(free):
            cc[ion] = np.where(full, np.exp(u[:, 1 + k]), conc[ion])
        return np.where(full, vv, v), cc

    u = unknowns(v, conc)
    r = currents(v, conc)
    steps = np.array([1e-4] + [1e-6] * len(free))
    for _ in range(iterations):
        if np.abs(r[full]).max() < 1e-10:
            break
        jac = np.empty((n, len(ions), m))
        for k in range(m):
            up = u.copy()
            up[:, k] += steps[k]
            jac[:, :, k] = (currents(*values(up)) - r) / steps[k]
        du = np.zeros_like(u)
        for j in np.flatnonzero(full):
            try:
                du[j] = np.linalg.solve(jac[j], -r[j])
            except np.linalg.LinAlgError:
                du[j] = 0.0
        # at most 10 mV and a factor e per step
        scale = np.maximum(1.0, np.maximum(np.abs(du[:, 0]) / 10.0,
                                           np.abs(du[:, 1:]).max(axis=1, initial=0.0)))
        u_new = u + du / scale[:, None]
        r_new = currents(*values(u_new))
        better = np.linalg.norm(r_new, axis=1) < np.linalg.norm(r, axis=1)
        u = np.where(better[:, None], u_new, u)
        r = np.where(better[:, None], r_new, r)
        if not better.any():
            break
    vv, cc = values(u)
    v[:] = vv
    for ion in ions:
        conc[ion][:] = cc[ion]


#: the move of the unknowns (mV, ln c) over which the rates' round-off floor is
#: measured: about 7 units in the last place of v near -65 mV (and 50-450 of
#: ln c), small enough that the rates' curvature does not show
FLOOR_STEP = 1e-13
#: steps at the largest pseudo-time step without a new lowest rate, after
#: which the solve checks whether the rates have reached their round-off floor
STALL_STEPS = 20


def _continuation(h, segments, ions, owned, fixed, ref_k, tol_v, tol_rel, max_iter,
                  sparse, linalg, report=None):
    n = len(segments)
    cvode = h.CVode()
    # unknown layout: kind 0 = v, kind 1+i = log concentration of ions[i]
    kinds = [("v", None)] + [("c", ion) for ion in ions]
    cols = []  # (kind index, segment index) of each unknown; residuals alike
    for kk, (what, ion) in enumerate(kinds):
        for j in range(n):
            if what == "c" and not owned[ion][j]:
                continue
            if what == "c" and ion in fixed and j == ref_k:
                continue
            cols.append((kk, j))
    rows = cols

    set_state = _Initializer(h, segments, ions, owned)

    # start: the defaults, then the reference segment's local rest everywhere
    h.finitialize(-65.0)
    # from here on every finitialize sets all the states the solve varies; the
    # defaults' handler (most of finitialize's time on a large cell) has done its
    # part and is skipped until solve_cell is done
    if hasattr(h, "ionhomeo_init_skip"):  # a defaults file older than this switch has none
        h.ionhomeo_init_skip = 1
    v = np.array([seg.v for seg in segments])
    conc = {ion: np.array([getattr(seg, f"{ion}i") if owned[ion][j] else math.nan
                           for j, seg in enumerate(segments)]) for ion in ions}
    v_loc, c_loc = v.copy(), {ion: c.copy() for ion, c in conc.items()}
    _local_rest(h, segments, ions, owned, ("k",) if "k" in ions else (), v_loc, c_loc)
    if all(owned[ion][ref_k] for ion in ions):
        v[:] = v_loc[ref_k]
        for ion in ions:
            conc[ion] = np.where(owned[ion], c_loc[ion][ref_k], conc[ion])

    # where each unknown lives in CVODE's state vector: write distinct marker
    # values, find each exactly once
    # (potentials kept between -80 and -70 mV: a marker of -9000 mV made the
    # mechanisms' exponentials overflow, with NEURON's warnings, on large cells)
    marks_v = -70.0123456789 - 10.0 * (np.arange(n) + 1) / (n + 1)
    marks_c = {ion: 1000.0 + (n + 1000.0) * (1 + i) + np.arange(n) for i, ion in enumerate(ions)}
    # The layout must not change during the solve. NEURON objects of an
    # earlier model that are unreachable but not yet collected (held in a
    # reference cycle) would otherwise be freed by a garbage collection in the
    # middle of it, shrinking the state vector under the indices found here:
    # seen in the full test suite as an IndexError in the residual.
    gc.collect()
    set_state(marks_v, marks_c)
    y = h.Vector()
    cvode.states(y)
    y = np.array(y)
    n_states = y.size
    positions = {}
    for i, val in enumerate(y):
        positions.setdefault(val, []).append(i)
    yindex = {}
    for kk, j in rows:
        mark = marks_v[j] if kk == 0 else marks_c[kinds[kk][1]][j]
        found = positions.get(mark, [])
        if len(found) != 1:
            raise SteadyStateError(
                f"cannot locate {kinds[kk][1] or 'v'} of {segments[j]} among NEURON's states "
                f"({len(found)} matches): is every concentration written by a "
                "KINETIC/DERIVATIVE owner?")
        yindex[(kk, j)] = found[0]
    for ion in fixed:
        kk = 1 + ions.index(ion)
        yindex[(kk, ref_k)] = positions[marks_c[ion][ref_k]][0]
    yrow = np.array([yindex[key] for key in rows])
    is_c = np.array([kinds[kk][0] == "c" for kk, _ in rows])
    weights = np.where(is_c, 1.0 / tol_rel, 1.0 / tol_v)

    def pack(vv, cc):
        x = np.empty(len(cols))
        for i, (kk, j) in enumerate(cols):
            x[i] = vv[j] if kk == 0 else math.log(cc[kinds[kk][1]][j])
        return x

    # where each kind's unknowns sit in x, and in which segments (vectorised unpack)
    places = [(kk, np.array([i for i, (k2, _) in enumerate(cols) if k2 == kk], dtype=int),
               np.array([j for k2, j in cols if k2 == kk], dtype=int))
              for kk in range(len(kinds))]

    def unpack(x):
        vv = v.copy()
        cc = {ion: c.copy() for ion, c in conc.items()}
        for kk, at, segs_at in places:
            if kk == 0:
                vv[segs_at] = x[at]
            else:
                cc[kinds[kk][1]][segs_at] = np.exp(x[at])
        return vv, cc

    yy, yp = h.Vector(), h.Vector()

    def rates(x):
        """All CVODE states and their time derivatives at unknowns x."""
        set_state(*unpack(x))
        cvode.states(yy)
        if len(yy) != n_states:
            raise SteadyStateError(
                f"NEURON's state vector changed size during the steady-state solve ({n_states} "
                f"-> {len(yy)}): sections or point processes were created or deleted meanwhile")
        yp.resize(len(yy))
        cvode.f(0.0, yy, yp)
        return yy.as_numpy().copy(), yp.as_numpy().copy()

    def residual(x):
        yy, ydot = rates(x)
        # v rows: dV/dt (mV/ms); concentration rows: d ln c/dt (1/ms)
        return np.where(is_c, ydot[yrow] / np.where(is_c, yy[yrow], 1.0), ydot[yrow])

    nbrs = _segment_graph(segments)
    colour = _distance2_colouring(nbrs)
    closed = [set(nb) | {j} for j, nb in enumerate(nbrs)]
    rows_of_seg = {}
    for r_i, (kk, j) in enumerate(rows):
        rows_of_seg.setdefault(j, []).append(r_i)
    groups = []
    for kk in range(len(kinds)):
        for c in range(int(colour.max()) + 1):
            pert = [i for i, (k2, j) in enumerate(cols) if k2 == kk and colour[j] == c]
            if pert:
                groups.append((kk, pert))

    def jacobian(x, r0):
        data, ri, ci = [], [], []
        for kk, pert in groups:
            step = 1e-4 if kk == 0 else 1e-6  # mV; relative concentration
            xp = x.copy()
            xp[pert] += step
            d = (residual(xp) - r0) / step
            for i in pert:
                for sj in closed[cols[i][1]]:
                    for r_i in rows_of_seg.get(sj, ()):
                        if d[r_i] != 0.0:
                            data.append(d[r_i])
                            ri.append(r_i)
                            ci.append(i)
        return sparse.csc_matrix((data, (ri, ci)), shape=(len(rows), len(cols)))

    def size(r):
        return float(np.max(np.abs(r) * weights))  # <= 1: converged

    def floor_error(x, r, steps):
        """The error to raise if the rates at x cannot fall below the
        tolerance because NEURON computes them no more exactly (None if they
        can): their change for a move of the unknowns by 1e-13 (mV, ln c)
        in random directions, the linear part cancelled by moving both ways."""
        signs = np.random.default_rng(0).choice((-1.0, 1.0), size=(2, x.size))
        noise = np.max([np.abs(residual(x + FLOOR_STEP * d) + residual(x - FLOOR_STEP * d)
                               - 2.0 * r) / 2.0 for d in signs], axis=0)
        i = int(np.argmax(noise * weights))
        # the floor must reach the tolerance and explain where the rates stalled
        if noise[i] * weights[i] < max(0.5, 0.1 * size(r)):
            return None
        kk, j = rows[i]
        what = f"d ln {kinds[kk][1]}i/dt" if is_c[i] else "dV/dt"
        unit, option, default = (("/ms", "tol_rel", TOL_REL) if is_c[i]
                                 else ("mV/ms", "tol_v", TOL_V))
        suggest = 10.0 ** math.ceil(math.log10(4.0 * noise[i]))
        return SteadyStateError(
            f"no whole-cell steady state to the tolerance: after {steps} steps the rates "
            f"stopped falling at {size(r):.2g} times it, on their round-off floor: NEURON's "
            f"{what} in {segments[j]} changes by {noise[i]:.2g} {unit} when V and ln c move "
            f"by {FLOOR_STEP:g}, so it cannot be computed more exactly. Ask for a tolerance "
            f"above the floor ({option}={suggest:g}). A floor near or above the default "
            f"tolerance ({default:g} {unit}) means a mechanism computes that rate as a small "
            f"difference of large numbers (for example a buffer's bound form started as total "
            f"minus free): fix it there")

    x = pack(v, conc)
    r = residual(x)
    if not np.all(np.isfinite(r)):
        raise SteadyStateError("NEURON's rates are not finite at the starting state")
    dt, dt_max = 1.0, 1e8  # ms
    eye = sparse.identity(len(cols), format="csc")
    steps = 0
    J, fresh = None, False
    # a stall: STALL_STEPS steps at the largest pseudo-time step without a new lowest rate
    best, since_best = size(r), 0
    while size(r) > 1.0:
        if steps >= max_iter or (dt >= dt_max and since_best >= STALL_STEPS):
            error = floor_error(x, r, steps)
            if error is not None:
                raise error
            since_best = 0
        if steps >= max_iter:
            rv = float(np.abs(r[~is_c]).max(initial=0.0))
            rc = float(np.abs(r[is_c]).max(initial=0.0))
            raise SteadyStateError(
                f"no whole-cell steady state after {max_iter} steps (largest rates {rv:.3g} "
                f"mV/ms, {rc:.3g} /ms relative). Check that every region has pumps and leaks "
                "that balance its channels, or that the cell is not spontaneously active.")
        steps += 1
        if J is None:
            J, fresh = jacobian(x, r), True
        try:
            dx = linalg.spsolve(eye / dt - J, r)
        except RuntimeError:
            dx = np.full(len(cols), np.nan)
        if np.all(np.isfinite(dx)):
            # keep each step physical: at most 20 mV and a factor e
            cap = max(1.0, np.abs(dx[~is_c]).max(initial=0.0) / 20.0,
                      np.abs(dx[is_c]).max(initial=0.0))
            xn = x + dx / cap
            rn = residual(xn)
        else:
            rn = np.full(len(rows), np.nan)
        if not np.all(np.isfinite(rn)) or size(rn) > 10.0 * size(r):
            if not fresh:  # a Jacobian from an earlier point: first retry with a new one
                J = None
                continue
            dt /= 4.0  # reject: a smaller pseudo-time step from the same point
            if dt < 1e-6:
                raise SteadyStateError(
                    "the steady-state continuation cannot make progress (steps rejected down "
                    "to 1e-6 ms); the cell may have no resting state")
            continue
        if report is not None:  # the step taken: its pseudo-time step, the rates left
            report.step(steps, float(np.abs(rn[~is_c]).max(initial=0.0)),
                        float(np.abs(rn[is_c]).max(initial=0.0)), dt)
        # switched evolution relaxation: dt grows as the rates fall
        dt = min(dt_max, dt * min(10.0, max(3.0, size(r) / size(rn))))
        # the Jacobian (one residual per colour and kind: most of the cost) is
        # kept while it still makes good progress, as in a chord method
        if size(rn) > 0.5 * size(r):
            J = None
        fresh = False
        x, r = xn, rn
        if size(r) < best:
            best, since_best = size(r), 0
        elif dt >= dt_max:
            since_best += 1
    if report is not None:
        report.done(steps)
    vv, cc = unpack(x)
    # held ions: their dropped residual at the reference must vanish too;
    # it does if every membrane current is carried by an owned ion
    yy, ydot = rates(x)
    for ion in fixed:
        k = yindex[(1 + ions.index(ion), ref_k)]
        rate = abs(ydot[k] / yy[k])
        if not rate <= 1e-8:
            raise _HeldIonError(
                f"every other rate is zero but {ion}i at the reference changes at {rate:.3g}/ms: "
                f"holding {ion} is only right if every membrane current is carried by an ion "
                "whose concentration a mechanism owns (no NONSPECIFIC_CURRENT such as pas, no "
                "current of an ion without its owner). Solve with fixed=() instead.")
    return CellSteadyState(segments=segments, v=vv, concentrations=cc, fixed=tuple(fixed),
                           residual_v=float(np.abs(r[~is_c]).max(initial=0.0)),
                           residual_rel=float(np.abs(r[is_c]).max(initial=0.0)),
                           iterations=steps)


# ----------------------------------------------------------------------------
# Steady-state start for any model
# ----------------------------------------------------------------------------

#: the one line that starts a hoc model at rest (after load_file("ionhomeo_defaults.hoc")
#: and building the cells); ``ionhomeo_rest`` lives in Python's __main__ and keeps it
HOC_LINE = 'nrnpython("from ionhomeo import steady; ionhomeo_rest = steady.start()")'


class Rest:
    """The resting state of every cell that :func:`start` solved, installed in NEURON.

    Keep this object: while it exists every ``h.finitialize()`` (also
    ``h.run()``, ``h.stdinit()``) starts each solved cell in its resting state,
    through one type-0 FInitializeHandler per cell; once it is garbage
    (``del``, or ``ionhomeo_rest = None`` from hoc) NEURON starts from the
    defaults again. It also keeps its sections alive; :meth:`remove` drops
    the handlers and the references.

    Attributes: ``states`` (one :class:`CellSteadyState` per connected cell,
    per-segment arrays in ``state.segments`` order), ``trees`` (the sections
    of each cell), ``references`` (the segment of each cell whose K was held),
    ``solve_seconds``, ``options`` (passed to :func:`solve_cell`).
    """

    def __init__(self, states, trees, references, solve_seconds, added, options):
        self.states = tuple(states)
        self.trees = tuple(tuple(t) for t in trees)
        self.references = tuple(references)
        self.solve_seconds = tuple(solve_seconds)
        self.added = tuple(tuple(a) for a in added)  # sections completing a tree
        self.options = dict(options)
        # the handlers refer to the states' apply methods only (no cycle back here)
        self._handlers = [state.install() for state in self.states]

    @property
    def segments(self) -> tuple:
        """Every solved segment, cell after cell."""
        return tuple(seg for state in self.states for seg in state.segments)

    def finitialize(self) -> None:
        """``h.finitialize(v_init)`` (which starts at rest while this object
        exists), then ``h.fcurrent()`` and, under CVODE, ``re_init``."""
        from neuron import h

        if not self._handlers:
            raise SteadyStateError("this Rest was removed: call steady.start() again")
        _finitialize_here(h)

    def remove(self) -> None:
        """Stop starting there: drop the handlers and every reference to sections."""
        self._handlers = []
        self.states = ()
        self.trees = ()
        self.references = ()
        self.added = ()

    def summary(self) -> dict:
        """Counts, solver effort and the ranges of v (mV) and every concentration (mM)."""
        out = {"cells": len(self.states), "sections": sum(len(t) for t in self.trees),
               "segments": sum(len(s.segments) for s in self.states),
               "solve_s": float(sum(self.solve_seconds)),
               "iterations": max((s.iterations for s in self.states), default=0),
               "residual_v_mV_per_ms": max((s.residual_v for s in self.states), default=0.0),
               "residual_rel_per_ms": max((s.residual_rel for s in self.states), default=0.0)}
        for state in self.states:
            for key, (lo, hi) in state.summary().items():
                old = out.get(key, (math.inf, -math.inf))
                out[key] = (min(old[0], lo), max(old[1], hi))
        return out

    def to_dict(self) -> dict:
        """Provenance, JSON-ready: versions, options and, per cell, its sections,
        reference, held ions, solver effort and the state of every segment
        (``null`` where a segment does not own an ion)."""
        from neuron import h

        from . import __version__

        def listed(a):
            return [None if math.isnan(x) else float(x) for x in a]

        cells = []
        for state, tree, ref, secs, added in zip(self.states, self.trees, self.references,
                                                 self.solve_seconds, self.added):
            cells.append({
                "root": tree[0].name(),
                "sections": [sec.name() for sec in tree],
                "nseg": [int(sec.nseg) for sec in tree],
                "added_sections": [sec.name() for sec in added],
                "reference": str(ref),
                "fixed": list(state.fixed),
                "iterations": int(state.iterations),
                "residual_v_mV_per_ms": float(state.residual_v),
                "residual_rel_per_ms": float(state.residual_rel),
                "solve_s": float(secs),
                "ranges": {k: list(v) for k, v in state.summary().items()},
                "segments": [str(seg) for seg in state.segments],
                "v_mV": listed(state.v),
                "concentrations_mM": {ion: listed(c) for ion, c in state.concentrations.items()},
            })
        return {"method": "ionhomeo.steady.start (solve_cell per connected cell)",
                "ionhomeo": __version__, "neuron": str(h.nrnversion()),
                "celsius": float(h.celsius), "options": dict(self.options), "cells": cells}

    def __repr__(self) -> str:
        s = self.summary()
        v = s.get("v_mV", (math.nan, math.nan))
        return (f"<Rest: {s['cells']} cell(s), {s['segments']} segments, v {v[0]:.3f}..{v[1]:.3f}"
                f" mV, solved in {s['solve_s']:.2f} s; keep it referenced>")


def _finitialize_here(h) -> None:
    """finitialize as stdrun's stdinit would (v_init), then fcurrent, CVODE re-initialised."""
    h.finitialize(float(h.v_init) if hasattr(h, "v_init") else -65.0)
    h.fcurrent()
    cvode = h.CVode()
    if cvode.active():
        cvode.re_init()


def _is_section(obj) -> bool:
    return type(obj).__name__ == "Section"


def _reference_of(tree, per_segment) -> object:
    """The middle segment of the first section named like *soma* (else the root)
    that owns K; the root's middle segment if none does."""
    candidates = ([sec for sec in tree if "soma" in sec.name().lower()] + [tree[0]]
                  + list(tree))
    for sec in candidates:
        seg = _segment_of(sec(0.5))
        if "k" in per_segment[(sec, seg.x)]:
            return seg
    return _segment_of(candidates[0](0.5))


def _foreign_writers(sec, h) -> list[str]:
    """Concentrations of ``sec`` written (ion_style c_style 3, a STATE) by a
    mechanism that is not ionhomeo's: the solver cannot hold those at rest."""
    from .defaults import VALENCES
    from .mechanisms import catalog

    cat = catalog()
    written = {w for seg in sec for mech in seg if mech.name() in cat
               for w in cat[mech.name()].writes}
    out = []
    for ion in VALENCES:
        if not sec.has_membrane(f"{ion}_ion"):
            continue
        if int(h.ion_style(f"{ion}_ion", sec=sec)) % 4 == 3 and not (
                {f"{ion}i", f"{ion}o"} & written):
            out.append(ion)
    return out


#: the options :func:`start` passes on to :func:`solve_cell`
START_OPTIONS = ("fixed", "reference", "tol_v", "tol_rel", "max_iter")


def start(sections=None, **options) -> Rest:
    """Solve the resting state of any model and start every later finitialize there.

    ``sections``: any iterable of NEURON sections, a single section, a hoc
    SectionList, or None for every section (``h.allsec()``), built by anyone
    (hand-made, hoc, BluePyOpt, NetPyNE, :class:`ionhomeo.cell.Cell`). They
    are grouped into connected cells (by their root section); a cell of
    which only some sections are given is completed with the rest of its
    tree (a partial tree cannot rest: the rest of it would exchange axial
    current with it). Each cell is solved on its own by :func:`solve_cell`,
    holding K (when the cell is degenerate, see there) in its ``reference``
    segment: the middle of the first section named like ``*soma*`` that owns
    K, else of the root section. ``options`` go to :func:`solve_cell`
    (``fixed``, ``tol_v``, ``tol_rel``, ``max_iter``); ``reference`` may be
    a segment or a list of segments, one per cell at most.

    Returns a :class:`Rest`, which installs the states: KEEP IT REFERENCED
    (every later ``h.finitialize()``, ``h.run()``, ``h.stdinit()`` starts
    there while it exists). NEURON is left initialised at t = 0 in the
    resting state (``finitialize(v_init)``, ``fcurrent``).

    Needs ionhomeo's defaults: ``ionhomeo.defaults.apply()`` in Python, or
    ``load_file("ionhomeo_defaults.hoc")`` in hoc, before calling. The
    mechanisms may have been loaded outside ionhomeo (``nrniv -dll``, an
    ``x86_64/`` folder): they are then used, not loaded again.

    From hoc (through NEURON's Python), after building the cells and loading
    ionhomeo_defaults.hoc, one line::

        nrnpython("from ionhomeo import steady; ionhomeo_rest = steady.start()")

    ``ionhomeo_rest`` is a variable of Python's ``__main__``, so it stays
    referenced; ``nrnpython("ionhomeo_rest = None")`` releases it.

    Raises SteadyStateError, naming the sections, for a cell with no
    ionhomeo concentration owner (nadyn, kdyn, cldyn, cadyn, ...) in any
    section, for a concentration written by a mechanism ionhomeo does not
    know (its dynamics would not be at rest), and whatever solve_cell
    raises (kext, no convergence, ...). Not included: coupling between cells
    (gap junctions, synapses active at rest); a NONSPECIFIC_CURRENT (hh's
    il, pas) is allowed and makes solve_cell hold no ion.

    Saving and restoring with NEURON's SaveState (``ss = h.SaveState();
    ss.save()``, ``ss.fwrite(h.File(path))``/``ss.fread``) works; restore as
    NEURON documents, and mind these (measured, NEURON 9.0):

    * Order: ``h.finitialize()`` (this object's handlers put the rest state
      in and set what SaveState does not save: PARAMETERs and ASSIGNED
      variables such as the owners' area factor), then ``ss.restore()``,
      ``h.fcurrent()``, and under CVODE ``h.CVode().re_init()``. The handlers
      act only inside finitialize, so they never overwrite a restore.
    * Under CVODE the ``re_init()`` is required: without it CVODE continues
      from its own copy of the states. The values read right after restore
      are right, but 1 s later v was 0.08 mV and nai 0.7 % off the
      uninterrupted run; restored without a finitialize before, stdrun's
      continuerun (``cvode_active(1)``) aborted on an assertion in
      NetCvode::global_microstep. (The same holds for any change of a
      parameter under CVODE, such as an IClamp's amp: ``re_init()`` after it.)
    * ``restore()`` sets ``t`` back to the saved time: continue with
      ``h.continuerun(h.t + T)`` or ``CVode().solve``; ``h.run()`` (stdinit,
      finitialize) would discard the restored state and start at rest again.
    * A file from ``fwrite`` fits only the same model built in the same order
      with the same mechanisms; in a new process build it, load the defaults,
      ``finitialize``, ``fread`` and ``restore`` (no solve needed).
    """
    import time

    from neuron import h

    build.ensure_loaded()
    _require_defaults(h)
    unknown = sorted(set(options) - set(START_OPTIONS))
    if unknown:
        raise SteadyStateError(f"start() got unknown option(s) {', '.join(unknown)}; its options: "
                               f"{', '.join(START_OPTIONS)} (see solve_cell)")
    sections = list(h.allsec()) if sections is None else _section_list(sections, "start()")
    if not sections:
        raise SteadyStateError("no sections given (or, with sections=None, none exist)")
    given = set(sections)

    # group into connected cells, in order of first appearance
    roots = {}
    for sec in sections:
        roots.setdefault(h.SectionRef(sec=sec).root, None)
    trees = []
    for root in roots:
        tree = list(root.wholetree())
        tree.sort(key=lambda s: s != root)  # root first, then NEURON's tree order
        trees.append(tree)

    refs_given = options.pop("reference", None)
    if refs_given is not None and not isinstance(refs_given, (list, tuple)):
        refs_given = [refs_given]
    refs_by_root = {}
    for ref in refs_given or ():
        if type(ref).__name__ != "Segment":
            raise SteadyStateError(f"reference must be a segment such as soma(0.5) (or one per "
                                   f"cell), got {type(ref).__name__} {ref!r}")
        root = h.SectionRef(sec=ref.sec).root
        if root not in roots:
            raise SteadyStateError(f"the reference segment {ref} is not in any given cell")
        if root in refs_by_root:
            raise SteadyStateError(f"two reference segments for the cell of {root.name()}")
        refs_by_root[root] = ref

    unowned, foreign, plans = [], [], []
    for tree in trees:
        per_segment = {(seg.sec, seg.x): dynamic_ions(seg) for sec in tree for seg in sec}
        if not any(per_segment.values()):
            unowned.append(tree)
            continue
        for sec in tree:
            for ion in _foreign_writers(sec, h):
                foreign.append(f"{ion}i in {sec.name()}")
        ref = refs_by_root.get(tree[0])
        plans.append((tree, _reference_of(tree, per_segment) if ref is None else ref))
    if unowned:
        names = [sec.name() for tree in unowned for sec in tree]
        shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
        raise SteadyStateError(
            f"no ionhomeo concentration owner (nadyn, kdyn, cldyn, cadyn, ...) in any section of "
            f"{len(unowned)} cell(s): {shown}. Insert the owners, or pass start() only the "
            "sections of the cells to solve.")
    if foreign:
        raise SteadyStateError(
            f"concentrations written by a mechanism ionhomeo does not know: {', '.join(foreign[:8])}"
            f"{' ...' if len(foreign) > 8 else ''}. The solver cannot put that mechanism's "
            "dynamics at rest; use ionhomeo's owner of the ion (nadyn, kdyn, cldyn, cadyn) "
            "instead of it, or leave the cell out of start().")

    states, seconds = [], []
    for tree, ref in plans:
        t0 = time.perf_counter()
        states.append(solve_cell(tree, reference=ref, **options))
        seconds.append(time.perf_counter() - t0)
    added = [[sec for sec in tree if sec not in given] for tree, _ in plans]
    rest = Rest(states, [tree for tree, _ in plans], [ref for _, ref in plans], seconds, added,
                options)
    _finitialize_here(h)
    return rest
