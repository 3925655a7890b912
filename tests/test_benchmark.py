"""benchmarks/bench.py runs and reports every workload as a ratio to its
baseline (the timings themselves are not tested: machines are noisy)."""

import importlib.util
import json
import math
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench.py"


def _module():
    spec = importlib.util.spec_from_file_location("ionhomeo_bench", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_quick_benchmark_reports_every_workload(h, tmp_path, capsys):
    bench = _module()
    out = tmp_path / "bench.json"
    assert bench.main(["--quick", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    meta = json.loads(out.read_text())
    rows = meta["rows"]
    assert len(rows) == len(bench.WORKLOADS)
    assert all(r["workload"].startswith(label) for r, (_, label) in zip(rows, bench.WORKLOADS))
    assert rows[0]["ratio_to_baseline"] == 1.0
    for r in rows:
        assert r["seconds"] > 0 and math.isfinite(r["ratio_to_baseline"])
        assert r["workload"] in printed
    # the stimulated runs fire, so the workloads are comparable
    assert all(r["spikes"] > 0 for r in rows if r["spikes"] is not None)
    # provenance: versions, the cell and the baseline's recipe
    assert meta["neuron_version"] and meta["cell"]["recipe"]["name"] == "mature"
    baseline = {rule["mechanism"] for rule in meta["baseline_recipe"]["rules"]}
    assert baseline <= set(bench.BASELINE_MECHANISMS) and "nav" in baseline
