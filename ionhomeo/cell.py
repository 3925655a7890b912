"""A neuron in NEURON: a morphology, discretised, with a recipe's mechanisms.

>>> from ionhomeo.cell import Cell
>>> cell = Cell("pyramidal", "mature")        # doctest: +SKIP
>>> state = cell.initialize()                 # whole-cell resting state
>>> cell.segments("apical & distance > 100")  # a region, as segments
>>> cell.destroy()

``morphology`` is a :class:`ionhomeo.morphology.Morphology`, a file path
(SWC or Neurolucida ASC) or the name of a bundled cell
(:data:`ionhomeo.morphology.BUNDLED`); ``recipe`` a
:class:`ionhomeo.recipe.Recipe`, a TOML file or a preset name
(:data:`ionhomeo.presets.NAMES`). The recipe's passive rules (Ra, cm) are
set first, since the d_lambda rule depends on them; the sections are then
discretised and the recipe applied segment by segment (cm again, then the
mechanisms).

Boutons: reconstructions rarely mark them, and the d_lambda rule gives an
axonal leaf segments of tens of um, so the region ``bouton`` (the distal
2 um of each leaf, at least its last segment) is as coarse as that.
``Cell(..., bouton_um=2)`` splits the distal 2 um of every axonal leaf longer
than 4 um (attached by its 0 end, as Import3d attaches them, and without
children of another type) into a section of its own (its 3-D points cut at
the interpolated point), which then is the bouton: ``cell.to_dict()``
records how many. The cut leaf stays one leaf for ``tip_distance`` and
``bouton(L)``, measured to the bouton's end.

Several cells can coexist in one process; each owns its sections, which
:meth:`Cell.destroy` deletes (or garbage collection, once nothing refers to
the cell). A cell is named after its morphology file or geometry
(``pyramidal``), and its sections and segments after it
(``pyramidal.soma[0](0.5)``), the same in every run, so that tables of two
runs can be joined; a cell built while another of the same name is alive is
``pyramidal_2`` (then ``_3``, ...).
"""

from __future__ import annotations

import weakref
from pathlib import Path

from . import _interrupt

__all__ = ["Cell", "CellError"]

#: NEURON's default specific capacitance (uF/cm2), where no passive rule sets cm
DEFAULT_CM_UF_CM2 = 1.0


#: name -> Cell, the cells alive (not destroyed, not collected) in this process
_LIVE: "weakref.WeakValueDictionary" = weakref.WeakValueDictionary()


def _take_name(stem: str, cell) -> str:
    """``stem`` if no live cell has it, else ``stem_2``, ``stem_3``, ...: names
    (and so section and segment names) are the same in every run, and distinct
    among the cells alive together."""
    name, k = stem, 1
    while name in _LIVE:
        k += 1
        name = f"{stem}_{k}"
    _LIVE[name] = cell
    return name


class CellError(RuntimeError):
    """A Cell used in a way it cannot answer (destroyed, or built without the defaults,
    or with discretisation arguments it cannot use)."""


class Cell:
    """A cell instantiated in NEURON (see the module docstring)."""

    def __init__(self, morphology, recipe=None, *, d_lambda: float = 0.1,
                 frequency_hz: float = 100.0, bouton_um: float | None = None):
        import math

        from . import build, morphology as morph_mod, recipe as recipe_mod

        for label, value, usual in (("d_lambda", d_lambda, "0.1, NEURON's default"),
                                    ("frequency_hz", frequency_hz, "100 Hz, NEURON's default")):
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not 0 < value < math.inf:
                raise CellError(f"Cell({label}={value!r}): {label} must be a finite number > 0 "
                                f"(usually {usual})")
        if bouton_um is not None and (isinstance(bouton_um, bool) or not isinstance(
                bouton_um, (int, float)) or not 0 < bouton_um < math.inf):
            raise CellError(f"Cell(bouton_um={bouton_um!r}): the length of the bouton split "
                            "off each axonal leaf must be a finite number of um > 0 (the "
                            "region 'bouton' takes 2 um), or None to keep the leaves whole")
        build.load()
        from neuron import h

        if not hasattr(h, "ionhomeo_init_handler"):
            raise CellError(
                "ionhomeo's defaults are not loaded, so this cell would start at NEURON's "
                "built-in concentrations (ki 54.4 mM, cli 1 mM) and 6.3 degC: call "
                "ionhomeo.defaults.apply() once before building cells (in hoc: "
                "load_file(\"ionhomeo_defaults.hoc\"))")
        self._destroyed = False
        # a build that fails part-way (a region the cell lacks, a bad recipe value,
        # Ctrl-C) leaves no sections in NEURON and does not keep the cell's name
        # (an interactive traceback would otherwise keep both alive)
        try:
            from . import geometry as geometry_mod

            if isinstance(morphology, geometry_mod.Geometry):
                self._init_geometry(morphology, recipe_mod.resolve(recipe, default="mature"))
                return
            if isinstance(morphology, morph_mod.Morphology):
                morph = morphology
            else:
                from .names import match

                if isinstance(morphology, str) and match(morphology, morph_mod.BUNDLED) \
                        and not Path(morphology).exists():  # Pyramidal, ball-and-stick too
                    morphology = morph_mod.bundled(match(morphology, morph_mod.BUNDLED))
                morph = morph_mod.load(morphology)  # names the problem for any other input
            rec = recipe_mod.resolve(recipe, default="mature")
            self.morphology = morph
            self.recipe = rec
            self.d_lambda = float(d_lambda)
            self.frequency_hz = float(frequency_hz)
            self._handler = None
            self.state = None
            # NEURON names the sections after str(owner): the morphology's name, the
            # same in every run (pyramidal.soma[0]); a second live cell of it gets _2
            stem = "".join(ch if ch.isalnum() else "_" for ch in morph.path.stem)
            self.name = _take_name(stem, self)
            self.sections_by_type = morph_mod.instantiate(morph, self)
            self.bouton_um = None if bouton_um is None else float(bouton_um)
            self.split_leaves = {}  # leaf section -> the bouton section split off it
            if bouton_um is not None:
                self._split_boutons(h)
            self.all = [sec for kind in ("soma", "dend", "apic", "axon")
                        for sec in self.sections_by_type.get(kind, [])]
            if not self.sections_by_type.get("soma"):
                raise morph_mod.MorphologyError(morph.path, [(None, (
                    "no soma after instantiation: NEURON's Import3d removed the soma (a soma "
                    "of zero length, such as two soma points at the same place?); give the soma "
                    "as one point with its radius, or as points along its length"))])
            soma = self.sections_by_type["soma"][0]
            self.soma_center = soma(0.5)
            self.passive = self._discretize_with_passive(rec)
            self.applied = rec.apply(self, passive=False)
            self.area_factors = self._area_factors()
        except BaseException as err:
            import traceback

            self.destroy()
            soma = None  # noqa: F841 - this frame's own reference to a section
            # the frames below this one (instantiate, apply) hold sections in
            # their locals for as long as the traceback lives
            traceback.clear_frames(err.__traceback__)
            raise

    def _init_geometry(self, geometry, rec):
        """A cell of simple cylinders (:mod:`ionhomeo.geometry`): their nseg, no d_lambda."""
        from . import geometry as geometry_mod

        self.morphology, self.recipe = geometry, rec
        self.d_lambda = self.frequency_hz = None
        self._handler, self.state, self.pieces, self.split_leaves = None, None, {}, {}
        self.name = _take_name(geometry.name, self)
        self.sections_by_type = geometry_mod.instantiate(geometry, self)
        self.all = [sec for kind in ("soma", "dend", "apic", "axon")
                    for sec in self.sections_by_type.get(kind, [])]
        self.soma_center = self.sections_by_type["soma"][0](0.5)
        self.nseg = geometry.nseg
        self.passive = rec.apply_passive(self)
        self.applied = rec.apply(self, passive=False)
        self.area_factors = self._area_factors()

    @property
    def boutons_split(self) -> int:
        """How many axonal leaves ``bouton_um`` split (0 without it)."""
        return len(self.split_leaves)

    def _split_boutons(self, h) -> None:
        """Split the distal ``bouton_um`` off every axonal leaf section longer than
        twice that, into a section of its own (its 3-D points, from the point
        interpolated at L - bouton_um to the tip), so that the d_lambda rule
        gives the bouton its own segment and the region ``bouton`` selects a
        bouton-sized piece instead of the leaf's last segment (tens of um on a
        reconstruction). Records each in :attr:`split_leaves`."""
        import numpy as np

        axon = self.sections_by_type.get("axon", [])
        members = set(axon)
        leaves = [sec for sec in axon if not any(c in members for c in sec.children())]
        for k, sec in enumerate(leaves):
            n = int(sec.n3d())
            # Import3d attaches every section by its 0 end; a leaf attached by its
            # 1 end, with children or too short to keep a piece is left whole
            if sec.children() or n < 2 or not sec.L > 2 * self.bouton_um \
                    or sec.orientation() != 0:
                continue
            pts = np.array([[sec.x3d(i), sec.y3d(i), sec.z3d(i), sec.diam3d(i)]
                            for i in range(n)])
            arc = np.array([sec.arc3d(i) for i in range(n)])
            cut = arc[-1] - self.bouton_um
            mid = np.array([np.interp(cut, arc, pts[:, j]) for j in range(4)])
            keep = arc < cut
            bouton = h.Section(name=f"bouton_{k}", cell=self)
            for x, y, z, d in [mid] + [tuple(p) for p in pts[~keep]]:
                h.pt3dadd(x, y, z, d, sec=bouton)
            h.pt3dclear(sec=sec)
            for x, y, z, d in [tuple(p) for p in pts[keep]] + [mid]:
                h.pt3dadd(x, y, z, d, sec=sec)
            bouton.connect(sec(1), 0)
            self.split_leaves[sec] = bouton  # held as long as the cell
        # not in Import3d's own self.axon list: cell.sections("axon") has them
        self.sections_by_type["axon"] = list(axon) + list(self.split_leaves.values())

    #: rounds of discretising and setting cm before :meth:`_discretize_with_passive` gives up
    MAX_DISCRETISATION_ROUNDS = 10

    def _discretize_with_passive(self, rec) -> list:
        """Discretise by the d_lambda rule at the recipe's Ra and cm; returns
        the passive rules' summary.

        The rule depends on Ra and on the section's largest cm, and cm can be
        set per segment (regions such as "distance > 200" select segments), so:
        set the passive rules at the current segments, discretise, start cm
        from NEURON's default again and set the rules on the new segments;
        repeat until the discretisation no longer changes (two rounds unless
        a region splits a section).
        """
        from . import morphology as morph_mod

        summary = rec.apply_passive(self, check=False)
        for _ in range(self.MAX_DISCRETISATION_ROUNDS):
            before = [sec.nseg for sec in self.all]
            self.nseg = morph_mod.discretize(self.all, d_lambda=self.d_lambda,
                                             frequency_hz=self.frequency_hz)
            if [sec.nseg for sec in self.all] == before:
                # a rule's region is judged on the final segments (a 400 um
                # dendrite of one segment has nothing beyond 200 um)
                rec.check_regions(self)
                return summary
            for sec in self.all:
                sec.cm = DEFAULT_CM_UF_CM2
            summary = rec.apply_passive(self, check=False)
        raise morph_mod.MorphologyError(self.morphology.path, [(None, (
            f"the d_lambda discretisation did not settle in "
            f"{self.MAX_DISCRETISATION_ROUNDS} rounds with recipe {rec.name!r}'s passive rules "
            "(cm set per region changes nseg, which changes the regions' segments); set cm "
            "for whole sections, or a larger d_lambda"))])

    def _area_factors(self) -> tuple:
        """(min, max) over the cell of NEURON's segment area / the cylinder's.

        The owners use this ratio (``afac``) to turn the charge NEURON computed
        into ions; ``ionhomeo_defaults.hoc``'s initialisation handler sets it
        in every segment at every finitialize, in any model. Recorded here for
        provenance: it is far from 1 only in tapered 3-D segments (28 % in the
        necks of the bundled boutons).
        """
        import math

        factors = [seg.area() / (math.pi * seg.diam * sec.L / sec.nseg)
                   for sec in self.all for seg in sec if seg.diam > 0]
        return (min(factors), max(factors)) if factors else (1.0, 1.0)

    # -- regions -------------------------------------------------------------

    def _alive(self):
        if getattr(self, "_destroyed", False):
            raise CellError(f"{self!r} was destroyed (Cell.destroy): its sections are gone; "
                            "build a new Cell")

    def segments(self, region="all", optional: bool = False) -> list:
        """The segments of a region (expression or Region object), in cell order.

        A region that selects nothing here (``apical`` on a cell without apical
        dendrites) is an :class:`ionhomeo.regions.EmptyRegionError` naming the
        cell and what it lacks, unless ``optional`` (then the list is empty).
        """
        from . import regions

        self._alive()
        return regions.as_region(region).segments(self, optional=optional)

    def sections(self, region="all", optional: bool = False) -> list:
        """The sections holding at least one segment of the region (``optional`` as
        in :meth:`segments`)."""
        from . import regions

        self._alive()
        return regions.as_region(region).sections(self, optional=optional)

    # -- state ---------------------------------------------------------------

    @_interrupt.guarded
    def initialize(self, *, uniform: bool | None = None, **solver_options):
        """Solve the resting state and start every later finitialize there.

        A one-segment :mod:`ionhomeo.geometry` cylinder, or any cell with
        ``uniform=True``, is solved as one uniform compartment by
        :func:`ionhomeo.steady.solve` (options ``fixed``, by default K where
        it is dynamic, ``v_guess``, ``tol``); any other cell (a one-segment
        reconstruction too) by :func:`ionhomeo.steady.solve_cell` (Newton's
        method on NEURON's own rates; V and every concentration in every
        segment such that all net fluxes vanish; ``progress`` as there: its steps
        on stderr when it takes more than a couple of seconds). Returns the state (a
        :class:`~ionhomeo.steady.SteadyState` or
        :class:`~ionhomeo.steady.CellSteadyState`); NEURON is left
        initialised at t = 0 in it, and :meth:`start` starts a run there again.
        """
        from neuron import h

        from . import steady

        self._alive()
        # a new solve starts like the first: the previous state's handler
        # would otherwise overwrite the solver's own starting finitialize
        self._handler = self.state = None
        if uniform is None:  # a one-segment cylinder of ionhomeo.geometry
            uniform = self.nseg == 1 and not hasattr(self.morphology, "path")
        if uniform:
            solver_options.pop("progress", None)  # one compartment: a fraction of a second
            if "fixed" not in solver_options:  # K held where it is dynamic (steady.solve)
                held = "k" in steady.dynamic_ions(self.soma_center)
                solver_options["fixed"] = ("k",) if held else ()
            self.state = steady.solve(self.all, **solver_options)
            self._handler = self.state.install(self.all)
            return self.state
        self.state = steady.solve_cell(self.all, reference=self.soma_center, **solver_options)
        self._handler = self.state.install()
        h.finitialize(float(self.state.v[0]))
        return self.state

    @_interrupt.guarded
    def start(self, v_shift_mV: float = 0.0):
        """``finitialize`` into the solved resting state (:meth:`initialize` first);
        ``v_shift_mV`` starts the membrane that far from it (a uniform state only)."""
        import dataclasses

        from . import steady

        self._alive()
        if self.state is None:
            raise CellError(f"{self!r} has no resting state yet: call cell.initialize() first")
        if isinstance(self.state, steady.SteadyState):
            state = self.state
            if v_shift_mV:
                state = dataclasses.replace(state, v=state.v + v_shift_mV)
            state.finitialize(self.all)
        elif v_shift_mV:
            raise CellError("v_shift_mV needs a uniform resting state (initialize(uniform=True))")
        else:
            self.state.finitialize()

    def destroy(self):
        """Delete this cell's sections (and its initialisation handler).

        NEURON deletes a section once nothing refers to it; this drops every
        reference the cell holds (Import3d's lists included). Segments or
        sections the caller still holds keep theirs alive.
        """
        self._destroyed = True
        name = getattr(self, "name", None)
        if name is not None and _LIVE.get(name) is self:  # the name is free for the next cell
            del _LIVE[name]
        self._handler = None
        self.state = None
        self.applied = None
        self.soma_center = None
        self.sections_by_type = {}
        self.pieces = {}
        self.split_leaves = {}
        for name, value in list(vars(self).items()):
            if _holds_sections(value):
                setattr(self, name, [])

    # -- provenance ----------------------------------------------------------

    def to_dict(self) -> dict:
        """What produced this cell: morphology file and hash, recipe, discretisation.

        ``position_functions`` lists each parameter the recipe set as a function
        of position: ``rule`` (1-based), ``region``, ``mechanism``,
        ``parameter``, ``function`` (its TOML inline table), ``unit``, ``min``
        and ``max`` (the values that rule set, in ``unit``; None if its region
        selected no segment) and ``segments``. A later rule may override some
        of those segments; the rule's own values are recorded.
        """
        self._alive()
        counts = {kind: len(secs) for kind, secs in self.sections_by_type.items()}
        if not hasattr(self.morphology, "path"):  # a geometry of cylinders
            return {"geometry": self.morphology.to_dict(), "recipe": self.recipe.to_dict(),
                    "position_functions": _position_functions(self.applied),
                    "sections": counts, "nseg": self.nseg,
                    "Ra_ohm_cm_range": _value_range(sec.Ra for sec in self.all),
                    "cm_uF_cm2_range": _value_range(seg.cm for sec in self.all for seg in sec)}
        return {
            "morphology": self.morphology.to_dict(),
            "recipe": self.recipe.to_dict(),
            "position_functions": _position_functions(self.applied),
            "d_lambda": self.d_lambda,
            "frequency_hz": self.frequency_hz,
            "bouton_um": self.bouton_um,
            "boutons_split": self.boutons_split,
            "sections": counts,
            "nseg": self.nseg,
            "Ra_ohm_cm_range": _value_range(sec.Ra for sec in self.all),
            "cm_uF_cm2_range": _value_range(seg.cm for sec in self.all for seg in sec),
            "area_factor_range": list(self.area_factors),
        }

    def __str__(self) -> str:
        # used by NEURON for section names (it must not fail while sections
        # are being created)
        return self.name

    def __repr__(self) -> str:
        where = getattr(self.morphology, "path", None)
        where = where.name if where is not None else self.morphology.name
        return (f"Cell({where!r}, recipe={self.recipe.name!r}, "
                f"{len(getattr(self, 'all', []))} sections, "
                f"{getattr(self, 'nseg', 0)} segments)")


def _position_functions(applied) -> list:
    """The rows of :meth:`Cell.to_dict`'s ``position_functions`` from a recipe's
    apply summary."""
    return [{"rule": row["rule"], "region": row["region"], "mechanism": row["mechanism"],
             "parameter": name, **function, "segments": row["segments"]}
            for row in applied or () for name, function in row.get("functions", {}).items()]


def _value_range(values) -> list:
    values = [float(x) for x in values]
    return [min(values), max(values)] if values else []


def _holds_sections(value) -> bool:
    """A NEURON section, or a list/tuple of them (Import3d's per-type lists)."""
    items = value if isinstance(value, (list, tuple)) else [value]
    return bool(items) and all(type(x).__name__ == "Section" for x in items)
