"""``ionhomeo run all``: every protocol into its folder, and an index with each
figure and its check."""

import hashlib
import os
import time

import pandas as pd
import pytest

from ionhomeo import checks, cli, results
from ionhomeo.protocols import Protocol
from ionhomeo.experiment import Result, summary_table, write_outputs


def _fake(name, check_value, fail=False):
    """A quick stand-in protocol: the real ones are run by their own tests."""
    def run(out_dir=None):
        if fail:
            raise RuntimeError("deliberate failure")
        summary = summary_table([("x", 1.0, "1", "a number")])
        found = (checks.at_most(f"x of {name}", 1.0, 1.0 if check_value else 0.5, "1",
                                "protocol: a stand-in", "none"),)
        from matplotlib.figure import Figure

        fig = Figure()
        fig.subplots().plot([0, 1], [0, 1])
        files, figures = write_outputs(out_dir, name, summary, {"protocol": name}, figure=fig,
                                       tables={"": pd.DataFrame({"a": [1]})})
        return Result(summary=summary, timecourse=None, metadata={}, figures=figures, files=files,
                      checks=found)
    return Protocol(name=name, run=run, description=f"{name} description")


@pytest.fixture
def fake_protocols(monkeypatch):
    fakes = {"alpha": _fake("alpha", 1.0), "beta": _fake("beta", 0.0),
             "gamma": _fake("gamma", 1.0, fail=True)}
    monkeypatch.setattr("ionhomeo.protocols.PROTOCOLS", fakes)
    return fakes


def test_run_all_writes_an_index_with_figures_and_checks(tmp_path, fake_protocols, capsys):
    status = cli.main(["run", "all", "--out", str(tmp_path)])
    assert status == 1  # beta fails its check and gamma raises
    index = (tmp_path / "index.md").read_text()
    assert ("| [alpha](alpha/) | PASS | PASS  x of alpha: 1, expected <= 1 (protocol: a "
            "stand-in) |") in index
    assert ("| [beta](beta/) | FAIL | FAIL  x of beta: 1, expected <= 0.5 (protocol: a "
            "stand-in) |") in index
    assert "| [gamma](gamma/) | error | RuntimeError: deliberate failure |" in index
    assert "![alpha](alpha/alpha.png)" in index and (tmp_path / "alpha" / "alpha.png").exists()
    assert (tmp_path / "beta" / "beta.json").exists()  # a failed check still writes its files


def test_run_all_passes_when_every_check_passes(tmp_path, monkeypatch):
    monkeypatch.setattr("ionhomeo.protocols.PROTOCOLS", {"alpha": _fake("alpha", 1.0)})
    assert cli.main(["run", "all", "--out", str(tmp_path)]) == 0


def test_run_all_refuses_per_protocol_options(tmp_path, fake_protocols, capsys):
    assert cli.main(["run", "all", "--recipe", "mature", "--out", str(tmp_path)]) == 2
    assert "each protocol's defaults" in capsys.readouterr().err


def test_finish_draws_the_figure_only_when_writing(tmp_path):
    from ionhomeo.experiment import finish

    drawn = []

    def figure():
        from matplotlib.figure import Figure

        drawn.append(1)
        fig = Figure()
        fig.subplots().plot([0, 1], [1, 0])
        return fig

    summary = summary_table([("check", 1.0, "1", "criterion")])
    table = pd.DataFrame({"t_s": [0.0, 1.0], "value": [1.0, 2.0]})
    start = time.perf_counter()
    res = finish(None, "demo", summary, {"protocol": "demo"}, start, table, figure=figure,
                 tables=lambda: drawn.append("tables"))
    assert drawn == [] and res.files == () and res.figures == ()
    assert 0 <= res.metadata["runtime_s"] < time.perf_counter() - start + 1e-9
    assert res.timecourse is table
    res = finish(tmp_path, "demo", summary, {"protocol": "demo"}, start, table, figure=figure,
                 tables=lambda: {"": table, "extra": table})
    assert drawn == [1]
    assert {p.name for p in res.files} == {"demo.csv", "demo_extra.csv", "demo_summary.csv",
                                           "demo.json", "demo.png"}
    assert [p.name for p in res.figures] == ["demo.png"]
    # the JSON lists every other file of the set with its size and SHA-256
    listed = res.metadata["files"]
    assert [f["file"] for f in listed] == ["demo.csv", "demo_extra.csv", "demo_summary.csv",
                                           "demo.png"]
    for entry in listed:
        data = (tmp_path / entry["file"]).read_bytes()
        assert entry["bytes"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert results.verify(tmp_path / "demo.json") == []
    assert sorted(os.listdir(tmp_path)) == sorted(p.name for p in res.files)


def test_the_index_says_which_runs_used_a_calibrated_recipe(tmp_path, monkeypatch):
    """The index's last column and each section's header: the recipes, calibrated or
    not, and the protocol's idealised-geometry note."""
    def fake(name, calibrated):
        inner = _fake(name, 1.0).run

        def run(out_dir=None):
            result = inner(out_dir)
            meta = {"recipes": [{"name": "mature", "calibrated": calibrated,
                                 "method": "fit" if calibrated else None}],
                    "calibrated": calibrated,
                    "idealised": None if calibrated else "holds in one compartment only"}
            return Result(summary=result.summary, timecourse=None, metadata=meta,
                          figures=result.figures, files=result.files, checks=result.checks)
        return Protocol(name=name, run=run, description=f"{name} description")

    monkeypatch.setattr("ionhomeo.protocols.PROTOCOLS",
                        {"alpha": fake("alpha", True), "beta": fake("beta", False)})
    assert cli.main(["run", "all", "--out", str(tmp_path)]) == 0
    index = (tmp_path / "index.md").read_text()
    assert "| protocol | check | criterion | calibrated recipe |" in index
    assert "stand-in) | yes (mature) |" in index and "stand-in) | no (mature) |" in index
    assert "recipe: mature (calibrated: fit)" in index
    assert "recipe: mature (not calibrated)" in index
    assert "idealised: holds in one compartment only" in index
