"""End-to-end tests of ``ionhomeo run`` and ``ionhomeo list`` (fresh interpreters),
of the rest protocol in process, and of the atomic result writers."""

from __future__ import annotations

import json
import math
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import ionhomeo
from ionhomeo import build, mechanisms, results
from ionhomeo.protocols import PROTOCOLS

REPO = Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``python -m ionhomeo ARGS`` in a fresh interpreter (IONHOMEO_CACHE inherited)."""
    env = dict(os.environ, MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-m", "ionhomeo", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def rest_run(tmp_path_factory):
    """One shortened rest run shared by the tests below: (process, output dir)."""
    cwd = tmp_path_factory.mktemp("rest")
    out = cwd / "out"
    proc = run_cli("run", "spike-train", "--out", str(out), "--duration", "20", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return proc, out


def _summary(out: Path) -> dict:
    return {q: d["value"] for q, d in json.loads((out / "spike-train.json").read_text())["summary"].items()}


def test_run_rest_prints_table_and_paths(rest_run):
    proc, out = rest_run
    text = proc.stdout
    for quantity, unit in [("Vm", "mV"), ("Nai", "mM"), ("Ki", "mM"), ("Cli", "mM"),
                           ("E_Na", "mV"), ("E_K", "mV"), ("E_Cl", "mV"), ("E_GABA", "mV"),
                           ("I_pump", "uA/cm2"), ("max_residual", "mA/cm2"), ("Nai_rise", "mM"),
                           ("pump_AHP", "mV"), ("tau_Nai", "s")]:
        assert re.search(rf"^{quantity}\s+-?[\d.]+(e[-+]\d+)?\s+{re.escape(unit)}\s", text, re.M), \
            (quantity, text)
    assert re.search(r"^spikes\s+20\s", text, re.M), text
    # under the description: the recipe it ran on, and whether it was calibrated
    assert re.search(r"^recipe: na-k-cl-spiking \(not calibrated\)$", text, re.M), text
    # the checks are printed after the table, each PASS
    for name in ("max_residual", "rest_drift", "one spike per pulse"):
        assert re.search(rf"^PASS  {name}: ", text, re.M), (name, text)
    # the printed value is the saved one
    vm = float(re.search(r"^Vm\s+(\S+)", text, re.M).group(1))
    assert vm == pytest.approx(_summary(out)["Vm"], abs=1e-3)
    # every path printed after "wrote:" exists, and the four result files are among them
    written = [Path(line.strip()) for line in text.split("wrote:")[1].splitlines() if line.strip()]
    assert all(p.is_file() for p in written), written
    assert {p.name for p in written} >= {"spike-train.csv", "spike-train.json", "spike-train.png",
                                         "spike-train_summary.csv", "spike-train_checks.csv"}
    assert all(p.parent == out for p in written)
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_run_rest_files_parse(rest_run):
    _, out = rest_run
    tc = pd.read_csv(out / "spike-train.csv")
    assert list(tc.columns) == ["t_s", "variable", "value", "unit"]
    units = tc.groupby("variable")["unit"].unique().apply(list).to_dict()
    assert units == {"v": ["mV"], "nai": ["mM"], "ki": ["mM"], "cli": ["mM"], "ipump": ["uA/cm2"]}
    for _, g in tc.groupby("variable"):
        assert g["t_s"].is_monotonic_increasing
        assert g["t_s"].min() == 0 and g["t_s"].max() == pytest.approx(20, abs=0.01)
        assert g["value"].notna().all()

    meta = json.loads((out / "spike-train.json").read_text())
    assert meta["ionhomeo_version"] == ionhomeo.__version__
    assert re.match(r"\d+\.\d+", meta["neuron_version"])
    assert meta["python_version"] == platform.python_version()
    assert meta["mod_source_hash"] == build.source_hash(build.mod_dir())
    assert meta["timestamp_utc"].endswith("+00:00")
    assert meta["spec"]["duration_s"] == {"value": 20, "unit": "s"}
    assert meta["spec"]["train_hz"]["value"] == 20 and meta["spec"]["train_s"]["value"] == 1
    assert meta["defaults"]["ko"] == 4.0
    soma = meta["cells"]["soma"]["geometry"]["pieces"][0]
    assert soma["diam_um"] == 20 and soma["length_um"] == 20 and soma["nseg"] == 1
    assert meta["cells"]["soma"]["recipe"]["name"] == "na-k-cl-spiking"
    assert meta["mechanisms"]["kcc2"]["imax"] == mechanisms.get("kcc2").parameters["imax"].default

    summary = pd.read_csv(out / "spike-train_summary.csv")
    assert list(summary.columns) == ["quantity", "value", "unit", "description"]
    assert dict(zip(summary["quantity"], summary["value"])) == pytest.approx(_summary(out))

    assert (out / "spike-train.png").read_bytes()[:8] == PNG_SIGNATURE
    assert (out / "spike-train.png").stat().st_size > 20_000  # a real figure, not an empty canvas


def test_run_rest_physics(rest_run):
    _, out = rest_run
    s = _summary(out)
    assert -85 < s["Vm"] < -60
    assert s["E_K"] < s["Vm"] < s["E_Na"]
    assert s["max_residual"] < 1e-12  # a true steady state
    assert abs(s["rest_drift"]) < 1e-3  # and the simulation starts and stays there
    assert s["pulses"] == 20 and s["spikes"] == 20  # one spike per pulse
    assert s["Nai_rise"] > 0
    assert s["pump_AHP"] < 0  # the extra pump current hyperpolarises
    assert 0 < s["tau_Nai"] < math.inf

    tc = pd.read_csv(out / "spike-train.csv")
    nai = tc[tc["variable"] == "nai"].set_index("t_s")["value"]
    assert nai.loc[:4.9].max() - nai.loc[:4.9].min() < 1e-6  # quiet rest is quiet
    peak, end = nai.max(), nai.iloc[-1]
    assert peak == pytest.approx(s["Nai"] + s["Nai_rise"], abs=1e-6)
    assert nai.idxmax() == pytest.approx(6.0, abs=0.1)  # peak at the end of the train
    # recovering towards rest: Nai falls after the train, monotonically
    assert end < peak - 0.01 * s["Nai_rise"]
    assert end > s["Nai"]
    assert nai.loc[6.2:].diff().dropna().max() <= 1e-9
    assert s["Nai_recovered"] == pytest.approx((peak - end) / s["Nai_rise"], rel=1e-3)


def test_run_unknown_protocol_exits_2_listing_known(tmp_path):
    proc = run_cli("run", "nosuch", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "nosuch" in proc.stderr and "Traceback" not in proc.stderr
    for name in PROTOCOLS:
        assert name in proc.stderr
    assert not (tmp_path / "results").exists()


def test_run_help_lists_protocols_with_descriptions(tmp_path):
    proc = run_cli("run", "--help", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for name, protocol in PROTOCOLS.items():
        assert re.search(rf"^\s+{name}\s+{re.escape(protocol.description[:40])}", proc.stdout, re.M)
    assert "--duration" in proc.stdout and "--out" in proc.stdout


def test_run_rejects_too_short_duration(tmp_path):
    proc = run_cli("run", "spike-train", "--duration", "3", cwd=tmp_path)
    assert proc.returncode == 2
    assert "duration" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "results").exists()


def test_list_shows_every_mechanism_with_parameters(tmp_path):
    proc = run_cli("list", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for name, mech in mechanisms.catalog().items():
        assert re.search(rf"^{name} \((density|point)\)", proc.stdout, re.M), name
        for param in mech.parameters:
            assert re.search(rf"^\s+{param}\s+=", proc.stdout, re.M), (name, param)
    assert "imax" in proc.stdout
    assert "Kager" in proc.stdout  # a literature source of the pump


def test_list_one_mechanism(tmp_path):
    proc = run_cli("list", "kcc2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    kcc2 = mechanisms.get("kcc2")
    for p in kcc2.parameters.values():
        line = re.search(rf"^\s+{p.name}\s+=\s+(\S+)\s+(\S+)\s+\[", proc.stdout, re.M)
        assert line, p.name
        assert float(line.group(1)) == pytest.approx(p.default)
        assert line.group(2) == p.units
    assert "nakpump (" not in proc.stdout and "nav (" not in proc.stdout
    assert "kcc2.mod" in proc.stdout


def test_list_unknown_mechanism_exits_2(tmp_path):
    proc = run_cli("list", "nosuch", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "nosuch" in proc.stderr and "kcc2" in proc.stderr and "Traceback" not in proc.stderr


def test_rest_protocol_in_process_cleans_up(h):
    cvode = h.CVode()
    cvode.active(0)
    scale = cvode.atolscale("nai")
    before = len(list(h.allsec()))
    result = PROTOCOLS["spike-train"](out_dir=None, duration_s=8.0)
    assert len(list(h.allsec())) == before
    assert cvode.active() == 0 and cvode.atolscale("nai") == scale
    assert result.value("spikes") == 20
    assert result.passed is True and result.check("one spike per pulse").passed
    assert result.files == () and result.figures == ()
    with pytest.raises(KeyError, match="Vm"):
        result.value("nosuch")


def test_writers_are_atomic_and_create_directories(tmp_path):
    import numpy as np

    target = tmp_path / "a" / "b" / "x.json"
    results.write_json({"n": np.int64(3), "x": np.float64(0.5), "bad": float("nan"),
                        "arr": np.arange(3), "p": tmp_path}, target)
    assert json.loads(target.read_text()) == {"n": 3, "x": 0.5, "bad": None, "arr": [0, 1, 2],
                                              "p": str(tmp_path)}

    class Broken:
        def to_csv(self, f, index):
            f.write("partial")
            raise RuntimeError("disk full")

    csv = tmp_path / "a" / "t.csv"
    results.write_csv(pd.DataFrame({"t_s": [0.0]}), csv)
    with pytest.raises(RuntimeError):
        results.write_csv(Broken(), csv)
    assert csv.read_text().splitlines() == ["t_s", "0.0"]  # the old file is untouched
    assert sorted(p.name for p in csv.parent.iterdir()) == ["b", "t.csv"]  # no temp files

    prov = results.provenance(extra_item=1)
    assert prov["extra_item"] == 1 and prov["ionhomeo_version"] == ionhomeo.__version__


def test_rest_with_a_recipe_without_calcium_records_what_the_cell_has(tmp_path):
    """A recipe without Ca made `run rest` end in a RecordingError traceback
    after the whole-cell solve; now Cai is not recorded and the run says so."""
    recipe = tmp_path / "no_ca.toml"
    rules = [("all", m) for m in ("nadyn", "kdyn", "cldyn", "nakpump", "naleak", "kleak",
                                  "clleak", "kcc2")]
    recipe.write_text('name = "no_ca"\n' + "".join(
        f'\n[[rules]]\nregion = "{r}"\nmechanism = "{m}"\n' for r, m in rules))
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "ionhomeo", "run", "rest", "--morphology",
                           "ball_and_stick", "--recipe", str(recipe), "--duration", "1",
                           "--out", str(out)], capture_output=True, text=True, cwd=tmp_path,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "note: the recipe gives the soma no ca: Cai not recorded" in proc.stdout
    table = pd.read_csv(out / "rest.csv")
    assert set(table["variable"]) >= {"v", "nai", "ki", "cli"}
    assert "cai" not in set(table["variable"])


def test_spike_train_numbers_are_the_stored_ones(rest_run):
    """The shortened spike-train run's summary as stored before (tests/reference.py)."""
    import reference

    _, out = rest_run
    reference.check("spike-train", pd.read_csv(out / "spike-train_summary.csv"))


def test_set_changes_a_real_protocol_option_and_the_provenance_says_so(tmp_path):
    out = tmp_path / "out"
    proc = run_cli("run", "spike-train", "--out", str(out), "--duration", "20",
                   "--set", "train_hz=10", "--set", "train_s=500 ms", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    spec = json.loads((out / "spike-train.json").read_text())["spec"]
    assert spec["train_hz"]["value"] == 10.0 and spec["train_s"]["value"] == 0.5
