"""What the command line says and writes, as a user runs it (fresh
interpreters): progress on stderr and results on stdout, --quiet, --version,
no NEURON DISPLAY warning, segment names that are the same in every run, the
per-region table, the cell actually used in the header, names in any case
with suggestions, and Parquet tables."""

from __future__ import annotations

import json
import os
import platform
import re
from importlib import metadata
from pathlib import Path

import pandas as pd
import pytest

import ionhomeo
from ionhomeo import _guard, cli, results

REPO = Path(__file__).resolve().parents[1]


def run_cli(*args: str, cwd: Path, **env: str):
    """``python -m ionhomeo ARGS`` in a fresh interpreter, as a user runs it
    (this checkout first on PYTHONPATH; ``env`` added to the environment)."""
    import subprocess
    import sys

    full = dict(os.environ, MPLBACKEND="Agg", **env,
                PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-m", "ionhomeo", *args], cwd=cwd, env=full,
                          capture_output=True, text=True, timeout=600)

LEAK = Path(__file__).resolve().parent / "data" / "leak"
#: a memory address in a name: what made two runs impossible to join
ADDRESS = re.compile(r"_[0-9a-f]{8,}\b|0x[0-9a-f]+")
REST = ("run", "REST", "--morphology", "Ball_And_Stick", "--recipe", "MATURE",
        "--duration", "1000 ms")


def _rest(tmp, name, *extra, **env):
    out = tmp / name
    proc = run_cli(*REST, "--out", str(out), *extra, cwd=tmp, **env)
    assert proc.returncode == 0, proc.stderr
    return proc, out


@pytest.fixture(scope="module")
def rest_runs(tmp_path_factory):
    """The rest protocol on the ball-and-stick cell, three times: plain, again,
    and --quiet (names typed in other cases, the duration with a unit)."""
    tmp = tmp_path_factory.mktemp("rest")
    return {"first": _rest(tmp, "first"), "second": _rest(tmp, "second"),
            "quiet": _rest(tmp, "quiet", "--quiet")}


def test_progress_goes_to_stderr_results_to_stdout(rest_runs):
    proc, out = rest_runs["first"]
    assert "DISPLAY" not in proc.stderr and "graphics" not in proc.stderr  # NEURON's warning
    assert "ionhomeo: 100% (1 of 1 s simulated," in proc.stderr
    assert "Traceback" not in proc.stderr and "Warning" not in proc.stderr
    assert "ionhomeo:" not in proc.stdout and "% (" not in proc.stdout
    assert f"  {out / 'rest.json'}" in proc.stdout


def test_quiet_prints_nothing_on_stderr_and_the_same_results(rest_runs):
    proc, out = rest_runs["quiet"]
    assert proc.stderr == ""
    _, first = rest_runs["first"]

    def numbers(folder):
        table = pd.read_csv(folder / "rest_summary.csv")
        return table[table["quantity"] != "solve_time"].reset_index(drop=True)

    pd.testing.assert_frame_equal(numbers(out), numbers(first))  # quiet changes no number

    def shown(proc, folder):  # the printed results, but for the folder and the times
        return [line.replace(str(folder), "OUT") for line in proc.stdout.splitlines()
                if not line.startswith(("solve_time", "runtime:"))]

    assert shown(proc, out) == shown(rest_runs["first"][0], first)


def test_segment_names_come_from_the_morphology_and_join_across_runs(rest_runs):
    (_, first), (_, second) = rest_runs["first"], rest_runs["second"]
    a, b = (pd.read_csv(f / "rest_profile.csv") for f in (first, second))
    assert a["segment"].iloc[0] == "ball_and_stick.soma[0](0.5)"
    assert not a["segment"].str.contains(ADDRESS).any()
    assert list(a["segment"]) == list(b["segment"])
    joined = a.merge(b, on=["segment", "variable"], suffixes=("_1", "_2"), validate="1:1")
    assert len(joined) == len(a) and (joined["value_1"] == joined["value_2"]).all()
    tc = pd.read_csv(first / "rest.csv")
    assert set(tc["where"]) >= {"ball_and_stick.soma[0](0.5)", "basal", "axon"}
    assert not tc["where"].str.contains(ADDRESS).any()
    meta = json.loads((first / "rest.json").read_text())
    assert not ADDRESS.search(json.dumps(meta["cell"]))
    # the names typed as Ball_And_Stick and MATURE are recorded as the bundled ones
    assert meta["spec"]["morphology"] == "ball_and_stick" and meta["spec"]["recipe"] == "mature"


def test_rest_prints_one_row_per_region_and_the_cell_it_used(rest_runs):
    proc, out = rest_runs["first"]
    text = proc.stdout
    assert text.splitlines()[1] == "cell: ball_and_stick (bundled), 17 segments"
    assert text.splitlines()[2] == (
        "recipe: mature (calibrated: scipy.optimize.least_squares (trf) on log parameters, "
        "per block; the record of every evaluation: ionhomeo/presets/calibration/mature.json)")
    assert "pyramidal" not in text  # the default cell is not named when another ran
    head = re.search(r"^region\s+Vm \(mV\)\s+Nai \(mM\)\s+Ki \(mM\)\s+Cli \(mM\)\s+Cai \(uM\)"
                     r"\s+E_GABA \(mV\)$", text, re.M)
    assert head, text
    summary = pd.read_csv(out / "rest_summary.csv").set_index("quantity")["value"]
    rows = re.findall(r"^(soma|basal|apical|axon|terminal)\s+(.*)$", text, re.M)
    assert [r[0] for r in rows] == ["soma", "basal", "axon", "terminal"]  # no apical here
    for region, numbers in rows:
        values = [float(x) for x in numbers.split()]
        expected = [summary[f"{q} {region}"] for q in ("Vm", "Nai", "Ki", "Cli", "Cai", "E_GABA")]
        assert values == pytest.approx(expected, rel=1e-4)
    assert not re.search(r"^Vm soma\s", text, re.M)  # not also one quantity per line
    assert re.search(r"^drift_v\s+\S+\s+mV\s", text, re.M)  # the other quantities as before
    assert re.search(r"^PASS  drift_v: ", text, re.M)  # checks: PASS or FAIL, never 1/0


def test_version():
    proc = run_cli("--version", cwd=Path.cwd())
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.strip() == (
        f"ionhomeo {ionhomeo.__version__} (NEURON {metadata.version('neuron')}, Python "
        f"{platform.python_version()} on {platform.system()} {platform.machine()})")


def test_names_in_any_case_and_suggestions(tmp_path):
    proc = run_cli("list", "KCC2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^kcc2 \(density\)", proc.stdout, re.M) and "nkcc1 (" not in proc.stdout
    proc = run_cli("list", "kc2", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "unknown mechanism 'kc2'. Did you mean 'kcc2'?" in proc.stderr
    proc = run_cli("run", "Spike_Train", "--options", cwd=tmp_path)
    assert proc.returncode == 0 and "spike-train: options for --set" in proc.stdout
    proc = run_cli("run", "rset", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "unknown protocol 'rset' (did you mean 'rest'?); known protocols:" in proc.stderr
    proc = run_cli("run", "rest", "--recipe", "matrue", "--out", str(tmp_path / "o"),
                   cwd=tmp_path)
    assert proc.returncode == 2 and "Did you mean 'mature'?" in proc.stderr


def test_conditions_are_said_and_per_recipe_quantities_form_one_table(tmp_path):
    """egaba measures each recipe in turn: each is said on stderr; its
    quantities are printed a row each with a column per recipe."""
    out = tmp_path / "out"
    # the bundled pyramidal cell (egaba's default): on the ball-and-stick cell the
    # immature preset has no resting state (tests/test_protocols_cell.py)
    proc = run_cli("run", "egaba", "--set", "hold_mV=-90,-20", "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert re.findall(r"^ionhomeo: egaba: condition (\d)/2: recipe (\w+)$", proc.stderr, re.M) \
        == [("1", "mature"), ("2", "immature")]
    assert proc.stdout.splitlines()[1] == "cell: pyramidal (bundled), 120 segments"
    summary = pd.read_csv(out / "egaba_summary.csv").set_index("quantity")["value"]
    assert re.search(r"^\s+recipe$", proc.stdout, re.M)
    assert re.search(r"^quantity\s+mature\s+immature\s+unit\s+description$", proc.stdout, re.M)
    row = re.search(r"^E_GABA\s+(\S+)\s+(\S+)\s+mV\s+measured", proc.stdout, re.M)
    assert [float(x) for x in row.groups()] == pytest.approx(
        [summary["E_GABA mature"], summary["E_GABA immature"]], rel=1e-4)


def test_the_compile_says_what_where_and_how_long(tmp_path):
    cache = tmp_path / "cache"
    proc = run_cli("build", "--mod-dir", str(LEAK), cwd=tmp_path, IONHOMEO_CACHE=str(cache))
    assert proc.returncode == 0, proc.stderr
    build_dir = Path(proc.stdout.strip())  # stdout: the result only
    lines = proc.stderr.splitlines()
    assert lines[0] == (f"ionhomeo: compiling 1 NMODL mechanisms from {LEAK} with nrnivmodl "
                        f"into {build_dir} (once for these sources and this NEURON; a few "
                        "minutes)")
    assert re.fullmatch(rf"ionhomeo: compiled the mechanisms in \d+ s into {re.escape(str(build_dir))}"
                        r"; later runs reuse them", lines[1])
    assert len(lines) == 2
    again = run_cli("build", "--mod-dir", str(LEAK), cwd=tmp_path, IONHOMEO_CACHE=str(cache))
    assert again.stderr == "" and again.stdout == proc.stdout  # cached: nothing to say
    quiet = run_cli("--quiet", "build", "--force", "--mod-dir", str(LEAK), cwd=tmp_path,
                    IONHOMEO_CACHE=str(cache))
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout == proc.stdout


def test_no_display_warning_in_scripts_and_a_display_is_left_to_neuron(tmp_path):
    code = ("import os, ionhomeo\nfrom neuron import h\n"
            "print(h.nrnversion(7)); print(os.environ.get('NEURON_MODULE_OPTIONS'))")
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    env["NEURON_MODULE_OPTIONS"] = "-NSTACK 3000"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "DISPLAY" not in proc.stderr
    # -nogui after the user's own options, and the environment as it was afterwards
    assert proc.stdout.splitlines() == ["NEURON -NSTACK 3000 -nogui", "-NSTACK 3000"]
    # with a display a script keeps NEURON's graphics; the command line never uses them
    assert _guard.neuron_options({"DISPLAY": ":0"}) is None
    assert _guard.neuron_options({"DISPLAY": ":0"}, always=True) == "-nogui"
    assert _guard.neuron_options({}) == "-nogui"
    assert _guard.neuron_options({"NEURON_MODULE_OPTIONS": "-nogui"}) is None
    # so an unreachable DISPLAY (a stale ssh session) does not stop a command
    # (NEURON exits with "can't open DISPLAY" when it starts its GUI there)
    proc = run_cli("regions", "--morphology", "ball_and_stick", "--out",
                   str(tmp_path / "r.png"), cwd=tmp_path, DISPLAY=":99")
    assert proc.returncode == 0, proc.stderr
    assert "DISPLAY" not in proc.stderr and (tmp_path / "r.png").is_file()


def test_parquet_tables_read_back_equal_to_the_csv_ones(tmp_path, rest_runs):
    _, csv_out = rest_runs["first"]
    out = tmp_path / "pq"
    proc = run_cli(*REST, "--out", str(out), "--format", "parquet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    names = {p.name for p in out.iterdir()}
    assert names == {"rest.parquet", "rest_profile.parquet", "rest_checks.parquet",
                     "rest_summary.parquet", "rest.json", "rest.png"}
    assert results.verify(out / "rest.json") == []  # listed with their sizes and checksums
    for stem in ("rest", "rest_profile", "rest_checks", "rest_summary"):
        pq = pd.read_parquet(out / f"{stem}.parquet")
        # the checks' obtained and expected values are text (a condition's are words)
        text = {"obtained": str, "expected": str} if stem == "rest_checks" else None
        csv = pd.read_csv(csv_out / f"{stem}.csv", dtype=text)
        if stem == "rest_summary":  # a wall time: the machine, not the model
            pq, csv = (t[t["quantity"] != "solve_time"].reset_index(drop=True) for t in (pq, csv))
        pd.testing.assert_frame_equal(pq, csv, check_dtype=False)


def test_parquet_round_trip_is_exact(h, tmp_path):
    """Every table a protocol writes as Parquet reads back equal, dtypes
    included (CSV keeps the numbers too, but not the types)."""
    from ionhomeo.protocols import get

    res = get("rest")(out_dir=tmp_path / "out", morphology="ball_and_stick", duration_s=0.5,
                      format="parquet", progress=False)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out" / "rest_summary.parquet"),
                                  res.summary)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out" / "rest.parquet"),
                                  res.timecourse)


def test_parquet_without_pyarrow_is_refused_before_computing(tmp_path, monkeypatch, capsys):
    def missing():
        raise ImportError("no pyarrow")

    monkeypatch.setattr(results, "_parquet_engine", missing)
    out = tmp_path / "out"
    assert cli.main(["run", "rest", "--format", "parquet", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert ("ionhomeo run rest: error: --format parquet needs pyarrow, which is not installed: "
            "pip install pyarrow") in err and "Traceback" not in err
    assert not out.exists()
