"""Protocol ``rest``: the whole-cell resting state of a cell, and how well it holds.

The cell (``morphology`` with ``recipe``: the bundled pyramidal cell with the
mature preset unless told otherwise) is brought to its resting state by
:meth:`ionhomeo.cell.Cell.initialize` (membrane potential and every
concentration in every segment such that all net fluxes vanish, axial
current and diffusion included), then rests for ``duration_s`` under CVODE.
Reported per region: the resting potential, the concentrations and E_GABA;
and the largest drift of any segment.

Checks (physics: a steady state does not move): the drift of V below 0.01 mV
and of every concentration below 0.1 %. Why these tolerances: the solver
leaves rates below 1e-7 mV/ms and 1e-10 /ms, so the drift over 10 s is of
order 1e-3 mV and 1e-6 at most.

Outputs: rest.csv (time course at the soma and region means), rest_profile.csv
(the resting state of every segment with its distance from the soma),
rest_summary.csv, rest_checks.csv, rest.json (provenance: cell, morphology
hash, recipe, solver) and rest.png.

Derivations and discussion: docs/protocols/rest.md
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from .. import checks
from ..experiment import Protocol, Report, Spec, param
from ..plotting import SYMBOLS

REGIONS = ("soma", "basal", "apical", "axon", "terminal")
IONS = ("na", "k", "cl", "ca")
MAX_DRIFT_MV, MAX_DRIFT_REL = 0.01, 1e-3
WHY = ("the steady-state solver leaves rates below 1e-7 mV/ms and 1e-10 /ms: over 10 s a drift "
       "of order 1e-3 mV and 1e-6 at most")


@dataclasses.dataclass(frozen=True)
class RestSpec(Spec):
    morphology: object = param("pyramidal", doc="the cell (a bundled name or an SWC/ASC file)")
    recipe: object = param("mature", doc="its recipe (a preset name or a TOML file)")
    duration_s: float = param(10.0, "s", "time at rest after the steady-state solve", 0.0)
    samples: int = param(200, "", "samples of the time course", 0)
    shape_variable: str = param("cli", "", "variable of the profile the picture of the cell "
                                "is coloured by", choices=("cli", "nai", "ki", "v", "cai"))

    def __post_init__(self):
        super().__post_init__()
        if self.morphology is None:
            from ..mechanisms import ParameterError

            raise ParameterError("rest has no geometry of its own: give a morphology (a bundled "
                                 "cell such as 'pyramidal', or an SWC/ASC file)")


def _region_means(cell, state, region):
    """Volume-weighted mean concentrations and area-weighted mean v of a region at rest."""
    segs = cell.segments(region, optional=True)
    if not segs:
        return None
    # segment objects are created anew on each access: match by (section, x)
    key = {(s.sec.name(), round(s.x, 9)): k for k, s in enumerate(state.segments)}
    ks = [key[(s.sec.name(), round(s.x, 9))] for s in segs]
    area = np.array([s.area() for s in segs])
    vol = np.array([s.volume() for s in segs])
    out = {"v": float(np.average(state.v[ks], weights=area)), "n": len(segs)}
    for ion in IONS:
        if ion in state.concentrations:
            c = state.concentrations[ion][ks]
            own = ~np.isnan(c)
            if own.any():
                out[ion] = float(np.average(c[own], weights=vol[own]))
    return out


def _profile(h, cell, state):
    """The resting state of every segment: tidy table with distance from the soma."""
    import pandas as pd

    region_of = {}
    for region in ("terminal", "soma", "basal", "apical", "axon"):  # terminals first
        for s in cell.segments(region, optional=True):
            region_of.setdefault((s.sec.name(), round(s.x, 9)), region)
    rows = []
    for k, seg in enumerate(state.segments):
        where = str(seg)
        region = region_of.get((seg.sec.name(), round(seg.x, 9)), "other")
        dist = h.distance(cell.soma_center, seg)
        rows.append((where, region, dist, "v", float(state.v[k]), "mV"))
        for ion, c in state.concentrations.items():
            if not np.isnan(c[k]):
                rows.append((where, region, dist, f"{ion}i", float(c[k]), "mM"))
    return pd.DataFrame(rows, columns=["segment", "region", "distance_um", "variable",
                                       "value", "unit"])


def _recorder(cell, spec):
    """The soma's v and concentrations, and each region's mean v (and Cl)."""
    from .. import recording

    rec = recording.Recorder(cell, dt_ms=spec.duration_s * 1e3 / spec.samples)
    # a recipe need not have every ion: what is not there is not recorded, and said
    at_soma = [ion for ion in IONS if cell.soma_center.sec.has_membrane(f"{ion}_ion")]
    for var in ["v"] + [f"{ion}i" for ion in at_soma]:
        rec.record(var, at=cell.soma_center)
    present = [r for r in REGIONS if cell.segments(r, optional=True)]
    for region in present:
        if region != "soma":
            rec.record("v", region=region)
            if all(s.sec.has_membrane("cl_ion") for s in cell.segments(region)):
                rec.record("cli", region=region)
    return rec, [ion for ion in IONS if ion not in at_soma], present


class Rest(Protocol):
    name = "rest"
    description = ("whole-cell resting state of a cell: per-region table and the drift over "
                   "the run")
    Spec = RestSpec

    def measure(self, spec, session):
        from .. import plotting, simulate

        h, cell = session.h, session.cell(spec)
        t_solve = time.perf_counter()
        state = cell.initialize()
        t_solve = time.perf_counter() - t_solve
        rec, missing, present = _recorder(cell, spec)
        segs = state.segments
        v0 = np.array([s.v for s in segs])
        c0 = state.concentrations  # NaN where a segment does not own the ion
        cell.start()  # into the resting state
        info = simulate.run(spec.duration_s * 1e3, method="cvode", progress=session.progress)
        dv = float(np.abs(np.array([s.v for s in segs]) - v0).max())
        dc = {}
        for ion, c in c0.items():
            own = ~np.isnan(c)
            now = np.array([getattr(s, f"{ion}i") for s, o in zip(segs, own) if o])
            dc[ion] = float(np.abs(now / c[own] - 1).max())
        out = {"dv": dv, "dc": dc, "means": {r: _region_means(cell, state, r) for r in present},
               "profile": _profile(h, cell, state), "timecourse": rec.dataframe(),
               "shape": plotting.CellShape.of(cell),
               "cell": cell.to_dict(), "missing": missing, "t_solve": t_solve,
               "run": {"method": "cvode", **info.to_dict()}, "defaults": session.defaults,
               "solver": {"residual_v_mV_per_ms": state.residual_v,
                          "residual_rel_per_ms": state.residual_rel,
                          "iterations": state.iterations, "segments": len(segs)}}
        rec.stop()
        return out

    def report(self, spec, data):
        from .. import thermo

        d, solver = data["defaults"], data["solver"]
        rows = []
        for region, m in data["means"].items():
            rows.append((f"Vm {region}", m["v"], "mV",
                         "resting potential, mean over the region's segments weighted by "
                         "area"))
            for ion, label in (("na", "Nai"), ("k", "Ki"), ("cl", "Cli"), ("ca", "Cai")):
                if ion in m:
                    scale, unit = (1e3, "uM") if ion == "ca" else (1.0, "mM")
                    rows.append((f"{label} {region}", m[ion] * scale, unit,
                                 "resting concentration, mean weighted by volume"))
            if "cl" in m:
                rows.append((f"E_GABA {region}", float(thermo.egaba(
                    m["cl"], d.clo, d.hco3i, d.hco3o, celsius=d.celsius)),
                    "mV", "GABA_A reversal (GHK, P_HCO3/P_Cl 0.2)"))
        dv, dc = data["dv"], data["dc"]
        rows += [
            ("drift_v", dv, "mV", f"largest |V change| of any segment over {spec.duration_s:g} s"),
            *[(f"drift_{ion}", dc[ion], "1", f"largest relative {ion}i change of any segment")
              for ion in dc],
            ("residual_v", solver["residual_v_mV_per_ms"], "mV/ms",
             "largest dV/dt left by the solver"),
            ("residual_rel", solver["residual_rel_per_ms"], "1/ms",
             "largest relative dc/dt left by the solver"),
            ("solver_steps", solver["iterations"], "1",
             "steps of the whole-cell steady-state solver"),
            ("segments", solver["segments"], "1", "segments (d_lambda rule)"),
            ("solve_time", data["t_solve"], "s", "wall time of the steady-state solve"),
        ]
        source = "physics: a steady state (every net flux zero) does not move"
        found = [checks.at_most("drift_v", dv, MAX_DRIFT_MV, "mV", source, WHY)]
        found += [checks.at_most(f"drift_{ion}", x, MAX_DRIFT_REL, "1", source, WHY)
                  for ion, x in dc.items()]
        warnings = []
        if data["missing"]:
            missing = data["missing"]
            warnings.append(f"the recipe gives the soma no {', '.join(missing)}: "
                            f"{', '.join(ion.capitalize() + 'i' for ion in missing)} not recorded")
        return Report(rows, data["timecourse"], tables={"profile": data["profile"]},
                      checks=found, warnings=warnings,
                      metadata={"cell": data["cell"], "run": data["run"],
                                "region_segments": {r: m["n"] for r, m in data["means"].items()},
                                "solver": {k: v for k, v in solver.items() if k != "segments"}})

    def figure(self, spec, data, report):
        return _figure(spec, data)


#: the profile's variables: (symbol, unit of the figure, factor from the profile's
#: unit, the table whose unit the figure uses, and its rows); Ca in uM as in the summary
PANELS = {"v": ("V", "mV", 1.0, "profile", {"variable": "v"}),
          "cli": (SYMBOLS["Cli"], "mM", 1.0, "profile", {"variable": "cli"}),
          "nai": (SYMBOLS["Nai"], "mM", 1.0, "profile", {"variable": "nai"}),
          "ki": (SYMBOLS["Ki"], "mM", 1.0, "profile", {"variable": "ki"}),
          "cai": (SYMBOLS["Cai"], "uM", 1e3, "summary",
                  {"quantity": [f"Cai {r}" for r in REGIONS]})}
COLOURS = {"soma": "k", "basal": "tab:green", "apical": "tab:blue", "axon": "tab:red",
           "terminal": "tab:purple", "other": "tab:gray"}


def _figure(spec, data):
    """The cell coloured by ``spec.shape_variable``; V, Cl, Na and Ca against the
    distance from the soma (a quantity uniform to the eye as its deviation from
    the mean: plotting.values)."""
    from .. import plotting

    profile, meta_cell = data["profile"], data["cell"]
    morph = meta_cell["morphology"]["path"].replace("\\", "/").split("/")[-1]
    fig, ax = plotting.figure(
        NAME, f"whole-cell resting state of {morph} (recipe {meta_cell['recipe']['name']}, "
        f"{meta_cell['nseg']} segments); drift over {spec.duration_s:g} s: "
        f"{data['dv']:.2g} mV, {max(data['dc'].values(), default=0.0):.2g} relative",
        mosaic=[["shape", "v", "cli"], ["shape", "nai", "cai"]], size=(13.5, 7.5),
        width_ratios=[1.25, 1, 1])
    symbol, unit, factor, table, where = PANELS[spec.shape_variable]
    at_rest = plotting.segment_values(profile, spec.shape_variable, name="segment")
    plotting.shape(ax["shape"], data["shape"], {k: v * factor for k, v in at_rest.items()}, unit,
                   symbol, table=table, column="value", where=where)
    ax["shape"].set_title(f"the cell at rest, coloured by {symbol}")
    for var in ("v", "cli", "nai", "cai"):
        sub = profile[profile["variable"] == var]
        symbol, unit, factor, table, where = PANELS[var]
        scale = plotting.values(ax[var], "y", sub["value"] * factor, unit, symbol,
                                table=None if sub.empty else table, column="value", where=where)
        for region, part in sub.groupby("region"):
            ax[var].plot(part["distance_um"], scale(part["value"] * factor), "o", ms=3,
                         color=COLOURS.get(region, "tab:gray"), label=region)
        plotting.label(ax[var], "x", "path distance from the soma", "um", table="profile",
                       column="distance_um")
        ax[var].set_title(f"{symbol}: {plotting.spread_text(scale)}" if not sub.empty
                          else f"no {symbol} in this recipe")
    ax["v"].legend(loc="best")
    return fig


PROTOCOL = Rest()
NAME, DESCRIPTION, run = PROTOCOL.name, PROTOCOL.description, PROTOCOL
