"""Speed of ionhomeo, as ratios to a baseline timed in the same process.

    python benchmarks/bench.py                  # bundled pyramidal cell, mature preset
    python benchmarks/bench.py --morphology FILE --repeats 5 --out bench.json
    python benchmarks/bench.py --quick          # seconds; what the test suite runs

Machines are noisy, so absolute times mean little from one run to the next;
every workload is therefore also given as a ratio to a baseline run in the
same process, interleaved with it, each the fastest of ``--repeats`` runs:

baseline
    the same cell (morphology, discretisation, cable) with only the electrical
    part of the mature preset: its spike channels (nav, kdr) and GHK leaks at
    fixed concentrations; no concentration dynamics, pumps, transporters,
    buffers or Ca system. Fixed step 25 us, Crank-Nicolson, a current step
    at the soma.

The workloads, each with the full mature preset:

fixed step
    the same stimulus and integration as the baseline: what the ion
    homeostasis costs per simulated ms.
cvode
    the same under CVODE with ionhomeo's tolerances (``solver.use_cvode``).
steady state
    ``Cell.initialize()``: the whole-cell resting state, solved.
rest under cvode
    ``--rest-s`` seconds at rest under CVODE (slow concentration dynamics:
    where variable steps pay).

It prints a table (workload, seconds, ratio to the baseline, spikes) and,
with ``--out``, writes it with its provenance (versions, machine, cell,
recipe) as JSON, atomically.
"""

from __future__ import annotations

import argparse
import sys
import time

#: the mature preset's mechanisms kept in the baseline (no concentration in it changes)
BASELINE_MECHANISMS = ("nav", "kdr", "naleak", "kleak", "clleak")
DT_MS = 0.025


def _baseline_recipe(recipe):
    """The recipe's rules for BASELINE_MECHANISMS only (same regions and values)."""
    rules = [r for r in recipe.rules if r.mechanism in BASELINE_MECHANISMS]
    return recipe.replace(name=f"{recipe.name}-electrical-only", rules=rules,
                          description="baseline: spike channels and leaks at fixed "
                                      "concentrations")


def _clock(fn):
    """(wall time in s, return value) of one call."""
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def _one_round(morphology, recipe, baseline, tstop_ms, rest_s, amp_nA) -> dict:
    """{workload: (seconds, spikes)} for one round: each cell built alone in
    NEURON (so each run integrates that cell only), timed, destroyed."""
    from neuron import h

    from ionhomeo import solver
    from ionhomeo.cell import Cell

    def stimulated(cell, v0, method):
        stim = h.IClamp(cell.soma_center)
        stim.delay, stim.dur, stim.amp = 0.2 * tstop_ms, 0.6 * tstop_ms, amp_nA
        apc = h.APCount(cell.soma_center)
        apc.thresh = -10.0
        if method == "cvode":
            solver.use_cvode()
        else:
            solver.use_fixed_step(DT_MS, secondorder=2)
        h.finitialize(v0)
        seconds, _ = _clock(lambda: h.CVode().solve(tstop_ms) if method == "cvode"
                            else h.continuerun(tstop_ms))
        return seconds, int(apc.n)

    out = {}
    cell = Cell(morphology, baseline)
    try:
        out["baseline"] = stimulated(cell, -70.0, "fixed")
    finally:
        cell.destroy()
    cell = Cell(morphology, recipe)
    try:
        seconds, state = _clock(cell.initialize)
        out["steady"] = (seconds, None)
        v0 = float(state.v[0])
        out["fixed"] = stimulated(cell, v0, "fixed")
        out["cvode"] = stimulated(cell, v0, "cvode")
        solver.use_cvode()
        h.finitialize(v0)
        out["rest"] = (_clock(lambda: h.CVode().solve(rest_s * 1e3))[0], None)
        out["cell"] = cell.to_dict()
    finally:
        cell.destroy()
        solver.use_cvode(False)
    return out


WORKLOADS = (("baseline", "baseline (electrical only), fixed step"),
             ("fixed", "ionhomeo, fixed step"),
             ("cvode", "ionhomeo, cvode"),
             ("steady", "ionhomeo, whole-cell steady state"),
             ("rest", "ionhomeo, rest under cvode"))


def run(morphology="pyramidal", recipe="mature", tstop_ms=500.0, rest_s=10.0, repeats=3,
        amp_nA=0.5, progress=print) -> dict:
    """Time the workloads (module docstring); returns the provenance with "rows"."""
    from neuron import h

    from ionhomeo import defaults, recipe as recipe_mod, results

    defaults.apply()
    h.load_file("stdrun.hoc")
    full = recipe_mod.resolve(recipe)
    baseline = _baseline_recipe(full)
    best, spikes, cell = {}, {}, None
    for i in range(repeats):
        got = _one_round(morphology, full, baseline, tstop_ms, rest_s, amp_nA)
        cell = got.pop("cell")
        for key, (seconds, n) in got.items():
            best[key] = min(best.get(key, float("inf")), seconds)
            spikes[key] = n
        if progress:
            progress(f"  round {i + 1} of {repeats}: "
                     + ", ".join(f"{k} {v[0]:.3g} s" for k, v in got.items()))
    rows = [{"workload": label + (f" ({rest_s:g} s)" if key == "rest" else
                                  f" ({tstop_ms:g} ms)" if key != "steady" else ""),
             "seconds": best[key], "ratio_to_baseline": best[key] / best["baseline"],
             "spikes": spikes[key]} for key, label in WORKLOADS]
    meta = results.provenance(
        benchmark="benchmarks/bench.py", morphology=str(morphology), tstop_ms=tstop_ms,
        rest_s=rest_s, repeats=repeats, amp_nA=amp_nA, dt_ms=DT_MS, cell=cell,
        baseline_recipe=baseline.to_dict(),
        note="each time is the fastest of `repeats` rounds; in every round each cell is built "
             "alone, the baseline first")
    meta["rows"] = rows
    return meta


def format_table(rows) -> str:
    lines = [f"{'workload':<50} {'seconds':>9} {'x baseline':>11} {'spikes':>7}"]
    for r in rows:
        spikes = "" if r["spikes"] is None else str(r["spikes"])
        lines.append(f"{r['workload']:<50} {r['seconds']:>9.3g} {r['ratio_to_baseline']:>11.3g} "
                     f"{spikes:>7}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--morphology", default=None, help="SWC/ASC file or bundled name "
                                                      "(default: pyramidal; --quick: ball_and_stick)")
    p.add_argument("--recipe", default="mature", help="preset name or recipe TOML file")
    p.add_argument("--tstop", type=float, default=None, metavar="MS",
                   help="stimulated run length (default 500 ms; --quick 50)")
    p.add_argument("--rest-s", type=float, default=None, metavar="S",
                   help="rest run length (default 10 s; --quick 1)")
    p.add_argument("--repeats", type=int, default=None, help="runs per workload (default 3)")
    p.add_argument("--amp", type=float, default=0.5, metavar="NA", help="somatic current step")
    p.add_argument("--out", default=None, metavar="FILE.json", help="write the table as JSON")
    p.add_argument("--quick", action="store_true", help="small cell, short runs, one repeat")
    a = p.parse_args(argv)
    quick = a.quick
    morphology = a.morphology or ("ball_and_stick" if quick else "pyramidal")
    tstop = a.tstop or (50.0 if quick else 500.0)
    rest_s = a.rest_s or (1.0 if quick else 10.0)
    repeats = a.repeats or (1 if quick else 3)
    if repeats < 1 or tstop <= 0 or rest_s <= 0:
        p.error("--repeats, --tstop and --rest-s must be positive")
    print(f"ionhomeo benchmark: {morphology}, recipe {a.recipe}, {tstop:g} ms stimulated, "
          f"{rest_s:g} s rest, fastest of {repeats}")
    meta = run(morphology, a.recipe, tstop, rest_s, repeats, a.amp)
    print(format_table(meta["rows"]))
    if a.out:
        from ionhomeo import results

        print(f"written: {results.write_json(meta, a.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
