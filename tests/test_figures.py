"""Every protocol's figure keeps the house rules (tests/figures.py): each
protocol's test checks its own run's figure; here, that every registered
protocol is so checked, the figures of spike-train and of the scorecard (whose
own run is slow), and that the check catches what it is for."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ionhomeo import plotting
from ionhomeo.experiment import summary_table, write_outputs
from ionhomeo.protocols import PROTOCOLS

import figures

TESTS = Path(__file__).parent


def test_every_protocols_figure_is_checked_by_a_test():
    called = set()
    for path in TESTS.glob("test_*.py"):
        called |= set(re.findall(r"check_figure\([^)]*?\"([a-z0-9-]+)\"\)", path.read_text()))
    assert sorted(set(PROTOCOLS) - called) == []


def test_the_spike_train_figure(h, tmp_path):
    PROTOCOLS["spike-train"](out_dir=tmp_path, duration_s=8.0)
    fig = figures.check_figure(tmp_path, "spike-train")
    pump = fig["panels"][4]["y"]
    assert pump["unit"] == "uA/cm2" and pump["label"] == "pump current, outward (\u00b5A/cm\u00b2)"


def test_the_scorecard_figure(tmp_path):
    """The scorecard's figure, drawn from a table of its shape (its own run takes
    minutes and is a slow test)."""
    from ionhomeo.protocols import scorecard_figure

    table = pd.DataFrame({"preset": ["mature", "mature", "immature"], "id": ["rin", "vrest", "rin"],
                          "obtained": [150.0, -80.0, 400.0], "low": [100.0, -75.0, 200.0],
                          "high": [300.0, -60.0, 600.0], "unit": ["MOhm", "mV", "MOhm"],
                          "result": ["PASS", "FAIL", "PASS"]})
    write_outputs(tmp_path, "scorecard", summary_table([("x", 1.0, "1", "a number")]),
                  {"protocol": "scorecard"}, figure=lambda: scorecard_figure.draw(table),
                  tables={"": table})
    fig = figures.check_figure(tmp_path, "scorecard")
    assert fig["panels"][0]["y"]["column"] == "id"


def _write(out, draw, table=None):
    table = pd.DataFrame({"t_ms": [0.0, 1.0, 2.0], "I_syn_nA": [-0.05, 0.0, 0.06]}) \
        if table is None else table
    write_outputs(out, "demo", summary_table([("Cai soma", 0.1, "uM", "resting Ca")]),
                  {"protocol": "demo"}, figure=draw, tables={"": table})
    return out


def _demo(ylabel=("current", "nA"), legend="run 1", x=("t", "ms")):
    def draw():
        fig, ax = plotting.figure("demo", "a check of the check")
        ax.plot([0, 1, 2], np.array([-0.05, 0.0, 0.06]) * (1e3 if ylabel[1] == "pA" else 1),
                label=legend)
        plotting.label(ax, "x", *x, table="", column="t_ms")
        plotting.label(ax, "y", *ylabel, table="", column="I_syn_nA")
        ax.legend()
        return fig
    return draw


def test_the_check_passes_a_figure_in_the_tables_units(tmp_path):
    figures.check_figure(_write(tmp_path, _demo()), "demo")


def test_the_check_catches_a_current_in_pA_from_a_column_in_nA(tmp_path):
    # egaba's figure drew the table's nA as pA
    with pytest.raises(AssertionError, match=r"I_syn_nA .* in pA, its table in"):
        figures.check_figure(_write(tmp_path, _demo(ylabel=("current", "pA"))), "demo")


def test_the_check_catches_ascii_units_and_symbols(tmp_path):
    with pytest.raises(AssertionError, match="ASCII spellings.*'uM'"):
        figures.check_figure(_write(tmp_path / "a", _demo(legend="dye 50 uM")), "demo")
    for text, word in (("kS 99.2, gamma 40/s", "kS"), ("R2 0.99", "R2"),
                       ("tau = 24.7 s", "tau"), ("E_GABA -78 mV", "E_GABA")):
        assert figures.ASCII_WORDS.findall(text)[0] == word, text
    for text in (r"$\kappa_\mathrm{S}$ 99.2", "R\u00b2 0.99", r"$\tau$ = 24.7 s",
                 r"$E_\mathrm{GABA}$", "50 \u00b5M", "the sum", "Cl$_i$ (mM)"):
        assert figures.ASCII_WORDS.findall(text) == [], text


def test_the_check_catches_a_label_set_without_the_helper(tmp_path):
    def draw():
        fig = _demo()()
        fig.axes[0].set_xlabel("time (s)")  # the CSV has ms, and the label is not recorded
        return fig
    with pytest.raises(AssertionError, match="was not set with ionhomeo.plotting.label"):
        figures.check_figure(_write(tmp_path, draw), "demo")


def test_the_check_reads_units_from_a_unit_column(tmp_path):
    tidy = pd.DataFrame({"t_ms": [0.0, 1.0], "variable": ["cai", "cai"], "value": [100.0, 110.0],
                         "unit": ["nM", "nM"]})

    def draw(unit):
        def inner():
            fig, ax = plotting.figure("demo", "tidy")
            ax.plot(tidy["t_ms"], tidy["value"])
            plotting.label(ax, "x", "t", "ms", table="", column="t_ms")
            plotting.label(ax, "y", "Ca$_i$", unit, table="", column="value",
                           where={"variable": "cai"})
            return fig
        return inner
    figures.check_figure(_write(tmp_path / "nM", draw("nM"), tidy), "demo")
    with pytest.raises(AssertionError, match="in uM, its table in nM"):
        figures.check_figure(_write(tmp_path / "uM", draw("uM"), tidy), "demo")


def test_the_check_catches_a_figure_outside_the_house_style(tmp_path):
    def draw():
        from matplotlib.figure import Figure

        fig = Figure(figsize=(5, 3))  # matplotlib's own fonts and layout
        ax = fig.subplots()
        ax.plot([0, 1, 2], [-0.05, 0.0, 0.06])
        plotting.label(ax, "x", "t", "ms", table="", column="t_ms")
        plotting.label(ax, "y", "current", "nA", table="", column="I_syn_nA")
        return fig
    with pytest.raises(AssertionError, match="not made with ionhomeo.plotting.figure"):
        figures.check_figure(_write(tmp_path, draw), "demo")
