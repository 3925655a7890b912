"""Progress of long work (ionhomeo.progress): on stderr, quiet on request, the
same numbers with and without it, a text bar in a real Jupyter kernel."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from ionhomeo import geometry, progress, steady
from ionhomeo.experiment import Protocol, Report, Spec, param


def test_a_message_goes_to_stderr_unless_quiet(capsys, monkeypatch):
    monkeypatch.delenv(progress.ENV, raising=False)
    progress.message("compiling")
    assert capsys.readouterr() == ("", "ionhomeo: compiling\n")  # stdout untouched
    with progress.quiet():
        progress.message("inside a quiet block")
    progress.message("off for this call", flag=False)
    assert capsys.readouterr().err == ""
    for value in ("1", "yes", "true"):
        monkeypatch.setenv(progress.ENV, value)
        progress.message("quiet script", flag=True)  # the environment has the last word
        assert capsys.readouterr().err == ""
    for value in ("0", "", "no"):
        monkeypatch.setenv(progress.ENV, value)
        progress.message("not quiet")
        assert capsys.readouterr().err == "ionhomeo: not quiet\n"


def test_a_slow_steady_state_says_each_step_with_its_rates(h, capsys, monkeypatch):
    """A whole-cell solve reports a line per continuation step (the largest
    rates of V and concentrations left) once it takes PROGRESS_AFTER_S; a
    quick one says nothing; the steps and the state do not depend on it."""
    from ionhomeo.cell import Cell

    monkeypatch.delenv(progress.ENV, raising=False)
    cell = Cell("ball_and_stick", "mature")
    try:
        quiet_state = cell.initialize()  # well under 2 s: nothing said
        assert capsys.readouterr().err == ""
        monkeypatch.setattr(steady, "PROGRESS_AFTER_S", 0.0)  # as a slow cell would
        state = cell.initialize()
        err = capsys.readouterr().err
        steps = re.findall(r"^ionhomeo: steady state: step (\d+), rates (\S+) mV/ms, (\S+) /ms, "
                           r"pseudo-time step \S+ ms, [\d.]+ s$", err, re.M)
        assert [int(s[0]) for s in steps] == list(range(1, state.iterations + 1))
        assert err.startswith(f"ionhomeo: steady state of {cell.nseg} segments: solving until "
                              "the rates of V and of ln(concentration) are below 1e-07 mV/ms "
                              "and 1e-10 /ms\n")
        assert float(steps[-1][1]) <= 1e-7 and float(steps[-1][2]) <= 1e-10  # converged
        assert float(steps[0][1]) > 1e-7  # the first step was still far from rest
        assert err.endswith(f"ionhomeo: steady state of {cell.nseg} segments found: "
                            f"{state.iterations} steps, " + err.rsplit(" steps, ", 1)[1])
        # progress=False, and the quiet environment, silence it
        again = cell.initialize(progress=False)
        monkeypatch.setenv(progress.ENV, "1")
        cell.initialize(progress=True)
        assert capsys.readouterr().err == ""
        assert state.iterations == quiet_state.iterations == again.iterations
        np.testing.assert_array_equal(state.v, quiet_state.v)
    finally:
        cell.destroy()


@dataclasses.dataclass(frozen=True)
class _DemoSpec(Spec):
    loads: tuple = param((1.0, 2.0, 3.0), "", "the conditions", 0.0)


class _Demo(Protocol):
    """A protocol of three conditions on a 10 um soma, each a short rest."""

    name = "demo"
    description = "three conditions"
    Spec = _DemoSpec
    preset = "mature"

    def geometry(self, spec):
        return geometry.cylinder(10.0, 10.0)

    def measure(self, spec, session):
        from ionhomeo import simulate

        cell = session.cell(spec)
        out = []
        for load in session.conditions(spec.loads, lambda x: f"load {x:g}"):
            cell.initialize()
            simulate.run(1500.0 * load, method="cvode", progress=session.progress)
            out.append((load, float(cell.soma_center.v)))
        return out

    def report(self, spec, data):
        return Report([(f"v {k:g}", v, "mV", "") for k, v in data])


def test_each_condition_of_a_protocol_is_said(h, capsys, monkeypatch):
    monkeypatch.delenv(progress.ENV, raising=False)
    demo = _Demo()
    plain = demo()
    err = capsys.readouterr().err
    assert err == ("ionhomeo: demo: condition 1/3: load 1\n"
                   "ionhomeo: demo: condition 2/3: load 2\n"
                   "ionhomeo: demo: condition 3/3: load 3\n")  # no simulation line by default
    shown = demo(progress=True)  # also each simulation's line
    err = capsys.readouterr().err
    assert err.count("condition ") == 3 and "ionhomeo: 100% (4.5 of 4.5 s simulated," in err
    silent = demo(progress=False)
    assert capsys.readouterr().err == ""
    # progress=False runs exactly as the default; True in chunks (CVODE tolerance)
    assert list(silent.summary["value"]) == list(plain.summary["value"])
    np.testing.assert_allclose(shown.summary["value"], plain.summary["value"], atol=1e-6)


NOTEBOOK_CODE = """\
from neuron import h
from ionhomeo import defaults, mechanisms, simulate
defaults.apply()
soma = h.Section(name="soma")
soma.L = soma.diam = 10
for name in ("nadyn", "kdyn", "nakpump", "naleak", "kleak"):
    mechanisms.insert(soma, name)
h.finitialize(-70)
info = simulate.run(3000.0, progress=True)
print("chunks", info.chunks)
"""


def test_the_simulation_line_is_a_text_bar_in_a_notebook(tmp_path):
    """In a real Jupyter kernel the progress line is one text output updated
    in place (no widget, no carriage returns in a stream)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(NOTEBOOK_CODE)]
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = nb.cells[0].outputs
    bars = [o for o in outputs if o.output_type == "display_data"]
    streams = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert len(bars) == 1, outputs  # one output, updated to its final state
    text = bars[0].data["text/plain"]
    assert re.fullmatch(r"ionhomeo: \[#{30}\] 100% \(3 of 3 s simulated, \S+ s wall\)", text), text
    assert "chunks 3" in streams and "\r" not in streams and "DISPLAY" not in streams


def test_in_notebook_is_false_outside_a_kernel():
    assert progress.in_notebook() is False
    assert progress.bar(0.5, width=10) == "[#####-----]"
    assert progress.bar(2.0, width=4) == "[####]" and progress.bar(float("nan"), 4) == "[----]"
