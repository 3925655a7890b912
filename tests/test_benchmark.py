"""benchmarks/bench.py runs and reports every workload, CPU and wall time,
min and median, each ratio against its baseline under the same integrator
(the timings themselves are not tested: machines are noisy)."""

import importlib.util
import json
import math
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench.py"


def _module():
    spec = importlib.util.spec_from_file_location("ionhomeo_bench", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_quick_benchmark_reports_every_workload(h, tmp_path, capsys):
    bench = _module()
    out = tmp_path / "bench.json"
    assert bench.main(["--quick", "--scaling", "0.3,0.1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    meta = json.loads(out.read_text())
    rows = {(r["workload"], r["integrator"]): r for r in meta["rows"]}
    assert len(rows) == len(bench.ROWS)  # every workload, the rxd ones included
    for r in meta["rows"]:
        assert r["cpu_min_s"] > 0 and r["cpu_median_s"] >= r["cpu_min_s"]
        assert r["wall_min_s"] > 0 and r["wall_median_s"] >= r["wall_min_s"]
        assert r["workload"] in printed
    for key, integrator, label, base, _ in bench.ROWS:
        row = rows[label, integrator]
        if base is None:
            assert row["ratio_cpu_min"] is None
        else:
            # the baseline ran under the same integrator (the steady state: the
            # electrical model's fixed-step run, its only baseline)
            assert base[1] == integrator or key == ("steady", "newton")
            baseline = next(r for r in meta["rows"] if tuple(r["key"]) == base)
            if key in bench.WALL_RATIO:  # threads: the wall time is what they save
                assert row["ratio_basis"] == "wall"
                assert row["ratio_cpu_min"] == row["wall_min_s"] / baseline["wall_min_s"]
            else:
                assert row["ratio_cpu_min"] == row["cpu_min_s"] / baseline["cpu_min_s"]
            assert math.isfinite(row["ratio_cpu_median"])
    # the stimulated runs fire (comparable work), and spikes are compared where they must be
    for label in ("electrical (nav, kdr, leaks)", "hh+pas", "ionhomeo, full recipe",
                  "rxd-equivalent in rxd", "rxd-equivalent in ionhomeo"):
        for integrator in ("fixed", "cvode"):
            assert rows[label, integrator]["spikes"] > 0, (label, integrator)
    # ionhomeo's owners and rxd integrate the same equations: the same spikes
    for integrator in ("fixed", "cvode"):
        assert rows["rxd-equivalent in ionhomeo", integrator]["same_spikes"] is True
    # issue 12's targets are printed with what this run measured
    targets = [r for r in meta["rows"] if "target" in r]
    assert len(targets) == len(bench.TARGETS) == 7
    for r in targets:
        assert f"target: {r['workload']} ({r['integrator']}) at most " in printed
        value = r["ratio_cpu_min"] if r["target"]["of"] == "ratio" else r["cpu_min_s"]
        assert r["target"]["met"] == (value <= r["target"]["at_most"])
    # the steady state against segment count
    scale = meta["steady_state_scaling"]
    assert [s["d_lambda"] for s in scale] == [0.3, 0.1]
    assert scale[0]["segments"] < scale[1]["segments"] and all(s["cpu_s"] > 0 for s in scale)
    # provenance: versions, machine, the cells and every recipe compared
    assert meta["neuron_version"] and meta["machine"]["cpus"] >= 1
    assert meta["cells"]["ionhomeo"]["recipe"]["name"] == "mature"
    electrical = {rule["mechanism"] for rule in meta["recipes"]["electrical"]["rules"]}
    assert electrical <= set(bench.ELECTRICAL) and "nav" in electrical
    rxd_side = {rule["mechanism"] for rule in meta["recipes"]["rxd"]["rules"]}
    ours = {rule["mechanism"] for rule in meta["recipes"]["rxd ionhomeo"]["rules"]}
    assert ours - rxd_side == {"nadyn", "cabuf"}  # the only difference: who owns Na and Ca


def test_rxd_and_ionhomeo_integrate_the_same_equations(h, tmp_path):
    """The rxd-equivalent models are equivalent where their conventions agree:
    with axial diffusion off, the same spikes and the same Na and Ca in every
    cylindrical segment after a spike train, to 1e-7 relative (both advance
    the concentrations implicitly from the same currents). With diffusion, the two discretise the junction of the dendrite
    and axon with the middle of a 20 um soma differently (measured: somatic Na
    rise 10 % apart), so only the conservation-bound total is compared."""
    import subprocess
    import sys

    code = f"""
import json, math, sys
sys.path.insert(0, {str(BENCH.parent)!r})
import bench
from neuron import h
from ionhomeo import defaults, presets, solver
from ionhomeo.cell import Cell
defaults.apply(); h.load_file("stdrun.hoc")
which, diffusion = sys.argv[1], sys.argv[2] == "on"
if not diffusion:
    h.D_nadyn = h.D_cabuf = 0.0   # rxd's species take these coefficients too
# without the preset's axon-initial-segment rules: their 2,500 pS/um2 of Na channels
# in the tapered first axon segment make most of the spike's Na enter where the two
# volume conventions differ (cylinder against frusta, compared below), which
# raises the difference in total Na that the equations share (1.4e-6) to 4.6e-5
mature = presets.load("mature")
mature = mature.replace(rules=[r for r in mature.rules if str(r.region) != "ais"])
rec = bench.rxd_equivalent_recipe(mature, which == "ionhomeo")
cell = Cell("ball_and_stick", rec)
model = bench._Rxd(cell, h) if which == "rxd" else None
segs = [seg for sec in cell.all for seg in sec]
cpu, wall, spikes = bench._stimulated(h, cell, -70.0, "fixed", 50.0, 1.0, solver)
vol = [math.pi * s.diam ** 2 / 4 * s.sec.L / s.sec.nseg for s in segs]
print("RESULT " + json.dumps({{"spikes": spikes, "nai": [s.nai for s in segs],
                              "cai": [s.cai for s in segs],
                              "frustum_over_cylinder": [s.volume() / v for s, v in zip(segs, vol)],
                              "na_amol": sum(s.nai * v for s, v in zip(segs, vol))}}))
"""

    def run(which, diffusion):
        proc = subprocess.run([sys.executable, "-c", code, which, diffusion], capture_output=True,
                              text=True, timeout=300, cwd=tmp_path)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        assert proc.returncode == 0 and lines, proc.stdout[-2000:] + proc.stderr[-2000:]
        return json.loads(lines[-1][len("RESULT "):])

    ours, theirs = run("ionhomeo", "off"), run("rxd", "off")
    assert ours["spikes"] == theirs["spikes"] > 0
    nai0 = h.nai0_na_ion
    ratio = ours["frustum_over_cylinder"]
    same_volume = [abs(r - 1) < 1e-12 for r in ratio]
    assert sum(same_volume) >= 10 and not all(same_volume)
    # Na (Ca is compared in one compartment below: in this cell it differs by up
    # to 2e-3 in the first segments of the sections attached to the soma's
    # middle, the same at a quarter of the step, not yet explained)
    a, b = ours["nai"], theirs["nai"]
    assert max(abs(x - nai0) for x in b) > 1e-3 * nai0  # the spikes moved it
    for x, y, r, same in zip(a, b, ratio, same_volume):
        if same:
            # measured 2e-10 in soma and dendrite; 1.1e-8 in the axon, which
            # feels its tapered tips' different Na (below) through v
            assert abs(x - y) <= 1e-7 * abs(y)
        else:
            # tapered 3-D segments: ionhomeo keeps ions in the cylinder of the
            # segment's diameter, rxd in its frusta; the same ions (NEURON's
            # area in both) change the concentration by the volumes' ratio
            # (measured 1.003487 against 1.003543: the rest is the currents'
            # dependence on the concentration)
            assert (x - nai0) / (y - nai0) == pytest.approx(r, rel=1e-3)
    ours, theirs = run("ionhomeo", "on"), run("rxd", "on")
    assert ours["spikes"] == theirs["spikes"]
    # the Na that entered differs only through the currents' dependence on the
    # local Na (E_Na, GHK): measured 1.4e-6 of the total
    assert abs(ours["na_amol"] - theirs["na_amol"]) <= 1e-5 * theirs["na_amol"]


def test_rxd_and_cabuf_give_the_same_buffered_calcium(h, tmp_path):
    """One compartment with a Ca leak, the PMCA and a Ca pulse: cabuf and rxd's
    species with the same buffer reaction give the same Ca."""
    import subprocess
    import sys

    code = f"""
import sys
sys.path.insert(0, {str(BENCH.parent)!r})
import bench
from neuron import h
from ionhomeo import defaults, solver
defaults.apply(); h.load_file("stdrun.hoc")
which = sys.argv[1]
h.D_cabuf = 0
sec = h.Section(name="s"); sec.L = sec.diam = 2
for m in ("caleak", "pmca") + (("cabuf",) if which == "ionhomeo" else ()):
    sec.insert(m)
class Cell: all = [sec]
model = bench._Rxd(Cell, h) if which == "rxd" else None
inj = h.CaInject(sec(0.5)); inj.delay, inj.dur, inj.amp = 1, 1, 0.01
peak = h.Vector().record(sec(0.5)._ref_cai)
solver.use_fixed_step(0.025, secondorder=2)
h.finitialize(-70)
h.continuerun(5)
print("RESULT", peak.max(), sec(0.5).cai)
"""
    out = {}
    for which in ("ionhomeo", "rxd"):
        proc = subprocess.run([sys.executable, "-c", code, which], capture_output=True, text=True,
                              timeout=300, cwd=tmp_path)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        assert proc.returncode == 0 and lines, proc.stdout[-2000:] + proc.stderr[-2000:]
        out[which] = [float(x) for x in lines[-1].split()[1:]]
    assert out["rxd"][0] > 1.5 * h.cai0_ca_ion  # a real transient (from 100 nM)
    # the peak, at the pulse's end: measured 2.2e-4 apart, 14 times less at a
    # quarter of the step (the schemes take a current switched within a step at
    # different points of it); 3 ms later, 3.4e-7
    assert out["ionhomeo"][0] == pytest.approx(out["rxd"][0], rel=1e-3)
    assert out["ionhomeo"][1] == pytest.approx(out["rxd"][1], rel=1e-5)
