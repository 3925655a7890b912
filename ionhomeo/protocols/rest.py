"""Protocol ``rest``: the whole-cell resting state of a cell, and how well it holds.

The cell (a morphology with a recipe: the bundled pyramidal cell with the
mature preset unless told otherwise) is brought to its resting state by
:meth:`ionhomeo.cell.Cell.initialize`: membrane potential and every
concentration in every segment such that all net fluxes vanish, axial
current and diffusion included (``ionhomeo.steady.solve_cell``). The protocol
then rests for ``duration_s`` under CVODE and reports, per region, the
resting potential, concentrations, E_Cl and E_GABA, and the largest drift of
any segment. Expected: drift below 0.01 mV and 0.1 % (the solver leaves
rates below 1e-7 mV/ms and 1e-10 /ms, so drift over 10 s is of order 1e-3 mV
and 1e-6 at most).

Outputs: rest.csv (time course at the soma and region means), rest_profile.csv
(the resting state of every segment with its distance from the soma),
rest_summary.csv, rest.json (provenance: cell, morphology hash, recipe,
solver) and rest.png.
"""

from __future__ import annotations

import time

import numpy as np

from .common import finish, summary_dict, summary_table

NAME = "rest"
DESCRIPTION = ("whole-cell resting state of a cell (default: bundled pyramidal cell, mature "
               "preset): per-region table and the drift over the run")

REGIONS = ("soma", "basal", "apical", "axon", "terminal")
IONS = ("na", "k", "cl", "ca")


def _region_means(cell, state, region):
    """Volume-weighted mean concentrations and area-weighted mean v of a region at rest."""
    segs = cell.segments(region)
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


def run(out_dir=None, duration_s: float = 10.0, morphology="pyramidal", recipe="mature",
        progress=None):
    """Solve the resting state of ``morphology`` with ``recipe`` and rest ``duration_s``.

    progress: None, True (a progress line on stderr) or a callable, as in
    :func:`ionhomeo.simulate.run`.
    """
    start_clock = time.perf_counter()
    if not duration_s > 0:
        raise ValueError(f"duration_s must be > 0 s, got {duration_s!r}")
    from neuron import h

    from .. import build, defaults as _defaults, recording, results, simulate, thermo
    from ..cell import Cell

    build.load()
    h.load_file("stdrun.hoc")
    d = _defaults.apply()
    cell = Cell(morphology, recipe)
    try:
        t_solve = time.perf_counter()
        state = cell.initialize()
        t_solve = time.perf_counter() - t_solve
        rec = recording.Recorder(cell, dt_ms=duration_s * 1e3 / 200)  # 200 samples
        # a recipe need not have every ion: what is not there is not recorded, and said
        at_soma = [ion for ion in IONS if cell.soma_center.sec.has_membrane(f"{ion}_ion")]
        missing = [ion for ion in IONS if ion not in at_soma]
        for var in ["v"] + [f"{ion}i" for ion in at_soma]:
            rec.record(var, at=cell.soma_center)
        present = [r for r in REGIONS if cell.segments(r)]
        for region in present:
            if region != "soma":
                rec.record("v", region=region)
                if all(s.sec.has_membrane("cl_ion") for s in cell.segments(region)):
                    rec.record("cli", region=region)
        segs = state.segments
        v0 = np.array([s.v for s in segs])
        c0 = state.concentrations  # NaN where a segment does not own the ion
        h.finitialize()
        info = simulate.run(duration_s * 1e3, method="cvode", progress=progress)
        dv = float(np.abs(np.array([s.v for s in segs]) - v0).max())
        dc = {}
        for ion, c in c0.items():
            own = ~np.isnan(c)
            now = np.array([getattr(s, f"{ion}i") for s, o in zip(segs, own) if o])
            dc[ion] = float(np.abs(now / c[own] - 1).max())
        means = {r: _region_means(cell, state, r) for r in present}
        profile = _profile(h, cell, state)
        timecourse = rec.dataframe()
        meta_cell = cell.to_dict()
        rec.stop()
    finally:
        cell.destroy()
        cell = None

    clo, hco3i, hco3o = d.clo, d.hco3i, d.hco3o
    rows = []
    for region, m in means.items():
        rows.append((f"Vm {region}", m["v"], "mV", f"resting potential, mean over {m['n']} segment(s)"))
        for ion, label in (("na", "Nai"), ("k", "Ki"), ("cl", "Cli"), ("ca", "Cai")):
            if ion in m:
                scale, unit = (1e3, "uM") if ion == "ca" else (1.0, "mM")
                rows.append((f"{label} {region}", m[ion] * scale, unit, "resting concentration"))
        if "cl" in m:
            rows.append((f"E_GABA {region}", float(thermo.egaba(m["cl"], clo, hco3i, hco3o,
                                                                celsius=d.celsius)),
                         "mV", "GABA_A reversal (GHK, P_HCO3/P_Cl 0.2)"))
    rows += [
        ("drift_v", dv, "mV", f"largest |V change| of any segment over {duration_s:g} s"),
        *[(f"drift_{ion}", dc[ion], "1", f"largest relative {ion}i change of any segment")
          for ion in dc],
        ("residual_v", state.residual_v, "mV/ms", "check: largest dV/dt left by the solver"),
        ("residual_rel", state.residual_rel, "1/ms", "check: largest relative dc/dt left"),
        ("solver_steps", state.iterations, "1", "steps of the whole-cell steady-state solver"),
        ("segments", len(state.segments), "1", "segments (d_lambda rule)"),
        ("solve_time", t_solve, "s", "wall time of the steady-state solve"),
    ]
    summary = summary_table([(q, float(v), u, desc) for q, v, u, desc in rows])
    warnings = []
    if missing:
        warnings.append(f"the recipe gives the soma no {', '.join(missing)}: "
                        f"{', '.join(ion.capitalize() + 'i' for ion in missing)} not recorded")
    if dv >= 0.01 or max(dc.values()) >= 1e-3:
        warnings.append("drift above 0.01 mV or 0.1 %: the resting state did not hold")
    metadata = results.provenance(
        protocol=NAME, description=DESCRIPTION, cell=meta_cell, defaults=d.to_dict(),
        parameters={"duration_s": float(duration_s), "method": "cvode",
                    "run": info.to_dict()},
        solver={"residual_v_mV_per_ms": state.residual_v, "residual_rel_per_ms": state.residual_rel,
                "iterations": state.iterations},
        summary=summary_dict(summary),
        warnings=warnings,
    )
    return finish(out_dir, NAME, summary, metadata, start_clock, timecourse,
                  figure=lambda: _figure(profile, means, dv, dc, meta_cell, duration_s),
                  tables={"": timecourse, "profile": profile})


def _profile(h, cell, state):
    """The resting state of every segment: tidy table with distance from the soma."""
    import pandas as pd

    region_of = {}
    for region in ("terminal", "soma", "basal", "apical", "axon"):  # terminals first
        for s in cell.segments(region):
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


def _figure(profile, means, dv, dc, meta_cell, duration_s):
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 7.5))
    axes = fig.subplots(2, 2)
    colours = {"soma": "k", "basal": "tab:green", "apical": "tab:blue", "axon": "tab:red",
               "terminal": "tab:purple", "other": "tab:gray"}
    panels = [("v", "resting V (mV)", 1.0), ("cli", "Cl$_i$ (mM)", 1.0),
              ("nai", "Na$_i$ (mM)", 1.0), ("cai", "Ca$_i$ (nM)", 1e6)]
    for ax, (var, label, scale) in zip(axes.flat, panels):
        sub = profile[profile["variable"] == var]
        for region, part in sub.groupby("region"):
            ax.plot(part["distance_um"], part["value"] * scale, "o", ms=3,
                    color=colours.get(region, "tab:gray"), label=region)
        ax.set_xlabel("path distance from the soma (um)")
        ax.set_ylabel(label)
        ax.ticklabel_format(axis="y", useOffset=False)
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8, loc="best")
    morph = meta_cell["morphology"]["path"].split("/")[-1]
    fig.suptitle(f"Whole-cell rest: {morph}, recipe {meta_cell['recipe']['name']}, "
                 f"{meta_cell['nseg']} segments. Drift over {duration_s:g} s: "
                 f"{dv:.2g} mV, {max(dc.values()):.2g} relative", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig
