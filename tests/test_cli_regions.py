"""``ionhomeo regions``: the picture of a cell's regions and its table, end to end
(fresh interpreters), and the figure's colours in process."""

import re
import warnings

import numpy as np
import pytest

from ionhomeo import regionmap
from ionhomeo.cell import Cell

from test_cli_run import PNG_SIGNATURE, run_cli
from test_morphology import shared

#: results.save_figure writes at 120 dpi; the figure is 7 x 7 in, or 18 x 7 in
#: with the parameter's two panels (a constrained layout keeps the size)
SIZE_PX = {False: (840, 840), True: (2160, 840)}

#: a recipe whose parameter changes with distance: kcc2.imax 0.01 mA/cm2,
#: 0.03 beyond 200 um (both within kcc2's range)
RECIPE = """\
name = "two-step"
[[rules]]
region = "all"
mechanism = "kcc2"
params = { imax = 0.01 }
[[rules]]
region = "distance > 200"
mechanism = "kcc2"
params = { imax = "30 uA/cm2" }
"""


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def printed_table(stdout):
    """{region: (segments, sections, area um2)} from the command's table."""
    rows = {}
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines)
                 if re.match(r"region\s+segments\s+sections", line))
    for line in lines[start + 1:]:
        if not line.strip():
            break
        *name, nseg, nsec, area = line.split()
        rows[" ".join(name)] = (int(nseg), int(nsec), float(area))
    return rows


def assert_counts_are_the_regions_own(h, morphology, rows, recipe="mature"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cell = Cell(morphology, recipe)
    try:
        for region, (nseg, nsec, area) in rows.items():
            segs = cell.segments(region)
            assert (nseg, nsec) == (len(segs), len(cell.sections(region))), region
            # the table prints one decimal: within 0.05 um2 of the sum
            assert area == pytest.approx(sum(seg.area() for seg in segs), abs=0.051), region
    finally:
        cell.destroy()


@pytest.fixture(scope="module")
def pyramidal_run(tmp_path_factory):
    """The command on the bundled pyramidal cell, without --out: (process, cwd)."""
    cwd = tmp_path_factory.mktemp("regions")
    proc = run_cli("regions", "--morphology", "pyramidal", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return proc, cwd


def test_the_picture_of_the_pyramidal_cell_is_written_here(pyramidal_run):
    proc, cwd = pyramidal_run
    out = cwd / "regions.png"
    assert png_size(out) == SIZE_PX[False]
    assert f"wrote: {out.resolve()}" in proc.stdout
    assert not list(cwd.glob(".regions.png.*"))  # written atomically: no temporary left


def test_the_printed_counts_are_the_regions_own(pyramidal_run, h):
    proc, _ = pyramidal_run
    rows = printed_table(proc.stdout)
    # the default regions the cell has, in their order
    assert list(rows) == [r for r in regionmap.default_regions() if r in rows]
    assert {"soma", "axon", "basal", "apical"} <= set(rows)
    # the bundled pyramidal cell (tests/test_cell.py counts them by hand)
    assert rows["soma"][:2] == (1, 1) and rows["axon"][:2] == (25, 11)
    assert_counts_are_the_regions_own(h, "pyramidal", rows)


def test_the_l5pc_with_given_regions_and_a_parameter(tmp_path, h):
    path = shared("l5pc_with_axon.swc")
    recipe = tmp_path / "two_step.toml"
    recipe.write_text(RECIPE)
    out = tmp_path / "figs" / "l5pc.png"
    regions = ["axon & distance < 60", "apical & distance > 200", "terminal", "soma | basal"]
    args = ["regions", "--morphology", str(path), "--recipe", str(recipe),
            "--parameter", "kcc2.imax", "--out", str(out)]
    for region in regions:
        args += ["--region", region]
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert png_size(out) == SIZE_PX[True]
    rows = printed_table(proc.stdout)
    assert list(rows) == regions
    assert_counts_are_the_regions_own(h, path, rows, recipe=str(recipe))
    assert "recipe two-step" in proc.stdout


@pytest.mark.parametrize("args, message", [
    (["--morphology", "nope.swc"], r"nope\.swc: no such file; check the path"),
    (["--morphology", "pyramidal", "--region", "apicl"],
     r"unknown name 'apicl'\. Did you mean 'apical'\?"),
    (["--morphology", "pyramidal", "--parameter", "kcc2.imx"],
     r"kcc2 has no parameter 'imx'\. Did you mean 'imax'\?"),
    (["--morphology", "pyramidal", "--parameter", "kcc3.imax"], r"unknown mechanism 'kcc3'"),
    (["--morphology", "pyramidal", "--parameter", "kcc2.kmcl"], r"kcc2\.kmcl is a GLOBAL"),
    (["--morphology", "pyramidal", "--parameter", "imax"], r"write MECHANISM\.PARAMETER"),
    (["--morphology", "pyramidal", "--out", "regions.txt"], r"ending in \.png"),
    (["--morphology", "pyramidal", "--recipe", "matur"], r"Did you mean 'mature'\?"),
])
def test_errors_exit_2_with_their_message(tmp_path, args, message):
    proc = run_cli("regions", *args, cwd=tmp_path)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ionhomeo regions:")]
    assert len(errors) == 1 and re.search(message, errors[0]), proc.stderr
    assert "Traceback" not in proc.stderr
    assert not list(tmp_path.glob("*.png"))


# ----------------------------------------------------------------------------
# the figure in process
# ----------------------------------------------------------------------------

def test_segments_take_the_colour_of_the_last_region_selecting_them(h):
    cell = Cell("pyramidal", "mature")
    try:
        exprs = ["all", "dendrite", "apical & distance > 300", "soma"]
        rows, where, missing = regionmap.table(cell, exprs)
        assert missing == []
        fig = regionmap.figure(cell, rows, where, "pyramidal")
        ax = fig.axes[0]
        [lines] = ax.collections
        colors = lines.get_colors()
        assert len(colors) == len(where.segments)  # every segment has 3-D points
        legend = ax.get_legend()
        handles = getattr(legend, "legend_handles", None) or legend.legendHandles  # mpl < 3.7
        own = {r.region: tuple(handles[i].get_color()) for i, r in enumerate(rows)}
        from neuron import h as _h

        for i, seg in enumerate(where.segments):
            kind = [k for k, secs in cell.sections_by_type.items() if seg.sec in secs][0]
            far = _h.distance(cell.soma_center, seg) > 300
            expected = ("soma" if kind == "soma" else
                        "apical & distance > 300" if kind == "apic" and far else
                        "dendrite" if kind in ("dend", "apic") else "all")
            assert tuple(colors[i][:3]) == pytest.approx(own[expected][:3]), (seg, expected)
        del fig, ax, lines
    finally:
        cell.destroy()


def test_the_parameter_panel_shows_the_recipes_values(h, tmp_path):
    recipe = tmp_path / "two_step.toml"
    recipe.write_text(RECIPE)
    cell = Cell("pyramidal", str(recipe))
    try:
        rows, where, _ = regionmap.table(cell, ["soma"])
        param = regionmap.parameter("kcc2.imax")
        assert param.unit == "mA/cm2"
        values = regionmap.parameter_values(where, param)
        from neuron import h as _h

        far = np.array([_h.distance(cell.soma_center, seg) > 200 for seg in where.segments])
        assert far.any() and (~far).any()
        assert np.array_equal(values, np.where(far, 0.03, 0.01))
        fig = regionmap.figure(cell, rows, where, "pyramidal", param)
        assert len(fig.axes) == 4  # regions, parameter map, profile, colour bar
        assert fig.axes[-1].get_ylabel() == "kcc2.imax (mA/cm\u00b2)"
        del fig
    finally:
        cell.destroy()


def test_a_region_keeps_its_colour_on_a_cell_that_lacks_another(h):
    # the ball and stick has no apical dendrite: basal keeps the third colour
    cell = Cell("ball_and_stick", "mature")
    try:
        exprs = ("soma", "apical", "basal")
        rows, where, missing = regionmap.table(cell, exprs, optional=exprs)
        assert missing == ["apical"]
        assert [(r.region, r.index) for r in rows] == [("soma", 0), ("basal", 2)]
        fig = regionmap.figure(cell, rows, where, "ball_and_stick")
        from matplotlib import colormaps

        basal = where.named_mask("basal")
        colors = fig.axes[0].collections[0].get_colors()
        assert all(tuple(c[:3]) == pytest.approx(colormaps["tab10"].colors[2])
                   for c in colors[basal])
        del fig
    finally:
        cell.destroy()
