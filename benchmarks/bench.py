"""Speed of ionhomeo, as ratios to baselines timed in the same run.

    python benchmarks/bench.py                       # bundled pyramidal cell, mature preset
    python benchmarks/bench.py --morphology L5PC.swc --repeats 5 --out bench.json
    python benchmarks/bench.py --scaling 0.1,0.03,0.01   # steady state against segment count
    python benchmarks/bench.py --quick               # seconds; what the test suite runs

Machines are shared and noisy, so every time is CPU time of the process that
ran it (wall time is reported too), the minimum and the median of
``--repeats`` rounds; every ratio divides two CPU times measured in the same
round order under the same integrator. Every round runs every workload once,
in the same order, each cell built alone in NEURON and destroyed after.

Workloads (a somatic current step of ``--amp`` nA from 10 % to 90 % of
``--tstop`` ms; fixed step 25 us with Crank-Nicolson, or CVODE with
ionhomeo's tolerances, ``solver.use_cvode``):

electrical
    the recipe's spike channels and leaks only (nav, kdr, naleak, kleak,
    clleak at fixed concentrations): the baseline of every ionhomeo row.
hh+pas
    NEURON's hh in soma and axon, pas elsewhere, at hh's 6.3 degC: a
    reference most users know.
ionhomeo
    the full recipe (by default the mature preset), started at its solved
    steady state.
steady state
    ``Cell.initialize()``: the whole-cell resting state (ratio to the
    electrical fixed-step run).
quiet run
    ``--quiet-s`` seconds under CVODE from the default concentrations, not
    from rest, so the concentrations relax and CVODE has work to do; the
    baseline is the electrical model's CVODE run of the same length.
two cells, one and two threads
    two copies of the full model in one run, ``ParallelContext.nthread`` 1
    and 2, fixed step: the ratio is of wall times (threads share the work,
    not the CPU time).
rxd-equivalent, ionhomeo and rxd
    the electrical model plus Na and Ca concentrations with axial diffusion,
    one immobile Ca buffer, a Ca leak and the PMCA; ionhomeo's owners (nadyn,
    cabuf) against NEURON's rxd (species na, ca, buffer, a reaction), the
    membrane mechanisms identical. rxd runs in its own process each round
    (interleaved with ionhomeo's); its set-up (the first finitialize) is
    excluded from the time and reported.

Spikes (somatic, threshold -10 mV) are counted in every stimulated run; the
table says where two compared runs did not fire the same number.

With ``--out`` the table and its provenance (versions, machine, cell,
recipes) are written as JSON, atomically.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

#: the recipe's mechanisms kept in the electrical baseline (no concentration changes)
ELECTRICAL = ("nav", "kdr", "naleak", "kleak", "clleak")
#: the rxd-equivalent model's membrane mechanisms beyond the electrical ones
RXD_MEMBRANE = ("caleak", "pmca")
DT_MS = 0.025
SPIKE_THRESHOLD_MV = -10.0


# --------------------------------------------------------------------------- models

def electrical_recipe(recipe):
    """The recipe's rules for ELECTRICAL only (same regions and values)."""
    rules = [r for r in recipe.rules if r.mechanism in ELECTRICAL]
    return recipe.replace(name=f"{recipe.name}-electrical", rules=rules, globals={},
                          description="baseline: spike channels and leaks at fixed "
                                      "concentrations")


def rxd_equivalent_recipe(recipe, with_owners: bool):
    """Electrical + Ca leak + PMCA everywhere; with ionhomeo's Na and Ca owners
    (nadyn, cabuf with its default immobile buffer) or without (for rxd)."""
    rec = electrical_recipe(recipe)
    for mech in RXD_MEMBRANE + (("nadyn", "cabuf") if with_owners else ()):
        rec = rec.add("all", mech)
    return rec.replace(name=f"{recipe.name}-rxd-equivalent-{'ionhomeo' if with_owners else 'rxd'}")


def _to_hh_pas(cell):
    """Replace every mechanism of an electrical cell by hh (soma, axon) or pas."""
    keep = {sec.name() for sec in cell.sections_by_type.get("soma", [])}
    keep |= {sec.name() for sec in cell.sections_by_type.get("axon", [])}
    for sec in cell.all:
        for mech in ELECTRICAL:
            if sec.has_membrane(mech):
                sec.uninsert(mech)
        sec.insert("hh" if sec.name() in keep else "pas")
        if sec.name() not in keep:
            for seg in sec:
                seg.pas.g, seg.pas.e = 1e-4, -70.0


class _Rxd:
    """rxd's Na and Ca with one immobile buffer, matching nadyn and cabuf."""

    def __init__(self, cell, h):
        from neuron import rxd

        d_na, d_ca, konb = h.D_nadyn, h.D_cabuf, h.konb_cabuf
        btot, kdb = 1.0, 0.01  # cabuf's defaults (mM)
        cai0 = h.cai0_ca_ion
        self.region = rxd.Region(list(cell.all), nrn_region="i")
        self.na = rxd.Species(self.region, d=d_na, name="na", charge=1, initial=h.nai0_na_ion)
        self.ca = rxd.Species(self.region, d=d_ca, name="ca", charge=2, initial=cai0)
        self.b = rxd.Species(self.region, d=0, name="b", initial=btot * kdb / (kdb + cai0))
        self.cab = rxd.Species(self.region, d=0, name="cab", initial=btot - btot * kdb / (kdb + cai0))
        self.binding = rxd.Reaction(self.ca + self.b, self.cab, konb, konb * kdb)


# --------------------------------------------------------------------------- timing

def _clock(fn):
    """(cpu s, wall s, value) of one call."""
    c0, w0 = time.process_time(), time.perf_counter()
    value = fn()
    return time.process_time() - c0, time.perf_counter() - w0, value


def _stimulated(h, cell, v0, method, tstop_ms, amp_nA, solver):
    """(cpu, wall, spikes) of one stimulated run of ``cell`` from v0."""
    stim = h.IClamp(cell.soma_center)
    stim.delay, stim.dur, stim.amp = 0.1 * tstop_ms, 0.8 * tstop_ms, amp_nA
    apc = h.APCount(cell.soma_center)
    apc.thresh = SPIKE_THRESHOLD_MV
    try:
        if method == "cvode":
            solver.use_cvode()
        else:
            solver.use_fixed_step(DT_MS, secondorder=2)
        h.finitialize(v0)
        cpu, wall, _ = _clock(lambda: h.continuerun(tstop_ms))
        return cpu, wall, int(apc.n)
    finally:
        solver.use_cvode(False)
        del stim, apc


def _round(morphology, recipes, tstop_ms, quiet_s, amp_nA, rxd) -> dict:
    """{workload key: (cpu, wall, spikes)} for one round."""
    from neuron import h

    from ionhomeo import solver
    from ionhomeo.cell import Cell

    out = {}

    def each(key, recipe, v0, start=None, convert=None, celsius=None):
        cell = Cell(morphology, recipe)
        saved = h.celsius
        try:
            if convert:
                convert(cell)
            if celsius is not None:
                h.celsius = celsius
            if start:
                v0 = start(cell)
            for method in ("fixed", "cvode"):
                out[key, method] = _stimulated(h, cell, v0, method, tstop_ms, amp_nA, solver)
            return cell.to_dict()
        finally:
            h.celsius = saved
            cell.destroy()

    info = {}
    info["electrical"] = each("electrical", recipes["electrical"], -70.0)
    # hh's rates are Hodgkin and Huxley's, at 6.3 degC (at 37 degC it barely fires)
    each("hh+pas", recipes["electrical"], -65.0, convert=_to_hh_pas, celsius=6.3)

    def steady(cell):
        cpu, wall, state = _clock(cell.initialize)
        out["steady", "newton"] = (cpu, wall, None)
        return float(state.v[0])

    info["ionhomeo"] = each("ionhomeo", recipes["full"], None, start=steady)

    # quiet runs under CVODE: the full model from the default start, the electrical one alike
    for key, recipe in (("quiet", recipes["full"]), ("quiet electrical", recipes["electrical"])):
        cell = Cell(morphology, recipe)
        try:
            solver.use_cvode()
            h.finitialize(-70.0)
            cpu, wall, _ = _clock(lambda: h.continuerun(quiet_s * 1e3))
            out[key, "cvode"] = (cpu, wall, None)
        finally:
            solver.use_cvode(False)
            cell.destroy()

    # two cells in one run, one thread and then two (ParallelContext.nthread)
    pc = h.ParallelContext()
    cells = [Cell(morphology, recipes["full"]) for _ in range(2)]
    stims = []
    try:
        for cell in cells:
            stim = h.IClamp(cell.soma_center)
            stim.delay, stim.dur, stim.amp = 0.1 * tstop_ms, 0.8 * tstop_ms, amp_nA
            stims.append(stim)
        solver.use_fixed_step(DT_MS, secondorder=2)
        for threads in (1, 2):
            pc.nthread(threads)
            h.finitialize(-70.0)
            cpu, wall, _ = _clock(lambda: h.continuerun(tstop_ms))
            out[f"2 cells, {threads} thread{'s' if threads > 1 else ''}", "fixed"] = (cpu, wall, None)
    finally:
        pc.nthread(1)
        del stims
        for cell in cells:
            cell.destroy()

    if rxd:
        info["rxd-equivalent"] = each("rxd-equivalent ionhomeo", recipes["rxd ionhomeo"], -70.0)
        child = _rxd_child(morphology, recipes["rxd"], tstop_ms, amp_nA)
        for method in ("fixed", "cvode"):
            out["rxd-equivalent rxd", method] = tuple(child[method])
        out["rxd set-up", "first finitialize"] = (child["setup_cpu"], child["setup_wall"], None)
    out["_info"] = info
    return out


def _rxd_child(morphology, recipe, tstop_ms, amp_nA) -> dict:
    """Run the rxd model in a fresh process (rxd and ionhomeo's owners never share one)."""
    job = {"morphology": str(morphology), "recipe": recipe.to_dict(), "tstop_ms": tstop_ms,
           "amp_nA": amp_nA}
    proc = subprocess.run([sys.executable, __file__, "--rxd-child", json.dumps(job)],
                          capture_output=True, text=True, timeout=3600)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RXD-RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError("the rxd model failed in its own process:\n"
                           + (proc.stdout + proc.stderr)[-3000:])
    return json.loads(lines[-1][len("RXD-RESULT "):])


def rxd_child_main(job_json: str) -> int:
    """Build the rxd-equivalent cell, time its set-up and both integrators."""
    from neuron import h

    from ionhomeo import defaults, recipe as recipe_mod, solver
    from ionhomeo.cell import Cell

    job = json.loads(job_json)
    defaults.apply()
    h.load_file("stdrun.hoc")
    cell = Cell(job["morphology"], recipe_mod.Recipe.from_dict(job["recipe"]))
    model = _Rxd(cell, h)
    setup_cpu, setup_wall, _ = _clock(lambda: h.finitialize(-70.0))
    result = {"setup_cpu": setup_cpu, "setup_wall": setup_wall}
    for method in ("fixed", "cvode"):
        result[method] = _stimulated(h, cell, -70.0, method, job["tstop_ms"], job["amp_nA"],
                                     solver)
    print("RXD-RESULT " + json.dumps(result), flush=True)
    del model
    return 0


# --------------------------------------------------------------------------- table

#: (row key, integrator, label, baseline key or None, compare spikes with the baseline)
ROWS = tuple(
    row for integ in ("fixed", "cvode") for row in (
        (("electrical", integ), integ, "electrical (nav, kdr, leaks)", None, False),
        (("hh+pas", integ), integ, "hh+pas", ("electrical", integ), False),
        (("ionhomeo", integ), integ, "ionhomeo, full recipe", ("electrical", integ), True),
        (("ionhomeo", integ), integ, "ionhomeo, full recipe / hh+pas", ("hh+pas", integ), False),
    )
) + (
    (("steady", "newton"), "newton", "ionhomeo, whole-cell steady state",
     ("electrical", "fixed"), False),
    (("quiet electrical", "cvode"), "cvode", "electrical, quiet run", None, False),
    (("quiet", "cvode"), "cvode", "ionhomeo, quiet run from the defaults",
     ("quiet electrical", "cvode"), False),
) + tuple(
    row for integ in ("fixed", "cvode") for row in (
        (("rxd-equivalent rxd", integ), integ, "rxd-equivalent in rxd", None, False),
        (("rxd-equivalent ionhomeo", integ), integ, "rxd-equivalent in ionhomeo",
         ("rxd-equivalent rxd", integ), True),
    )
) + (
    (("rxd set-up", "first finitialize"), "-", "rxd set-up (excluded above)", None, False),
    (("2 cells, 1 thread", "fixed"), "fixed", "ionhomeo, 2 cells, 1 thread", None, False),
    (("2 cells, 2 threads", "fixed"), "fixed", "ionhomeo, 2 cells, 2 threads (wall time)",
     ("2 cells, 1 thread", "fixed"), False),
)
#: the speed targets (issue 12), by (row key, baseline key): ("ratio" or "cpu_s", at most)
TARGETS = {
    **{(("ionhomeo", i), ("electrical", i)): ("ratio", 2.5) for i in ("fixed", "cvode")},
    **{(("ionhomeo", i), ("hh+pas", i)): ("ratio", 5.0) for i in ("fixed", "cvode")},
    **{(("rxd-equivalent ionhomeo", i), ("rxd-equivalent rxd", i)): ("ratio", 1 / 3)
       for i in ("fixed", "cvode")},
    (("steady", "newton"), ("electrical", "fixed")): ("cpu_s", 5.0),
}
#: rows whose ratio is of wall times: threads share the CPU time, not the wall time
WALL_RATIO = {("2 cells, 2 threads", "fixed")}


def _rows(rounds, tstop_ms, quiet_s):
    """Table rows from the rounds: CPU and wall min and median, ratios of CPU times."""
    def stats(key, i):
        values = [r[key][i] for r in rounds]
        return min(values), statistics.median(values)

    rows = []
    for key, integrator, label, base, compare in ROWS:
        if key not in rounds[0]:
            continue
        cpu_min, cpu_med = stats(key, 0)
        wall_min, wall_med = stats(key, 1)
        spikes = sorted({r[key][2] for r in rounds}, key=lambda n: -1 if n is None else n)
        row = {"workload": label, "integrator": integrator, "key": list(key),
               "cpu_min_s": cpu_min, "cpu_median_s": cpu_med,
               "wall_min_s": wall_min, "wall_median_s": wall_med,
               "spikes": spikes[0] if len(spikes) == 1 else spikes,
               "baseline": None, "ratio_cpu_min": None, "ratio_cpu_median": None,
               "same_spikes": None}
        if base is not None:
            basis = 1 if key in WALL_RATIO else 0
            b_min, b_med = stats(base, basis)
            mine = (wall_min, wall_med) if basis else (cpu_min, cpu_med)
            row.update(baseline=" ".join(base), ratio_basis="wall" if basis else "cpu",
                       ratio_cpu_min=mine[0] / b_min, ratio_cpu_median=mine[1] / b_med)
            if compare:
                row["same_spikes"] = all(r[key][2] == r[base][2] for r in rounds)
                row["baseline_spikes"] = rounds[0][base][2]
        target = TARGETS.get((key, base))
        if target is not None:
            what, limit = target
            value = row["ratio_cpu_min"] if what == "ratio" else cpu_min
            row["target"] = {"of": what, "at_most": limit, "met": bool(value <= limit)}
        rows.append(row)
    return rows


def format_table(rows) -> str:
    lines = [f"{'workload':<42} {'integ.':>6} {'CPU min':>8} {'median':>8} {'wall min':>8} "
             f"{'x base (min/med)':>17} {'spikes':>7}"]
    for r in rows:
        ratio = ("" if r["ratio_cpu_min"] is None
                 else f"{r['ratio_cpu_min']:.3g} / {r['ratio_cpu_median']:.3g}")
        spikes = "" if r["spikes"] is None else str(r["spikes"])
        lines.append(f"{r['workload']:<42} {r['integrator']:>6} {r['cpu_min_s']:>8.3g} "
                     f"{r['cpu_median_s']:>8.3g} {r['wall_min_s']:>8.3g} {ratio:>17} {spikes:>7}")
    for r in rows:
        if "target" in r:
            t = r["target"]
            value = (f"{r['ratio_cpu_min']:.3g}x" if t["of"] == "ratio"
                     else f"{r['cpu_min_s']:.3g} s CPU")
            limit = f"{t['at_most']:.3g}x" if t["of"] == "ratio" else f"{t['at_most']:.3g} s CPU"
            lines.append(f"target: {r['workload']} ({r['integrator']}) at most {limit}: {value}, "
                         f"{'met' if t['met'] else 'NOT met'}")
    notes = [f"note: {r['workload']} ({r['integrator']}) fired {r['spikes']} spikes, its baseline "
             f"{r['baseline_spikes']}: the compared runs differ in firing"
             for r in rows if r.get("same_spikes") is False]
    return "\n".join(lines + notes)


def scaling(morphology, recipe, d_lambdas) -> list:
    """Whole-cell steady state CPU time against segment count (finer d_lambda)."""
    from ionhomeo.cell import Cell

    out = []
    for d in d_lambdas:
        cell = Cell(morphology, recipe, d_lambda=d)
        try:
            nseg = sum(sec.nseg for sec in cell.all)
            cpu, wall, state = _clock(cell.initialize)
            out.append({"d_lambda": d, "segments": nseg, "cpu_s": cpu, "wall_s": wall,
                        "iterations": state.iterations})
        finally:
            cell.destroy()
    return out


def run(morphology="pyramidal", recipe="mature", tstop_ms=200.0, quiet_s=10.0, repeats=3,
        amp_nA=1.0, rxd=True, scaling_d_lambda=(), progress=print) -> dict:
    """Time the workloads (module docstring); returns the provenance with "rows"."""
    from neuron import h

    from ionhomeo import defaults, recipe as recipe_mod, results

    defaults.apply()
    h.load_file("stdrun.hoc")
    full = recipe_mod.resolve(recipe)
    recipes = {"full": full, "electrical": electrical_recipe(full),
               "rxd ionhomeo": rxd_equivalent_recipe(full, True),
               "rxd": rxd_equivalent_recipe(full, False)}
    rounds, info = [], {}
    for i in range(repeats):
        got = _round(morphology, recipes, tstop_ms, quiet_s, amp_nA, rxd)
        info = got.pop("_info")
        rounds.append(got)
        if progress:
            progress(f"  round {i + 1} of {repeats}: " + ", ".join(
                f"{' '.join(k)} {v[0]:.3g} s" for k, v in got.items()))
    rows = _rows(rounds, tstop_ms, quiet_s)
    scale = scaling(morphology, full, scaling_d_lambda) if scaling_d_lambda else []
    meta = results.provenance(
        benchmark="benchmarks/bench.py", morphology=str(morphology), tstop_ms=tstop_ms,
        quiet_s=quiet_s, repeats=repeats, amp_nA=amp_nA, dt_ms=DT_MS, cells=info,
        recipes={k: r.to_dict() for k, r in recipes.items()},
        machine={"platform": platform.platform(), "processor": platform.processor(),
                 "cpus": os.cpu_count()},
        note="CPU times of the process that ran each workload; min and median of `repeats` "
             "interleaved rounds; ratios divide CPU times under the same integrator")
    meta["rows"] = rows
    meta["rounds"] = [{" ".join(k): v for k, v in r.items()} for r in rounds]
    meta["steady_state_scaling"] = scale
    return meta


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--rxd-child"]:
        return rxd_child_main(argv[1])
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--morphology", default=None, help="SWC/ASC file or bundled name "
                                                      "(default: pyramidal; --quick: ball_and_stick)")
    p.add_argument("--recipe", default="mature", help="preset name or recipe TOML file")
    p.add_argument("--tstop", type=float, default=None, metavar="MS",
                   help="stimulated run length (default 200 ms; --quick 20)")
    p.add_argument("--quiet-s", type=float, default=None, metavar="S",
                   help="quiet run length (default 10 s; --quick 0.5)")
    p.add_argument("--repeats", type=int, default=None, help="rounds (default 3; --quick 1)")
    p.add_argument("--amp", type=float, default=1.0, metavar="NA", help="somatic current step")
    p.add_argument("--no-rxd", action="store_true", help="leave out the rxd comparison")
    p.add_argument("--scaling", default="", metavar="D1,D2,...",
                   help="also time the steady state at these d_lambda values (segment count)")
    p.add_argument("--out", default=None, metavar="FILE.json", help="write the table as JSON")
    p.add_argument("--quick", action="store_true", help="small cell, short runs, one round")
    a = p.parse_args(argv)
    quick = a.quick
    morphology = a.morphology or ("ball_and_stick" if quick else "pyramidal")
    tstop = a.tstop or (20.0 if quick else 200.0)
    quiet_s = a.quiet_s or (0.5 if quick else 10.0)
    repeats = a.repeats or (1 if quick else 3)
    try:
        d_lambdas = tuple(float(x) for x in a.scaling.split(",") if x.strip())
    except ValueError:
        p.error(f"--scaling takes d_lambda values separated by commas, got {a.scaling!r}")
    if repeats < 1 or tstop <= 0 or quiet_s <= 0 or any(d <= 0 for d in d_lambdas):
        p.error("--repeats, --tstop, --quiet-s and --scaling values must be positive")
    print(f"ionhomeo benchmark: {morphology}, recipe {a.recipe}, {tstop:g} ms at {a.amp:g} nA, "
          f"{quiet_s:g} s quiet, {repeats} round(s){'' if not a.no_rxd else ', no rxd'}")
    meta = run(morphology, a.recipe, tstop, quiet_s, repeats, a.amp, rxd=not a.no_rxd,
               scaling_d_lambda=d_lambdas)
    print(format_table(meta["rows"]))
    for s in meta["steady_state_scaling"]:
        print(f"steady state, {s['segments']} segments (d_lambda {s['d_lambda']:g}): "
              f"{s['cpu_s']:.3g} s CPU, {s['iterations']} iterations")
    if a.out:
        from ionhomeo import results

        print(f"written: {results.write_json(meta, a.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
