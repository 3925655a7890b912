"""ionhomeo.plotting: units spelled for people and recorded with the column
they show, flat quantities drawn as deviations from their mean, the cell's
shape coloured by a value per segment, and the house style's finish."""

import math

import numpy as np
import pandas as pd
import pytest

from ionhomeo import plotting


@pytest.mark.parametrize("unit,shown", [
    ("uM", "\u00b5M"), ("um", "\u00b5m"), ("um2", "\u00b5m\u00b2"), ("uA/cm2", "\u00b5A/cm\u00b2"),
    ("1/um", "1/\u00b5m"), ("mM", "mM"), ("mV s", "mV s"), ("MOhm", "M\u03a9"), ("degC", "\u00b0C"),
    ("1", ""), ("", ""), ("Hz", "Hz"), ("uM/s", "\u00b5M/s"), ("mA/cm2", "mA/cm\u00b2")])
def test_units_are_spelled_for_people(unit, shown):
    assert plotting.pretty_unit(unit) == shown


def test_a_label_is_quantity_and_unit_and_records_its_column():
    fig, ax = plotting.figure("demo", "a test")
    text = plotting.label(ax, "y", "Ca$_i$", "uM", table="summary", column="value",
                          where={"quantity": "Cai soma"})
    assert text == ax.get_ylabel() == "Ca$_i$ (\u00b5M)"
    plotting.label(ax, "x", "share", "1")
    assert ax.get_xlabel() == "share"  # a pure number: no parentheses
    record = plotting.describe(fig)["panels"][0]["y"]
    assert record["recorded"] and record["unit"] == "uM" and record["table"] == "summary"
    assert record["where"] == {"quantity": "Cai soma"}


def test_a_label_set_behind_the_helpers_back_is_not_recorded():
    fig, ax = plotting.figure("demo", "a test")
    plotting.label(ax, "y", "V", "mV")
    ax.set_ylabel("V (mV), changed")
    ax.set_xlabel("t (ms)")
    panel = plotting.describe(fig)["panels"][0]
    assert panel["y"] == {"label": "V (mV), changed", "recorded": False}
    assert panel["x"] == {"label": "t (ms)", "recorded": False}


def test_potentials_flat_to_the_eye_are_shown_in_microvolts():
    # an earlier rest run's case: 2 uV over the cell, around -78.7 mV
    v = -78.7066 + np.linspace(-1e-3, 1.3e-3, 40)
    s = plotting.scale_for(v, "mV")
    assert s.deviation == "uV" and s.factor == 1e3
    assert s.mean == pytest.approx(v.mean())
    assert np.allclose(s(v), (v - v.mean()) * 1e3)
    assert np.ptp(s(v)) == pytest.approx(2.3)
    assert plotting.spread_text(s) == "uniform within 2.3 \u00b5V"
    # 0.05 mV is resolved by a recording: drawn as it is
    assert plotting.scale_for(-70 + np.linspace(0, 0.05, 5), "mV").deviation is None


def test_concentrations_flat_to_the_eye_are_shown_in_ppm_of_their_mean():
    nai = 14.0795 * (1 + np.linspace(-4e-6, 4e-6, 9))
    s = plotting.scale_for(nai, "mM")
    assert s.deviation == "ppm"
    assert s(nai).min() == pytest.approx(-4.0, rel=1e-6) and s(nai).max() == pytest.approx(4.0)
    # a 0.1 % gradient (rest's Cl along the dendrites) is a real one: as it is
    cli = 3.88 * (1 + np.linspace(0, 1e-3, 9))
    assert plotting.scale_for(cli, "mM").deviation is None
    assert "(0.1 %)" in plotting.spread_text(plotting.scale_for(cli, "mM"))
    # rel=None: never as deviations (a parameter drawn as the recipe sets it)
    assert plotting.scale_for(nai, "mM", rel=None).deviation is None
    assert plotting.scale_for([], "mM").deviation is None
    assert plotting.scale_for([0.0, 0.0], "mM").deviation is None  # no relative deviation


def test_values_labels_a_flat_axis_with_the_mean_in_the_tables_unit():
    fig, ax = plotting.figure("demo", "flat")
    y = 0.11614 * (1 + np.array([-1e-5, 0.0, 2e-5]))
    s = plotting.values(ax, "y", y, "uM", "Ca$_i$", table="summary", column="value")
    ax.plot([0, 1, 2], s(y), "o")
    assert ax.get_ylabel() == "\u0394Ca$_i$ (ppm)\nmean 0.1161404 \u00b5M"  # 7 digits
    record = plotting.describe(fig)["panels"][0]["y"]
    assert record["unit"] == "uM" and record["deviation"] == "ppm"
    assert record["mean"] == pytest.approx(y.mean())
    # drawn in ppm: the axis spans tens of ppm, not 1e-6 uM
    low, high = ax.get_ylim()
    assert 20 < high - low < 100


def test_finish_letters_the_panels_and_names_the_protocol():
    fig, axes = plotting.figure("", "two panels", 1, 3, size=(12, 4))
    axes[0].set_title("first")
    twin = axes[0].twinx()
    twin.plot([0, 1], [0, 1])
    from matplotlib.cm import ScalarMappable

    fig.colorbar(ScalarMappable(), ax=axes[2])
    axes[1].plot([0, 1], [0, 1])
    plotting.finish(fig, "demo")
    plotting.finish(fig, "demo")  # once only
    description = plotting.describe(fig)
    assert description["title"] == "demo: two panels"
    kinds = [(p["kind"], p["letter"]) for p in description["panels"]]
    assert kinds == [("main", "a"), ("main", "b"), ("main", "c"), ("twin", ""), ("colorbar", "")]
    assert description["panels"][0]["title"] == "first"
    assert axes[0].get_title(loc="left").startswith("$\\mathbf{a}$")
    # one panel: no letter, the title kept where it is
    fig, ax = plotting.figure("demo", "one panel")
    ax.set_title("alone")
    plotting.finish(fig, "demo")
    assert ax.get_title() == "alone" and ax.get_title(loc="left") == ""
    assert plotting.describe(fig)["panels"][0]["letter"] == ""


def test_a_long_panel_title_is_wrapped_to_its_panel():
    fig, axes = plotting.figure("demo", "narrow panels", 1, 3, size=(9, 3))
    long = "part C: SERCA against MCU, Michaelis-Menten (Hill 1): relative error 4.3e-15 " * 2
    axes[0].set_title(long.strip())
    plotting.finish(fig, "demo")
    shown = axes[0].get_title(loc="left")
    assert shown.count("\n") >= 2
    assert " ".join(shown.split()[1:]) == " ".join(long.split())  # nothing lost


def test_segment_values_at_a_time_of_a_recording():
    table = pd.DataFrame({"t_ms": [0.0, 0.0, 10.0, 10.0], "variable": ["cli"] * 4,
                          "where": ["a(0.5)", "b(0.5)", "a(0.5)", "b(0.5)"],
                          "value": [1.0, 2.0, 3.0, 4.0], "unit": ["mM"] * 4})
    assert plotting.segment_values(table, "cli") == {"a(0.5)": 3.0, "b(0.5)": 4.0}
    assert plotting.segment_values(table, "cli", t_ms=2.0) == {"a(0.5)": 1.0, "b(0.5)": 2.0}
    profile = table.drop(columns="t_ms").rename(columns={"where": "segment"}).iloc[:2]
    assert plotting.segment_values(profile, "cli", name="segment") == {"a(0.5)": 1.0,
                                                                       "b(0.5)": 2.0}


def test_the_shape_of_a_cell_coloured_by_a_value_per_segment(h):
    """Every segment drawn with the colour of its own value (by name), grey
    without one, line width from the diameter; drawn after the cell is gone."""
    import warnings

    from matplotlib import colormaps

    from ionhomeo.cell import Cell

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cell = Cell("ball_and_stick", "mature")
    try:
        shape = plotting.CellShape.of(cell)
        segments = [seg for sec in cell.all for seg in sec]
        names = [str(seg) for seg in segments]
        diam = np.array([seg.diam for seg in segments])
        dist = {str(seg): h.distance(cell.soma_center, seg) for seg in segments}
    finally:
        cell.destroy()
    assert list(shape.names) == names and np.array_equal(shape.diam_um, diam)
    assert shape.title == "ball_and_stick.swc" and shape.soma  # the soma's outline
    values = dict(dist)
    missing = names[-1]
    del values[missing]  # a segment without a value: grey
    fig, ax = plotting.figure("demo", "shape")
    bar = plotting.shape(ax, shape, values, "um", "distance from the soma", table="profile",
                         column="distance_um")
    [lines] = ax.collections
    colours = lines.get_colors()
    drawn = [i for i, line in enumerate(shape.lines) if line is not None]
    assert len(colours) == len(drawn)
    v = np.array([values.get(n, math.nan) for n in names])
    norm, cmap = bar.mappable.norm, colormaps["viridis"]
    for k, i in enumerate(drawn):
        expected = (0.8, 0.8, 0.8, 1.0) if names[i] == missing else cmap(norm(v[i]))
        assert tuple(colours[k]) == pytest.approx(expected), names[i]
    assert list(lines.get_linewidths()) == pytest.approx(list(shape.widths()[drawn]))
    assert bar.ax.get_ylabel() == "distance from the soma (\u00b5m)"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x (\u00b5m)", "y (\u00b5m)")
    # the same value everywhere but 5 ppm: coloured by its deviation, the mean stated
    flat = {n: 3.88 * (1 + 5e-6 * (k % 2)) for k, n in enumerate(names)}
    fig, ax = plotting.figure("demo", "flat shape")
    bar = plotting.shape(ax, shape, flat, "mM", "Cl$_i$")
    assert bar.ax.get_ylabel().startswith("\u0394Cl$_i$ (ppm)\nmean 3.88")
    assert bar.mappable.norm.vmax - bar.mappable.norm.vmin == pytest.approx(5.0, rel=1e-3)
    with pytest.raises(ValueError, match="one per segment"):
        shape.aligned([1.0, 2.0])
