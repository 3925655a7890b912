"""ionhomeo sweep: spec validation, deterministic points, identical results in
this process, in worker processes and on 2 MPI ranks, failing points
recorded, and a killed sweep resumed with every point run exactly once.

The sweeps run the spike-train protocol on its own 20 um soma, shortened
(about 1 s of computing a point), through the command line as a user runs
them. Nothing here depends on how long anything takes.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from ionhomeo import mpi, sweep

REPO = Path(__file__).resolve().parents[1]
MPIEXEC = Path(sys.executable).parent / "mpiexec"

#: a cheap spike-train: a 0.1 s train after 50 ms, 2 s of recovery
SHORT = {"duration_s": "2.2 s", "train_start_s": "50 ms", "train_s": 0.1}

#: a recipe that fails on the protocol's soma when applied (no apical dendrite)
BAD_RECIPE = """name = "needs-apical"
[[rules]]
region = "all"
mechanism = "nakpump"
[[rules]]
region = "apical"
mechanism = "kcc2"
"""


def spec_text(extra: str = "", **top) -> str:
    lines = ['protocol = "spike-train"'] + [f"{k} = {json.dumps(v)}" for k, v in top.items()]
    lines += ["[options]"] + [f"{k} = {json.dumps(v)}" for k, v in SHORT.items()]
    return "\n".join(lines) + "\n" + extra


def cli(*args, cwd, mpiexec_ranks=None, wait=True, timeout=600):
    env = dict(os.environ, MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    for var in mpi.SIZE_VARIABLES + mpi.RANK_VARIABLES:
        env.pop(var, None)  # the tests' own launcher decides
    cmd = [sys.executable, "-m", "ionhomeo", "sweep", *map(str, args)]
    if mpiexec_ranks:
        cmd = [str(MPIEXEC), "-n", str(mpiexec_ranks)] + cmd
    if not wait:
        return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def comparable(out: Path) -> pd.DataFrame:
    """The results table without the columns that differ from run to run (and
    with the addresses of NEURON objects named in error texts masked)."""
    df = pd.read_csv(out / "results.csv", keep_default_na=False, na_values=[""])
    error = df["error"].astype(object).fillna("").astype(str)
    df["error"] = error.str.replace(r"_[0-9a-f]{9,16}\b", "_<address>", regex=True)
    return df.drop(columns=list(sweep.TABLE_RUN_COLUMNS))


# --------------------------------------------------------------------------- the spec


def parse(text: str, base="."):
    return sweep.parse(sweep.tomllib.loads(text), base=base, source="spec.toml")


@pytest.mark.parametrize("extra, top, message", [
    ("", {"protocl": "x"}, "unknown key 'protocl' at the top level. Did you mean 'protocol'?"),
    ("[[vary]]\noption = \"pulse_nA\"\nvalues = [\"1 mV\"]\n", {},
     "pulse_nA is in nA; 'mV' is not a unit of that kind"),
    ("[[vary]]\noption = \"pulse_amp\"\nvalues = [1]\n", {},
     "spike-train has no option 'pulse_amp'"),
    ("[[vary]]\nparameter = \"nakpump.imx\"\nvalues = [1]\n", {},
     "nakpump has no parameter 'imx'. Did you mean 'imax'?"),
    ("[[vary]]\nparameter = \"nakpump.imax\"\nvalues = [\"5000 mA/cm2\"]\n", {},
     "outside its allowed range"),
    ("[[vary]]\nparameter = \"kcc2.imax\"\nregion = \"soma &\"\nvalues = [1e-3]\n", {},
     "region 'soma &'"),
    ("[[vary]]\noption = \"pulse_nA\"\nlow = 0.5\nhigh = 1.0\n", {"seed": 1},
     "add [sample] with method"),
    ("[[vary]]\noption = \"pulse_nA\"\nlow = 0.5\nhigh = 1.0\n[sample]\nmethod = \"lhs\"\nn = 3\n",
     {}, "sampling needs seed"),
    ("[[vary]]\noption = \"pulse_nA\"\nlow = 0.5\nhigh = 1.0\n[sample]\nmethod = \"sobol\"\n"
     "n = 3\n", {"seed": 1}, "method must be one of random, lhs"),
    ("[[vary]]\noption = \"pulse_nA\"\nvalues = [1]\nstart = 1\n", {},
     "give exactly one of values"),
    ("[[vary]]\noption = \"pulse_nA\"\nstart = 1\nstop = 2\nnum = 1\n", {},
     "num must be a whole number >= 2"),
    ("[[vary]]\noption = \"train_s\"\nvalues = [1]\n", {},
     "option train_s is both in [options] and varied"),
    ("[[vary]]\noption = \"morphology\"\nvalues = [\"x\"]\n", {}, "use morphologies"),
    ("", {"recipes": ["no-such-preset"]}, "is neither a preset nor a file"),
    ("[[vary]]\nparameter = \"cadyn.kappab\"\nvalues = [10]\n", {},
     "does not place cadyn"),
    ("[[vary]]\noption = \"train_hz\"\nvalues = [10, 20]\n", {"name": ""},
     "name must be a non-empty string"),
])
def test_a_bad_spec_is_refused_naming_the_problem(extra, top, message):
    with pytest.raises(sweep.SweepError) as err:
        parse(spec_text(extra, **top))
    assert message in str(err.value), str(err.value)


def test_options_the_protocol_refuses_are_refused_before_running():
    """A spec whose point the protocol's own checks refuse (the train would end
    after the run) names the point."""
    text = ('protocol = "spike-train"\n[options]\nduration_s = 5.5\n'
            '[[vary]]\noption = "train_start_s"\nvalues = ["50 ms", "3 s"]\n')
    with pytest.raises(sweep.SweepError, match=r"point 0001 \(train_start_s=3\): .*too short"):
        parse(text)


def test_a_bad_spec_file_is_an_error_without_a_traceback(tmp_path):
    (tmp_path / "s.toml").write_text(spec_text("[[vary]]\noption = \"pulse_nA\"\n"
                                               "values = [\"1 mV\"]\n"))
    proc = cli("s.toml", cwd=tmp_path)
    assert proc.returncode == 2
    assert "ionhomeo sweep: error: " in proc.stderr and "Traceback" not in proc.stderr
    (tmp_path / "t.toml").write_text("protocol = [")
    proc = cli("t.toml", cwd=tmp_path)
    assert proc.returncode == 2 and "is not valid TOML" in proc.stderr, proc.stderr


def test_points_are_the_product_in_order_with_units_converted():
    spec = parse(spec_text(
        "[[vary]]\nparameter = \"nakpump.imax\"\nvalues = [\"2 uA/cm2\", 0.006]\n"
        "[[vary]]\noption = \"pulse_nA\"\nstart = 500\nstop = 1500\nnum = 3\nunit = \"pA\"\n"))
    pts = sweep.points(spec)
    assert [p["id"] for p in pts] == [f"{i:04d}" for i in range(6)]
    assert [p["swept"]["nakpump.imax[all] (mA/cm2)"] for p in pts] == [0.002] * 3 + [0.006] * 3
    assert [p["options"]["pulse_nA"] for p in pts] == [0.5, 1.0, 1.5] * 2
    assert all(p["options"]["train_start_s"] == 0.05 for p in pts)


@pytest.mark.parametrize("method", sweep.SAMPLING)
def test_the_same_seed_gives_the_same_points(method):
    text = ("[[vary]]\noption = \"pulse_nA\"\nlow = 0.5\nhigh = 2.0\n"
            "[[vary]]\nparameter = \"kcc2.imax\"\nlow = \"1 uA/cm2\"\nhigh = \"1 mA/cm2\"\n"
            "scale = \"log\"\n"
            f"[sample]\nmethod = \"{method}\"\nn = 8\n")
    first = sweep.points(parse(spec_text(text, seed=7)))
    again = sweep.points(parse(spec_text(text, seed=7)))
    other = sweep.points(parse(spec_text(text, seed=8)))
    assert first == again and first != other
    pulses = [p["options"]["pulse_nA"] for p in first]
    kcc2 = [p["swept"]["kcc2.imax[all] (mA/cm2)"] for p in first]
    assert all(0.5 <= x <= 2.0 for x in pulses) and all(1e-3 <= x <= 1.0 for x in kcc2)
    if method == "lhs":  # one sample in each eighth of each range (log for kcc2)
        import math

        assert sorted(int((x - 0.5) / 1.5 * 8) for x in pulses) == list(range(8))
        assert sorted(int(math.log(x / 1e-3) / math.log(1e3) * 8) for x in kcc2) == list(range(8))


# --------------------------------------------------------------------------- running


IDENTICAL_SPEC = """protocol = "spike-train"
recipes = ["na-k-cl-spiking", "needs-apical.toml"]
[options]
duration_s = "2.2 s"
train_start_s = "50 ms"
train_s = 0.1
[[vary]]
parameter = "nakpump.imax"
values = ["2 uA/cm2", "6 uA/cm2"]
"""


def test_serial_processes_and_two_mpi_ranks_give_the_same_table(tmp_path):
    """The same spec in this process (--jobs 1), in 2 worker processes and on
    2 MPI ranks (mpich from PyPI): identical tables, every number equal; the
    points of the recipe that cannot be applied record their error and the
    others complete."""
    (tmp_path / "sweep.toml").write_text(IDENTICAL_SPEC)
    (tmp_path / "needs-apical.toml").write_text(BAD_RECIPE)
    runs = {"serial": cli("sweep.toml", "--out", "serial", "--jobs", "1", cwd=tmp_path),
            "processes": cli("sweep.toml", "--out", "processes", "--jobs", "2", "--quiet",
                             cwd=tmp_path),
            "mpi": cli("sweep.toml", "--out", "mpi", cwd=tmp_path, mpiexec_ranks=2)}
    for name, proc in runs.items():
        assert proc.returncode == 1, (name, proc.stdout + proc.stderr)  # 2 points fail
        assert "4 points of spike-train, 2 failed" in proc.stdout, proc.stdout
    assert "sweep: 4/4 points, 2 failed" in runs["serial"].stderr  # the progress line
    assert "sweep: " not in runs["processes"].stderr  # --quiet
    tables = {name: comparable(tmp_path / name) for name in runs}
    pd.testing.assert_frame_equal(tables["serial"], tables["processes"], check_exact=True)
    pd.testing.assert_frame_equal(tables["serial"], tables["mpi"], check_exact=True)
    # NEURON ran on 2 ranks; each point records the rank that ran it (which
    # ranks get which points depends on timing: the master runs jobs too)
    assert "numprocs=2" in runs["mpi"].stdout
    assert set(pd.read_csv(tmp_path / "mpi" / "results.csv")["rank"]) <= {0, 1}
    t = tables["serial"]
    ok = t[t["status"] == "ok"]
    assert set(ok["point"]) == {0, 1} and set(ok["recipe"]) == {"na-k-cl-spiking"}
    failed = t[t["status"] == "error"]
    assert set(failed["point"]) == {2, 3} and set(failed["kind"]) == {"error"}
    assert all("apical" in e for e in failed["error"])
    # the pump current follows the swept density: 3x the density, more pump at rest
    pump = ok[ok["quantity"] == "I_pump"].set_index("nakpump.imax[all] (mA/cm2)")["value"]
    assert set(pump.index) == {0.002, 0.006}
    # each point's own outputs and record; the figure; versions and times in every row
    for pid in ("0000", "0001"):
        files = {p.name for p in (tmp_path / "serial" / "points" / pid).iterdir()}
        assert {"point.json", "spike-train.json", "spike-train_summary.csv"} <= files
    record = json.loads((tmp_path / "serial" / "points" / "0002" / "point.json").read_text())
    assert record["status"] == "error" and "Traceback" in record["traceback"]
    assert (tmp_path / "serial" / "results.png").stat().st_size > 0
    full = pd.read_csv(tmp_path / "serial" / "results.csv")
    assert (full["cpu_s"] > 0).all() and (full["neuron_version"].astype(str) != "").all()


@pytest.mark.parametrize("ranks", [None, 2], ids=["serial", "2 MPI ranks"])
def test_a_killed_sweep_resumes_with_every_point_run_exactly_once(tmp_path, ranks):
    """SIGKILL the sweep (and its workers or ranks) once two points are done;
    run it again: it runs only the others, and each point has exactly one
    record, the earlier ones untouched."""
    (tmp_path / "sweep.toml").write_text(spec_text(
        "[[vary]]\noption = \"pulse_nA\"\nvalues = [0.6, 0.8, 1.0, 1.2, 1.4, 1.6]\n"))
    out = tmp_path / "out"
    proc = cli("sweep.toml", "--out", out, "--jobs", "1", cwd=tmp_path, wait=False,
               mpiexec_ranks=ranks)
    try:
        while len(list(out.glob("points/*/point.json"))) < 2:
            assert proc.poll() is None, proc.stdout.read()
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    before = {p.parent.name: p.read_bytes() for p in out.glob("points/*/point.json")}
    assert 2 <= len(before) < 6
    first_pid = {json.loads(b)["pid"] for b in before.values()}
    resumed = cli("sweep.toml", "--out", out, "--jobs", "1", cwd=tmp_path, mpiexec_ranks=ranks)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    after = {p.parent.name: p.read_bytes() for p in out.glob("points/*/point.json")}
    assert sorted(after) == [f"{i:04d}" for i in range(6)]
    assert all(after[k] == v for k, v in before.items())  # not run again
    rerun = {k for k, v in after.items() if json.loads(v)["pid"] in first_pid}
    assert rerun == set(before)  # the second run ran exactly the others
    assert not [p for p in (out / "points").iterdir() if p.name.startswith(".") and p.is_dir()]
    table = comparable(out)
    per_point = table[table["quantity"] == "spikes"].groupby("point").size()
    assert list(per_point.index) == list(range(6)) and (per_point == 1).all()
    # nothing left to do: a third run runs nothing and rebuilds the same table
    again = cli("sweep.toml", "--out", out, "--jobs", "1", cwd=tmp_path)
    assert again.returncode == 0 and "sweep: " not in again.stderr
    pd.testing.assert_frame_equal(comparable(out), table, check_exact=True)


def test_a_changed_spec_does_not_resume_another_sweeps_folder(tmp_path):
    spec = parse(spec_text("[[vary]]\noption = \"pulse_nA\"\nvalues = [0.6, 0.8]\n"))
    sweep.prepare(spec, tmp_path)
    changed = parse(spec_text("[[vary]]\noption = \"pulse_nA\"\nvalues = [0.6, 0.9]\n"))
    with pytest.raises(sweep.SweepError, match="holds a sweep of a different spec"):
        sweep.prepare(changed, tmp_path)
    # a recipe file edited between two runs is a different sweep too
    recipe = tmp_path / "mine.toml"
    recipe.write_text(BAD_RECIPE)
    spec = parse(spec_text(recipes=["mine.toml"]), base=tmp_path)
    sweep.prepare(spec, tmp_path / "b")
    recipe.write_text(BAD_RECIPE.replace("apical", "soma"))
    with pytest.raises(sweep.SweepError, match="holds a sweep of a different spec"):
        sweep.prepare(parse(spec_text(recipes=["mine.toml"]), base=tmp_path), tmp_path / "b")


# --------------------------------------------------------------------------- MPI set-up


def test_the_real_mpi_library_is_found_not_the_linker_script(monkeypatch):
    monkeypatch.delenv("MPI_LIB_NRN_PATH", raising=False)
    lib = mpi.find_library()
    assert lib.read_bytes()[:4] == b"\x7fELF"
    script = Path(sys.prefix) / "lib" / "libmpi.so"
    if script.exists() and script.read_bytes()[:4] != b"\x7fELF":  # the mpich wheel's
        monkeypatch.setenv("MPI_LIB_NRN_PATH", str(script))
        with pytest.raises(mpi.MPIError, match="linker script"):
            mpi.find_library()


def test_mpi_that_cannot_start_is_a_clear_error(tmp_path):
    (tmp_path / "sweep.toml").write_text(spec_text())
    env_lib = tmp_path / "libmpi.so.12"
    env_lib.write_text("not a library")
    os.environ["MPI_LIB_NRN_PATH"] = str(env_lib)
    try:
        proc = cli("sweep.toml", "--mpi", cwd=tmp_path)
    finally:
        del os.environ["MPI_LIB_NRN_PATH"]
    assert proc.returncode == 2
    assert "is not a shared library" in proc.stderr and "Traceback" not in proc.stderr


def test_a_points_globals_do_not_reach_the_next_point(h, tmp_path):
    """Run in this process (--jobs 1): a GLOBAL parameter a point's recipe sets
    (process-wide in NEURON) is back at its value after the sweep, and no
    section is left behind."""
    before = h.kmna_nakpump
    spec = parse(spec_text("[[vary]]\nparameter = \"nakpump.kmna\"\nvalues = [5, 20]\n"))
    df = sweep.run(spec, tmp_path / "out", jobs=1, quiet=True)
    assert h.kmna_nakpump == before
    assert sum(1 for _ in h.allsec()) == 0
    pump = df[df["quantity"] == "I_pump"].set_index("nakpump.kmna (mM)")["value"]
    assert pump[5.0] != pump[20.0]  # the global took effect in each point
    record = json.loads((tmp_path / "out" / "points" / "0001" / "point.json").read_text())
    assert record["recipe"]["globals"] == {"nakpump": {"kmna": 20.0}}


def test_the_table_as_parquet_reads_back_equal(h, tmp_path):
    """format="parquet" (ionhomeo sweep --format parquet) writes results.parquet
    instead of results.csv (CSV stays the default, pyarrow or not); it reads
    back equal to the table, column types included."""
    spec = parse(spec_text("[[vary]]\nparameter = \"nakpump.kmna\"\nvalues = [5, 20]\n"))
    df = sweep.run(spec, tmp_path / "out", jobs=1, quiet=True, format="parquet")
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert "results.parquet" in names and "results.csv" not in names
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out" / "results.parquet"), df)
    meta = json.loads((tmp_path / "out" / "results.json").read_text())
    assert meta["data_file"]["file"] == "results.parquet"
    assert meta["data_file"]["format"] == "parquet"


def test_the_sweep_benchmark_reports_throughput_against_ranks(tmp_path, capsys):
    """benchmarks/bench_sweep.py --quick: a sweep on 1 and 2 ranks, points/s
    from wall times and the ratio against the target (not the timing itself:
    machines are shared and noisy)."""
    import importlib.util

    path = REPO / "benchmarks" / "bench_sweep.py"
    module_spec = importlib.util.spec_from_file_location("bench_sweep", path)
    bench = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(bench)
    out = tmp_path / "bench.json"
    assert bench.main(["--quick", "--runners", "mpi", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    meta = json.loads(out.read_text())
    assert [(r["runner"], r["n"]) for r in meta["rows"]] == [("mpi", 1), ("mpi", 2)]
    for r in meta["rows"]:
        assert r["points"] == 2 and 0 < r["span_s"] <= r["wall_s"]
        assert r["points_per_s"] == 2 / r["span_s"]
    two = next(s for s in meta["summary"] if s["n"] == 2)
    assert two["ratio_best"] == meta["rows"][1]["points_per_s"] / meta["rows"][0]["points_per_s"]
    assert meta["target"]["met"] == (two["ratio_best"] >= 1.8)
    assert "target: 2 ranks at least 1.8x the points/s of 1 rank: " in printed


def test_after_a_worker_crash_a_point_finished_before_it_is_not_run_again(tmp_path):
    """When a worker dies the pool marks every pending point broken, among
    them points another worker had finished (folder written and renamed) but
    whose result it had not yet sent. Running those again renamed a new folder
    onto the finished one (ENOTEMPTY, a traceback); their record is reported
    instead, and the folder is left as it was."""
    import json

    from ionhomeo import sweep

    point = {"id": "0003", "index": 3, "protocol": "rest"}
    folder = sweep.points_dir(tmp_path) / "0003"
    folder.mkdir(parents=True)
    record = {"point": point, "status": "ok", "summary": [], "checks": []}
    (folder / "point.json").write_text(json.dumps(record))
    before = sorted(p.name for p in folder.iterdir())
    reported = []
    # no process context: running the point at all would fail here
    sweep._run_alone([point], tmp_path, None, reported.append)
    assert reported == [record]
    assert sorted(p.name for p in folder.iterdir()) == before
