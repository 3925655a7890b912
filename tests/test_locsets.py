"""Location sets (ionhomeo.locsets) on the bundled cells and a real reconstruction.

Positions are checked against what the test computes itself: the axon
initial segment's end and the boutons of the L5PC from the SWC points with
plain numpy and a parent table (not through NEURON's sections), uniform
spacing against the region's total length summed here, and random
locations against the section lengths by a chi-square and a
Kolmogorov-Smirnov test.
"""

import math
import warnings
from collections import defaultdict

import numpy as np
import pytest
from scipy import stats

from ionhomeo import locsets
from ionhomeo.cell import Cell
from ionhomeo.locsets import Location, LocationError

from test_morphology import shared

L5PC = "l5pc_with_axon.swc"


def _build(name):
    with warnings.catch_warnings():
        # a preset's rule for a part this cell lacks only warns
        warnings.simplefilter("ignore")
        return Cell(name, "mature")


@pytest.fixture(scope="module")
def cells(h):
    """{name: Cell} of the two bundled cells and the L5PC reconstruction (if present)."""
    built = {name: _build(name) for name in ("ball_and_stick", "pyramidal")}
    try:
        built[L5PC] = _build(shared(L5PC))
    except pytest.skip.Exception:
        pass
    yield built
    for cell in built.values():
        cell.destroy()


def _cell(cells, name):
    if name not in cells:
        pytest.skip(f"{name} is not on this machine")
    return cells[name]


# ----------------------------------------------------------------------------
# the SWC file read here, independently of ionhomeo.morphology and NEURON
# ----------------------------------------------------------------------------

def read_swc(path):
    """{id: (type, xyz array, parent id)} of an SWC file."""
    points = {}
    for line in path.read_text().splitlines():
        fields = line.split("#")[0].split()
        if len(fields) >= 7:
            points[int(fields[0])] = (int(fields[1]), np.array(list(map(float, fields[2:5]))),
                                      int(fields[6]))
    return points


def axon_tree(points):
    """(origin id, {axon id: path length um from the origin}, tip ids, children)
    of the one axon of an SWC file: its origin is the parent of its first point."""
    children = defaultdict(list)
    for pid, (_, _, parent) in points.items():
        children[parent].append(pid)
    first = [p for p, (t, _, parent) in points.items() if t == 2 and points[parent][0] != 2]
    assert len(first) == 1, "the test expects one axon stem"
    origin = points[first[0]][2]
    dist, stack = {origin: 0.0}, [first[0]]
    while stack:
        p = stack.pop()
        parent = points[p][2]
        dist[p] = dist[parent] + float(np.linalg.norm(points[p][1] - points[parent][1]))
        stack += [c for c in children[p] if points[c][0] == 2]
    tips = [p for p in dist if p != origin and not any(points[c][0] == 2 for c in children[p])]
    return origin, dist, tips


def point_along(points, dist, tip, length_um):
    """The xyz point ``length_um`` from the origin on the SWC path to ``tip``."""
    path = [tip]
    while path[-1] in dist and dist[path[-1]] > 0:
        path.append(points[path[-1]][2])
    path = path[::-1]  # origin ... tip
    for a, b in zip(path, path[1:]):
        if dist[a] <= length_um <= dist[b]:
            f = (length_um - dist[a]) / (dist[b] - dist[a])
            return points[a][1] + f * (points[b][1] - points[a][1])
    raise AssertionError("length beyond the tip")


def xyz(loc):
    """NEURON's 3-D point of a location (its section's points, by arc length)."""
    sec = loc.section
    arc = np.array([sec.arc3d(i) for i in range(sec.n3d())])
    pts = np.array([[sec.x3d(i), sec.y3d(i), sec.z3d(i)] for i in range(sec.n3d())])
    s = loc.x * sec.L
    return np.array([np.interp(s, arc, pts[:, k]) for k in range(3)])


# Import3d keeps coordinates in single precision (7 digits): about 1e-4 um
# at the L5PC's coordinates of up to ~1000 um; 1e-3 um leaves a margin
XYZ_TOL_UM = 1e-3


# ----------------------------------------------------------------------------
# soma centre, AIS end, boutons
# ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["ball_and_stick", "pyramidal", L5PC])
def test_soma_center_is_the_cells_soma_centre(cells, name):
    cell = _cell(cells, name)
    loc = locsets.soma_center(cell)
    assert isinstance(loc, Location)
    assert loc.section == cell.sections_by_type["soma"][0] and loc.x == 0.5
    assert loc.distance_um == 0.0
    assert loc.segment == cell.soma_center


@pytest.mark.parametrize("name", ["ball_and_stick", "pyramidal"])
def test_ais_end_is_40_um_along_the_bundled_axon(cells, name, h):
    # both bundled axons are one 1 um cylinder leaving the soma centre
    # (morphologies/README.md): 40 um out is x = 40 / L of the first axon section
    cell = _cell(cells, name)
    loc = locsets.ais_end(cell)
    stem = cell.sections_by_type["axon"][0]
    assert loc.section == stem
    assert loc.x == pytest.approx(40.0 / stem.L, rel=1e-12)
    assert loc.distance_um == pytest.approx(40.0, rel=1e-12)
    short = locsets.ais_end(cell, length_um=25.0)
    assert short.distance_um == pytest.approx(25.0, rel=1e-12)


def test_ais_end_of_the_l5pc_matches_the_swc_path(cells, h):
    cell = _cell(cells, L5PC)
    points = read_swc(shared(L5PC))
    origin, dist, tips = axon_tree(points)
    main_tip = max(tips, key=dist.get)
    for length in (20.0, 40.0, 60.0):
        loc = locsets.ais_end(cell, length_um=length)
        assert loc.section in cell.sections_by_type["axon"]
        expected = point_along(points, dist, main_tip, length)
        assert np.abs(xyz(loc) - expected).max() < XYZ_TOL_UM, length
        # the axon leaves the soma at its 0 end, half the soma from its centre
        stem = cell.sections_by_type["axon"][0]
        assert loc.distance_um == pytest.approx(h.distance(cell.soma_center, stem(0)) + length,
                                                abs=1e-9)


@pytest.mark.parametrize("name, count", [("ball_and_stick", 2), ("pyramidal", 6)])
def test_one_bouton_per_axonal_leaf_of_the_bundled_cells(cells, name, count, h):
    # the bundled boutons are 1 um leaves (morphologies/README.md): the
    # location is the middle of each
    cell = _cell(cells, name)
    locs = locsets.boutons(cell)
    assert len(locs) == count
    for loc in locs:
        assert loc.section.L == pytest.approx(1.0, abs=1e-4)
        assert loc.x == pytest.approx(0.5, abs=1e-12)
        assert loc.distance_um == pytest.approx(
            h.distance(cell.soma_center, loc.section(1)) - loc.section.L / 2, abs=1e-9)
    assert len({loc.section for loc in locs}) == count


def test_boutons_of_the_l5pc_are_its_swc_axon_tips(cells, h):
    cell = _cell(cells, L5PC)
    points = read_swc(shared(L5PC))
    _, _, tips = axon_tree(points)
    locs = locsets.boutons(cell, length_um=2.0)
    assert len(locs) == len(tips) == 65
    tip_xyz = np.array([points[t][1] for t in tips])
    for loc in locs:
        sec = loc.section
        end = np.array([sec.x3d(sec.n3d() - 1), sec.y3d(sec.n3d() - 1), sec.z3d(sec.n3d() - 1)])
        assert np.abs(tip_xyz - end).max(axis=1).min() < XYZ_TOL_UM  # each ends at a tip
        piece = min(2.0, sec.L)  # the centre of the distal 2 um
        assert (1 - loc.x) * sec.L == pytest.approx(piece / 2, rel=1e-9)
        assert loc.distance_um == pytest.approx(
            h.distance(cell.soma_center, sec(1)) - piece / 2, abs=1e-9)


# ----------------------------------------------------------------------------
# uniform and random over a region
# ----------------------------------------------------------------------------

def region_line(cell, region):
    """The region's selected segments laid end to end, computed here:
    ({(section, index): start um on the line}, total length um)."""
    start, total = {}, 0.0
    for seg in cell.segments(region):
        sec = seg.sec
        start[(sec, int(seg.x * sec.nseg))] = total
        total += sec.L / sec.nseg
    return start, total


def on_line(loc, start):
    """A location's coordinate on the line (um); fails if not in a selected segment."""
    sec = loc.section
    i = min(int(loc.x * sec.nseg), sec.nseg - 1)
    assert (sec, i) in start, f"{loc} is outside the region"
    return start[(sec, i)] + (loc.x - i / sec.nseg) * sec.L


REGIONS = [("ball_and_stick", "dendrite", 7), ("pyramidal", "dendrite", 50),
           ("pyramidal", "axon & distance > 100", 9), ("pyramidal", "apical | soma", 40),
           (L5PC, "apical", 200), (L5PC, "axon", 33)]


@pytest.mark.parametrize("name, region, n", REGIONS)
def test_uniform_locations_are_evenly_spaced_over_the_region(cells, name, region, n):
    cell = _cell(cells, name)
    start, total = region_line(cell, region)
    locs = locsets.uniform(cell, region, n)
    assert len(locs) == n
    coords = np.array([on_line(loc, start) for loc in locs])
    # location k at (k + 1/2) T / n; round-off only (sums of ~1000 lengths)
    assert np.abs(coords - (np.arange(n) + 0.5) * total / n).max() < 1e-9 * total
    assert locsets.uniform(cell, region, n) == locs  # deterministic


def test_uniform_distances_are_exact_along_a_section(cells):
    # ball and stick: one 400 um dendrite from the soma centre; n = 8 puts
    # the locations 25, 75, ..., 375 um out
    cell = _cell(cells, "ball_and_stick")
    locs = locsets.uniform(cell, "dendrite", 8)
    dend = cell.sections_by_type["dend"][0]
    assert dend.L == pytest.approx(400.0, rel=1e-6)
    assert [loc.distance_um for loc in locs] == pytest.approx(
        list((np.arange(8) + 0.5) * dend.L / 8), abs=1e-9)
    assert locsets.uniform(cell, "soma", 1)[0].x == pytest.approx(0.5, abs=1e-12)


@pytest.mark.parametrize("name, region", [("pyramidal", "dendrite"), (L5PC, "axon")])
def test_random_locations_are_seeded_and_uniform_by_length(cells, name, region):
    cell = _cell(cells, name)
    n = 20000
    locs = locsets.random(cell, region, n, seed=7)
    assert len(locs) == n
    assert locsets.random(cell, region, n, seed=7) == locs
    other = locsets.random(cell, region, n, seed=8)
    assert sum(a != b for a, b in zip(locs, other)) > n // 2
    start, total = region_line(cell, region)
    coords = np.array([on_line(loc, start) for loc in locs])
    # uniform on the whole line: a KS test; fixed seed, so deterministic,
    # and p < 1e-6 would be a one-in-a-million draw for a correct sampler
    assert stats.kstest(coords / total, "uniform").pvalue > 1e-6
    # counts per section proportional to the section's selected length: a
    # chi-square over the sections expected to hold >= 5 draws (the test's
    # validity condition), the others pooled into one bin
    length = defaultdict(float)
    for (sec, _), _ in start.items():
        length[sec] += sec.L / sec.nseg
    count = defaultdict(int)
    for loc in locs:
        count[loc.section] += 1
    expected = {sec: n * L / total for sec, L in length.items()}
    big = [sec for sec, e in expected.items() if e >= 5]
    observed = [count[sec] for sec in big] + [n - sum(count[sec] for sec in big)]
    wanted = [expected[sec] for sec in big] + [n - sum(expected[sec] for sec in big)]
    if wanted[-1] < 1e-9:
        observed, wanted = observed[:-1], wanted[:-1]
    chi2 = sum((o - e) ** 2 / e for o, e in zip(observed, wanted))
    assert len(big) > 10
    assert chi2 < stats.chi2.ppf(1 - 1e-6, len(wanted) - 1), chi2


# ----------------------------------------------------------------------------
# place
# ----------------------------------------------------------------------------

def test_place_puts_gabaa_synapses_where_asked(cells):
    cell = _cell(cells, "pyramidal")
    locs = locsets.uniform(cell, "apical", 12)
    syns = locsets.place(cell, locs, "GabaA", tau2=12.0)
    assert len(syns) == 12
    for syn, loc in zip(syns, locs):
        seg = syn.get_segment()
        assert seg.sec == loc.section
        # NEURON puts a point process at the centre of the segment holding x
        nseg = loc.section.nseg
        assert seg.x == pytest.approx((min(int(loc.x * nseg), nseg - 1) + 0.5) / nseg, abs=1e-12)
        assert syn.tau2 == 12.0
    del syns


def test_place_takes_neurons_own_point_processes(cells):
    cell = _cell(cells, "ball_and_stick")
    [clamp] = locsets.place(cell, locsets.soma_center(cell), "IClamp", amp=0.2, dur=5.0)
    assert clamp.get_segment().sec == cell.soma_center.sec
    assert (clamp.amp, clamp.dur) == (0.2, 5.0)
    with pytest.raises(LocationError, match="IClamp has no parameter 'ampp'"):
        locsets.place(cell, locsets.soma_center(cell), "IClamp", ampp=0.2)
    del clamp


# ----------------------------------------------------------------------------
# errors
# ----------------------------------------------------------------------------

def test_errors_name_the_problem_and_the_fix(cells, tmp_path):
    cell = _cell(cells, "ball_and_stick")
    with pytest.raises(LocationError, match=r"region 'dendrite & distance > 100000' selects no "
                                            r"membrane of cell 'ball_and_stick.swc'"):
        locsets.uniform(cell, "dendrite & distance > 100000", 3)
    for n in (0, -2):
        with pytest.raises(LocationError, match="at least one location"):
            locsets.uniform(cell, "dendrite", n)
    for n in (2.5, True, "3"):
        with pytest.raises(LocationError, match="whole number >= 1"):
            locsets.random(cell, "dendrite", n, seed=1)
    for seed in (1.5, "1", None, True, -1):
        with pytest.raises(LocationError, match="seed = .*whole number >= 0"):
            locsets.random(cell, "dendrite", 3, seed=seed)
    with pytest.raises(LocationError, match=r"cell 'ball_and_stick.swc': its axon reaches "
                                            r"301 um .* at most 301 um"):
        locsets.ais_end(cell, length_um=1000)
    for bad in (0, -5, math.nan, math.inf, "40"):
        with pytest.raises(LocationError, match="length_um"):
            locsets.ais_end(cell, length_um=bad)
        with pytest.raises(LocationError, match="length_um"):
            locsets.boutons(cell, length_um=bad)
    with pytest.raises(LocationError, match="not a point process NEURON knows. Did you mean "
                                            "'GabaA'"):
        locsets.place(cell, locsets.soma_center(cell), "GabbaA")
    with pytest.raises(LocationError, match="not on cell 'pyramidal.swc'"):
        locsets.place(cells["pyramidal"], locsets.soma_center(cell), "GabaA")


def test_a_cell_without_an_axon_has_no_ais_and_no_boutons(h, tmp_path):
    swc = tmp_path / "no_axon.swc"
    swc.write_text("1 1 0 0 0 10 -1\n2 1 0 -10 0 10 1\n3 1 0 10 0 10 1\n"
                   "4 3 0 20 0 1 3\n5 3 0 120 0 1 4\n")
    cell = _build(swc)
    try:
        for make in (locsets.ais_end, locsets.boutons):
            with pytest.raises(LocationError, match="cell 'no_axon.swc' has no axon"):
                make(cell)
        assert len(locsets.uniform(cell, "basal", 4)) == 4
    finally:
        cell.destroy()
