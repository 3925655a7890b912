"""The anatomical regions (issue 18) on the bundled cells and three reconstructions.

Every new region (``ais``, ``bouton``/``terminal``, ``trunk``, ``oblique``,
``tuft``, ``proximal``, ``distal``) and the Sites quantities behind them
(``axon_distance_um``, ``tip_distance_um``, ``trunk_distance_um``) are
computed a second time here, from the SWC file's points with numpy and a
small tree of our own, not through ionhomeo.regions:

* the SWC points are grouped into unbranched sections as NEURON's Import3d
  does (a new section at every branch point, every change of type and every
  point whose parent is not the line before it; a section whose parent is
  not the soma starts with a copy of its parent point), and each section's
  length is the sum of its point-to-point distances;
* the discretisation is the Cell's (the d_lambda rule, not a region rule):
  each section's nseg is read from NEURON, matched by the coordinates of the
  section's last point, and its segment centres are at (j + 1/2)/nseg of its
  length;
* the soma is Import3d's: whether a neurite stem starts at its parent soma
  point (Import3d does so for some somata, such as the L5PC's chain of soma
  points) and the path from the soma centre to the stem's start are read
  from NEURON, per stem; every other length comes from the SWC points.

The rules are then applied to that tree by tree recursion (subtree lengths,
daughters at each branch point), and the segments selected compared with
the Cell's, segment by segment. The counts are also stored (``COUNTS``), so a
change in the discretisation or in Import3d shows.
"""

import math
import warnings

import numpy as np
import pytest

from ionhomeo import morphology, recipe, regions
from ionhomeo.regions import EmptyRegionError, RegionError

from test_morphology import shared

NEW = ("ais", "bouton", "terminal", "trunk", "oblique", "tuft", "proximal", "distal")
CELLS = ("ball_and_stick", "pyramidal", "l5pc_with_axon.swc", "ca1_n120.swc",
         "allen_485574832.swc")

#: segments selected per region with the default lengths and the default
#: discretisation (d_lambda 0.1 at 100 Hz, mature preset); equal to the
#: independent computation below (test_regions_match_the_rules_computed_from_the_swc_points)
COUNTS = {
    "ball_and_stick": {"axon": 9, "ais": 1, "bouton": 2, "terminal": 2, "apical": 0,
                       "trunk": 0, "oblique": 0, "tuft": 0, "dendrite": 7, "proximal": 2,
                       "distal": 4},
    "pyramidal": {"axon": 25, "ais": 1, "bouton": 6, "terminal": 6, "apical": 39, "trunk": 6,
                  "oblique": 15, "tuft": 18, "dendrite": 94, "proximal": 29, "distal": 27},
    "l5pc_with_axon.swc": {"axon": 574, "ais": 1, "bouton": 65, "terminal": 65, "apical": 333,
                           "trunk": 15, "oblique": 148, "tuft": 170, "dendrite": 493,
                           "proximal": 85, "distal": 259},
    "ca1_n120.swc": {"axon": 0, "ais": 0, "bouton": 0, "terminal": 0, "apical": 165,
                     "trunk": 19, "oblique": 84, "tuft": 62, "dendrite": 432, "proximal": 13,
                     "distal": 364},
    "allen_485574832.swc": {"axon": 3, "ais": 1, "bouton": 1, "terminal": 1, "apical": 135,
                            "trunk": 24, "oblique": 53, "tuft": 58, "dendrite": 211,
                            "proximal": 100, "distal": 82},
}

#: path distance (um) from the soma centre to the main bifurcation, from the
#: independent computation (None: no apical dendrite)
BIFURCATION_UM = {"ball_and_stick": None, "pyramidal": 400.0, "l5pc_with_axon.swc": 414.3,
                  "ca1_n120.swc": 586.6, "allen_485574832.swc": 432.7}

SOMA, AXON, BASAL, APICAL = 1, 2, 3, 4


def _path(name):
    return morphology.bundled(name) if name in morphology.BUNDLED else shared(name)


def _cell(name):
    from ionhomeo.cell import Cell

    return Cell(_path(name), "mature")


@pytest.fixture(scope="module")
def cells(h):
    """name -> (Cell, its Sites, the independent SWC model); destroyed at the end."""
    built = {}
    try:
        for name in CELLS:
            try:
                path = _path(name)
            except pytest.skip.Exception:
                continue
            cell = _cell(name)
            built[name] = (cell, regions.sites(cell), SwcModel(path, cell))
        yield built
    finally:
        for cell, *_ in built.values():
            cell.destroy()
        built.clear()


def _get(cells, name):
    if name not in cells:
        pytest.skip(f"{name} is not on this machine")
    return cells[name]


# ----------------------------------------------------------------------------
# the independent model: SWC points -> sections -> the region rules
# ----------------------------------------------------------------------------

class SwcModel:
    """The SWC file as Import3d's sections, with the region rules applied by hand."""

    def __init__(self, path, cell):
        from neuron import h

        rows = np.loadtxt(path, comments="#", ndmin=2)
        ids = rows[:, 0].astype(int)
        self.kind = dict(zip(ids, rows[:, 1].astype(int)))
        self.xyz = dict(zip(ids, rows[:, 2:5]))
        self.parent = dict(zip(ids, rows[:, 6].astype(int)))
        children = {i: [] for i in ids}
        for i, p in self.parent.items():
            if p != -1:
                children[p].append(i)
        # sections: runs of one type, each point's parent the line before it; a
        # new one below a branch point, a type change, the soma, or a point whose
        # parent is not the line before (Import3d's rule for SWC files)
        previous = dict(zip(ids[1:], ids[:-1]))

        def starts_section(i):
            p = self.parent[i]
            return (self.kind[p] == SOMA or self.kind[p] != self.kind[i]
                    or len(children[p]) > 1 or previous.get(i) != p)

        starts = [i for i in ids if self.kind[i] != SOMA and starts_section(i)]
        self.sections = []  # dicts: kind, points (ids), parent_point, parent (index or None)
        last_of = {}
        for first in starts:
            pts = [first]
            while len(children[pts[-1]]) == 1 and not starts_section(children[pts[-1]][0]):
                pts.append(children[pts[-1]][0])
            self.sections.append({"kind": self.kind[first], "points": pts,
                                  "parent_point": self.parent[first]})
            last_of[pts[-1]] = len(self.sections) - 1
        for sec in self.sections:
            p = sec["parent_point"]
            sec["parent"] = None if self.kind[p] == SOMA else last_of[p]
        self.children = [[] for _ in self.sections]
        for k, sec in enumerate(self.sections):
            if sec["parent"] is not None:
                self.children[sec["parent"]].append(k)
        # from NEURON: each section's nseg (matched by its last point) and, for
        # stems, whether Import3d starts them at their soma point and the path
        # from the soma centre to that start
        neurites = [sec for sec in cell.all if sec not in cell.sections_by_type["soma"]]
        ends = np.array([self._point(sec, sec.n3d() - 1) for sec in neurites])
        self.nrn = []
        for sec in self.sections:
            # the NEURON section ending at our last point (float32 there: 0.01 um)
            gap = np.linalg.norm(ends - self.xyz[sec["points"][-1]], axis=1)
            assert np.sum(gap < 0.01) == 1, (sec["points"][-1], np.sort(gap)[:2])
            nrn = neurites[int(np.argmin(gap))]
            assert nrn.orientation() == 0
            p = sec["parent_point"]
            if sec["parent"] is None:  # a stem
                starts_at_soma = np.linalg.norm(self._point(nrn, 0) - self.xyz[p]) < 0.01
                chain = [p] + sec["points"] if starts_at_soma else sec["points"]
            else:  # a copy of the branch point, where the section is attached (its 1 end)
                assert nrn.parentseg().x == 1.0
                chain = [p] + sec["points"]
            xyz = np.array([self.xyz[i] for i in chain])
            sec["L"] = float(np.sum(np.linalg.norm(np.diff(xyz, axis=0), axis=1)))
            # our section lengths are Import3d's (its points are float32: 1e-3 um)
            assert nrn.L == pytest.approx(sec["L"], abs=1e-3), (nrn.name(), sec["L"])
            self.nrn.append(nrn)
            sec["nseg"] = nrn.nseg
        assert len(set(self.nrn)) == len(self.nrn) == len(neurites)
        self.start = [0.0] * len(self.sections)  # path from the soma centre to each start
        for k, sec in enumerate(self.sections):  # parents come before their children
            if sec["parent"] is None:
                self.start[k] = h.distance(cell.soma_center, self.nrn[k](0))
            else:
                self.start[k] = self.start[sec["parent"]] + self.sections[sec["parent"]]["L"]

    @staticmethod
    def _point(sec, i):
        return np.array([sec.x3d(i), sec.y3d(i), sec.z3d(i)])

    # -- helpers -------------------------------------------------------------

    def segments(self, k):
        """(segment key, u of its centre) for every segment of section k."""
        n = self.sections[k]["nseg"]
        return [((k, j), (j + 0.5) / n) for j in range(n)]

    def of_kind(self, *kinds):
        return [k for k, sec in enumerate(self.sections) if sec["kind"] in kinds]

    def subtree_length(self, k):
        return self.sections[k]["L"] + sum(self.subtree_length(c) for c in self.children[k])

    def subtree(self, k):
        out = [k]
        for c in self.children[k]:
            out += self.subtree(c)
        return out

    def stem(self, k):
        while self.sections[k]["parent"] is not None \
                and self.sections[self.sections[k]["parent"]]["kind"] == self.sections[k]["kind"]:
            k = self.sections[k]["parent"]
        return k

    # -- the rules -------------------------------------------------------------

    def axon_distance(self):
        """{segment: path from its axon stem's origin}."""
        out = {}
        for k in self.of_kind(AXON):
            stem = self.stem(k)
            for key, u in self.segments(k):
                out[key] = self.start[k] - self.start[stem] + u * self.sections[k]["L"]
        return out

    def tip_distance(self):
        """{segment of an axonal leaf: path to the leaf's end}."""
        leaves = [k for k in self.of_kind(AXON)
                  if not any(self.sections[c]["kind"] == AXON for c in self.children[k])]
        return {key: (1 - u) * self.sections[k]["L"] for k in leaves for key, u in self.segments(k)}

    def ais(self, length_um=40.0):
        first = {(self.stem(k), 0) for k in self.of_kind(AXON)}
        return {key for key, d in self.axon_distance().items() if d < length_um} | first

    def bouton(self, length_um=2.0):
        tips = self.tip_distance()
        last = {(k, self.sections[k]["nseg"] - 1) for k, _ in tips}
        return {key for key, d in tips.items() if d < length_um} | last

    def distance(self, kinds):
        return {key: self.start[k] + u * self.sections[k]["L"]
                for k in self.of_kind(*kinds) for key, u in self.segments(k)}

    def apical(self):
        """(trunk, oblique, tuft as sets of segments, {segment: trunk distance},
        path distance of the main bifurcation or None)."""
        apical = self.of_kind(APICAL)
        if not apical:
            return set(), set(), set(), {}, None
        tip = max(apical, key=lambda k: self.start[k] + self.sections[k]["L"])
        path = [tip]
        while self.sections[path[-1]]["parent"] is not None:
            path.append(self.sections[path[-1]]["parent"])
        path.reverse()
        fork = None  # the index in path of the section that ends at the main bifurcation
        for i, k in enumerate(path[:-1]):
            daughters = sorted((self.subtree_length(c) for c in self.children[k]), reverse=True)
            if len(daughters) > 1 and daughters[1] >= 0.3 * sum(daughters):
                fork = i
                break
        trunk_secs = path if fork is None else path[:fork + 1]
        fork_um = None if fork is None else self.start[path[fork]] + self.sections[path[fork]]["L"]
        trunk, oblique, tuft, tdist = set(), set(), set(), {}
        for k in trunk_secs:
            for key, u in self.segments(k):
                trunk.add(key)
                tdist[key] = self.start[k] + u * self.sections[k]["L"]
        beyond = [] if fork is None else self.subtree(path[fork + 1])
        for i, k in enumerate(trunk_secs):
            for c in self.children[k]:
                if c in trunk_secs or c in beyond:
                    continue
                for s in self.subtree(c):
                    for key, _ in self.segments(s):
                        (tuft if i == fork else oblique).add(key)
                        tdist[key] = fork_um if i == fork else self.start[c]
        for s in beyond:
            for key, _ in self.segments(s):
                tuft.add(key)
                tdist[key] = fork_um
        others = [k for k in apical if self.sections[k]["parent"] is None and k != path[0]]
        assert not others, "a second apical stem: not in these cells"
        return trunk, oblique, tuft, tdist, fork_um

    def expected(self, name):
        """The segments region ``name`` selects, by the rules of the module docstring."""
        if name == "ais":
            return self.ais()
        if name in ("bouton", "terminal"):
            return self.bouton()
        if name in ("trunk", "oblique", "tuft"):
            return self.apical()[("trunk", "oblique", "tuft").index(name)]
        if name == "proximal":
            return {key for key, d in self.distance((BASAL, APICAL)).items() if d < 100.0}
        if name == "distal":
            return {key for key, d in self.distance((BASAL, APICAL)).items() if d >= 200.0}
        kinds = {"axon": (AXON,), "apical": (APICAL,), "dendrite": (BASAL, APICAL)}[name]
        return {key for k in self.of_kind(*kinds) for key, _ in self.segments(k)}

    def keys(self, segments):
        """Our keys (section index, segment index) of NEURON segments."""
        index = {sec: k for k, sec in enumerate(self.nrn)}
        return {(index[seg.sec], min(int(seg.x * seg.sec.nseg), seg.sec.nseg - 1))
                for seg in segments}

    def values(self, where, array):
        """{our key: value} of a per-segment Sites array, where it is defined."""
        index = {sec: k for k, sec in enumerate(self.nrn)}
        return {(index[seg.sec], min(int(seg.x * seg.sec.nseg), seg.sec.nseg - 1)): float(v)
                for seg, v in zip(where.segments, array)
                if not math.isnan(v) and seg.sec in index}


# ----------------------------------------------------------------------------
# the regions against the independent rules
# ----------------------------------------------------------------------------

THRESHOLDS_UM = {"ais": 40.0, "proximal": 100.0, "distal": 200.0}


@pytest.mark.parametrize("name", CELLS)
def test_regions_match_the_rules_computed_from_the_swc_points(cells, name):
    cell, where, model = _get(cells, name)
    counts = {}
    for region in COUNTS[name]:
        got = model.keys(regions.parse(region).segments(cell, optional=True))
        expected = model.expected(region)
        assert got == expected, (f"{name}, {region}: {len(got)} segments, the rules give "
                                 f"{len(expected)}; only in ionhomeo: "
                                 f"{sorted(got - expected)[:5]}, only by the rules: "
                                 f"{sorted(expected - got)[:5]}")
        counts[region] = len(got)
    assert counts == COUNTS[name]
    # a segment centre within 0.01 um of a threshold (float32 points) is decided the
    # same way by both only if both distances are the same number there: so the
    # equality above is not luck (the ball and stick's dendrite has a centre at
    # exactly 200 um: 0 + 0.5 x 400 um)
    for ours, theirs, thresholds in (
            (model.distance((BASAL, APICAL)), model.values(where, where.distance_um),
             (THRESHOLDS_UM["proximal"], THRESHOLDS_UM["distal"])),
            (model.axon_distance(), model.values(where, where.axon_distance_um),
             (THRESHOLDS_UM["ais"],))):
        for key, d in ours.items():
            if any(abs(d - t) < 0.01 for t in thresholds):
                assert theirs[key] == pytest.approx(d, abs=1e-9), (name, key, d)


@pytest.mark.parametrize("name", CELLS)
def test_the_distances_behind_the_regions_equal_the_swc_path_lengths(cells, name):
    """axon_distance, tip_distance and trunk_distance (um) at every segment centre;
    1e-3 um: Import3d stores the points in float32 (7 digits of 1000 um)."""
    cell, where, model = _get(cells, name)
    for label, ours, theirs in (
            ("axon_distance", model.values(where, where.axon_distance_um), model.axon_distance()),
            ("tip_distance", model.values(where, where.tip_distance_um), model.tip_distance()),
            ("trunk_distance", model.values(where, where.trunk_distance_um), model.apical()[3])):
        assert ours.keys() == theirs.keys(), label
        for key, value in ours.items():
            assert value == pytest.approx(theirs[key], abs=1e-3), (name, label, key)
    fork = model.apical()[4]
    expected = BIFURCATION_UM[name]
    if expected is None:
        assert fork is None and math.isnan(where.main_bifurcation_um)
    else:
        assert where.main_bifurcation_um == pytest.approx(fork, abs=1e-3)
        assert fork == pytest.approx(expected, abs=0.05)


@pytest.mark.parametrize("name", CELLS)
def test_trunk_distance_is_where_the_path_leaves_the_path_to_the_main_bifurcation(cells, name):
    """trunk_distance = (d(c, s) + d(c, B) - d(s, B)) / 2 for every apical segment s,
    the length shared by the paths from the soma centre c to s and to the main
    bifurcation B (to the farthest apical tip without one): NEURON's h.distance
    alone, a third computation. 1e-6 um: sums of lengths in double precision."""
    from neuron import h

    cell, where, model = _get(cells, name)
    apical = cell.sections_by_type.get("apic", [])
    if not apical:
        assert np.isnan(where.trunk_distance_um).all()
        return
    c = cell.soma_center
    if math.isnan(where.main_bifurcation_um):
        tip = max(apical, key=lambda s: h.distance(c, s(1)))
        end = tip(1)
    else:  # the main bifurcation is the 1 end of the last trunk section
        last = max(cell.sections("trunk"), key=lambda s: h.distance(c, s(1)))
        end = last(1)
        assert h.distance(c, end) == pytest.approx(where.main_bifurcation_um, abs=1e-9)
    for seg, value in zip(where.segments, where.trunk_distance_um):
        if seg.sec not in apical:
            assert math.isnan(value)
            continue
        shared_um = (h.distance(c, seg) + h.distance(c, end) - h.distance(seg, end)) / 2
        assert value == pytest.approx(shared_um, abs=1e-6), str(seg)


def test_bouton_on_the_l5pc_is_a_small_fraction_of_the_axon(cells):
    """Issue 18: 'terminal' was every axonal leaf section, 363 of the L5PC's 574
    axon segments (10 mm of its 15 mm); a bouton is now the last segment of
    each of the 65 leaves, as fine as the d_lambda discretisation allows."""
    cell, where, model = _get(cells, "l5pc_with_axon.swc")
    axon, bouton = cell.segments("axon"), cell.segments("bouton")
    leaves = cell.segments("axon & tip_distance >= 0")
    length = lambda segs: sum(s.sec.L / s.sec.nseg for s in segs)  # noqa: E731
    area = lambda segs: sum(s.area() for s in segs)  # noqa: E731
    numbers = (f"bouton {len(bouton)} of {len(axon)} axon segments "
               f"({len(leaves)} in axonal leaf sections), {length(bouton):.0f} of "
               f"{length(axon):.0f} um of axon ({length(leaves):.0f} um in leaves), "
               f"{area(bouton):.0f} of {area(axon):.0f} um2 of its membrane")
    print(numbers)
    assert len(bouton) == len({s.sec for s in bouton}) == 65, numbers  # one per leaf
    assert len(bouton) / len(axon) < 0.15, numbers
    assert length(bouton) / length(axon) < 0.15, numbers
    assert area(bouton) / area(axon) < 0.15, numbers
    assert len(leaves) == 363, numbers  # what 'terminal' selected before
    # each bouton is the distal end of its leaf
    for seg in bouton:
        assert seg.x == pytest.approx(1 - 0.5 / seg.sec.nseg)


def test_the_lengths_in_parentheses_move_the_boundaries(cells):
    cell, where, model = _get(cells, "l5pc_with_axon.swc")
    for length in (10.0, 60.0, 150.0):
        got = model.keys(regions.parse(f"ais({length:g})").segments(cell))
        assert got == model.ais(length)
    for length in (5.0, 30.0, 80.0):
        got = model.keys(regions.named("bouton", length).segments(cell))
        assert got == model.bouton(length)
        assert got == model.keys(regions.parse(f"terminal({length:g} um)").segments(cell))
    d = model.distance((BASAL, APICAL))
    for length in (50.0, 300.0):
        assert model.keys(regions.parse(f"proximal({length:g})").segments(cell)) == \
            {k for k, v in d.items() if v < length}
        assert model.keys(regions.parse(f"distal({length:g})").segments(cell)) == \
            {k for k, v in d.items() if v >= length}
    # the defaults are the same segments as the lengths written out
    for name, default in regions.DEFAULT_LENGTHS_UM.items():
        assert np.array_equal(regions.named(name).mask(where),
                              regions.named(name, default).mask(where))


def test_the_parts_of_the_apical_dendrite_and_the_axon_partition_them(cells):
    for name in ("pyramidal", "l5pc_with_axon.swc", "allen_485574832.swc"):
        cell, where, _ = _get(cells, name)
        parts = [regions.named(n).mask(where) for n in ("trunk", "oblique", "tuft")]
        assert np.array_equal(sum(p.astype(int) for p in parts),
                              regions.named("apical").mask(where).astype(int))
        # proximal and distal are disjoint dendrite segments
        near, far = regions.named("proximal").mask(where), regions.named("distal").mask(where)
        assert not (near & far).any()
        assert not ((near | far) & ~regions.named("dendrite").mask(where)).any()
        # the AIS and the boutons are axon
        axon = regions.named("axon").mask(where)
        for n in ("ais", "bouton"):
            assert not (regions.named(n).mask(where) & ~axon).any()


def test_the_bundled_pyramidal_cell_is_split_as_built(cells):
    """The generator (morphologies/make_morphologies.py) builds a 400 um trunk with
    three 150 um obliques and a tuft of 2 x (100 + 2 x 120) um."""
    cell, where, _ = _get(cells, "pyramidal")
    length = lambda r: sum(s.sec.L / s.sec.nseg for s in cell.segments(r))  # noqa: E731
    # 0.01 um: Import3d's float32 points
    assert length("trunk") == pytest.approx(400.0, abs=0.01)
    assert length("oblique") == pytest.approx(3 * 150.0, abs=0.01)
    assert length("tuft") == pytest.approx(2 * (100.0 + 2 * 120.0), abs=0.01)
    # the trunk leaves the soma at its centre (Import3d attaches the stems at 0.5)
    assert where.main_bifurcation_um == pytest.approx(400.0, abs=0.01)
    assert len(cell.sections("oblique")) == 3
    # the AIS: the first of the axon's 3 segments of 33 um (centre 16.7 um < 40)
    [ais] = cell.segments("ais")
    assert where.axon_distance_um[where.segments.index(ais)] == pytest.approx(100 / 6, abs=0.01)


# ----------------------------------------------------------------------------
# a region a cell lacks
# ----------------------------------------------------------------------------

@pytest.mark.parametrize("name, region, words", [
    ("ball_and_stick", "apical", "has no apical dendrites: region 'apical' selects nothing"),
    ("ball_and_stick", "trunk", "has no apical dendrites, so no trunk: region 'trunk'"),
    ("ball_and_stick", "tuft | oblique", "has no apical dendrites, so no tuft"),
    ("ca1_n120.swc", "ais", "has no axon, so no axon initial segment: region 'ais'"),
    ("ca1_n120.swc", "bouton(5) & distance > 10", "has no axon, so no boutons: region "
                                                  "'bouton(5) & distance > 10'"),
    ("ca1_n120.swc", "axon", "has no axon: region 'axon' selects nothing"),
    ("pyramidal", "proximal(5)", "has no dendrite segment centre within 5 um of the soma"),
    ("pyramidal", "distal(5000)", "has no dendrite segment centre 5000 um or more"),
    ("pyramidal", "soma & distance > 1000", "region 'soma & distance > 1000' selects no "
                                            "segment of pyramidal."),
])
def test_a_region_the_cell_lacks_is_an_error_naming_the_cell(cells, name, region, words):
    cell, where, _ = _get(cells, name)
    for call in (lambda: cell.segments(region), lambda: cell.sections(region),
                 lambda: regions.parse(region).segments(cell)):
        with pytest.raises(EmptyRegionError) as err:
            call()
        message = str(err.value)
        assert message.startswith(cell.name) or f"of {cell.name}" in message, message
        assert words in message and "optional" in message, message
    assert isinstance(err.value, RegionError)
    assert cell.segments(region, optional=True) == []
    assert cell.sections(region, optional=True) == []


def test_a_recipe_rule_on_a_region_the_cell_lacks(cells):
    cell, where, _ = _get(cells, "ball_and_stick")
    rule = {"region": "apical", "mechanism": "kcc2", "params": {"imax": 0.01}}
    strict = recipe.Recipe(name="strict", rules=[rule])
    with pytest.raises(EmptyRegionError) as err:
        strict.apply(cell)
    message = str(err.value)
    assert message.startswith("recipe 'strict', rule 1 (kcc2): ") and cell.name in message
    assert "has no apical dendrites" in message and "optional = true" in message
    assert not any(s.has_membrane("kcc2") and s(0.5).kcc2.imax == 0.01 for s in cell.all)
    lenient = recipe.Recipe(name="lenient", rules=[{**rule, "optional": True}])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        [summary] = lenient.apply(cell)
    assert summary["segments"] == 0 and summary["optional"] is True


def test_the_presets_apply_to_cells_without_dendrites_or_axon(h):
    """The presets' rules for dendrites and boutons are optional, so a soma alone
    (a protocol's cylinder) takes the presets without an error."""
    from ionhomeo import presets
    from ionhomeo.cell import Cell
    from ionhomeo.geometry import cylinder

    for name in ("mature", "immature"):
        rec = presets.load(name)
        optional = {(str(r.region), r.mechanism) for r in rec.rules if r.optional}
        ais = {("ais", "nav"), ("ais", "kcc2")} if name == "mature" else set()
        assert optional == {("bouton", "cabuf"), ("bouton", "nckx"), ("dendrite", "nav"),
                            ("dendrite", "kdr"), ("axon & tip_distance >= 0", "cahva"),
                            ("axon & tip_distance >= 0", "nckx"), ("trunk", "cahva"),
                            ("trunk", "ka"), ("trunk", "kd"), ("trunk", "sk")} | ais
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            cell = Cell(cylinder(20, 20), rec)
        assert cell.soma_center.cabuf.kappab == 79.0 and cell.soma_center.sec.has_membrane("cahva")
        cell.destroy()


# ----------------------------------------------------------------------------
# text: canonical forms, round trips, errors
# ----------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "ais", "ais(30)", "bouton", "bouton(2.5)", "terminal", "terminal(5)", "trunk", "oblique",
    "tuft", "proximal", "proximal(50)", "distal", "distal(300)",
    "axon & ~ais(30)", "(trunk | oblique) & distance > 100", "tuft & trunk_distance >= 400",
    "axon_distance < 20 | tip_distance <= 1.5", "~bouton(0.5) & axon",
    "(distal(250) & apical) | proximal(20)",
])
def test_new_constructs_print_canonically_and_round_trip(text):
    region = regions.parse(text)
    assert str(region) == text
    assert regions.parse(str(region)) == region and hash(regions.parse(text)) == hash(region)


@pytest.mark.parametrize("text, canonical", [
    ("ais( 30 um )", "ais(30)"),
    ("bouton(2.50)", "bouton(2.5)"),
    ("distal(3e2)", "distal(300)"),
    ("axon&~ais(30.0)", "axon & ~ais(30)"),
])
def test_other_spellings_of_the_new_constructs(text, canonical):
    assert str(regions.parse(text)) == canonical


def test_a_length_written_is_kept_even_when_it_is_the_default():
    """ais and ais(40) select the same segments (test above) but print as written,
    so a recipe that spelled the length keeps it if the default changes."""
    assert regions.parse("ais") != regions.parse("ais(40)")
    assert str(regions.named("ais", 40)) == "ais(40)" and str(regions.named("ais")) == "ais"
    assert regions.named("ais").length == 40.0 and regions.named("soma").length is None
    assert repr(regions.named("bouton", 3)) == "Named('bouton', 3.0)"


@pytest.mark.parametrize("text, words", [
    ("soma(30)", "'soma' takes no length"),
    ("ais(", "expected a length in um after 'ais('"),
    ("ais(30", "needs a length in um and ')'"),
    ("ais(0)", "must be a finite number of um > 0"),
    ("ais(30 mm)", "needs a length in um and ')'"),
    ("bouton(-1)", "unexpected character '-'"),
    ("axon_distnce < 5", "Did you mean 'axon_distance'"),
    ("tip_distance <= 0", "tip_distance <= 0 selects nothing"),
    ("axon_distance < 0", "axon_distance < 0 selects nothing"),
])
def test_bad_new_constructs_are_clear_errors(text, words):
    with pytest.raises(RegionError) as err:
        regions.parse(text)
    assert words in str(err.value), str(err.value)


def test_python_api_of_the_new_names():
    assert regions.named("ais", 30) == regions.parse("ais(30)")
    assert regions.named("tuft") & "trunk_distance > 400" == \
        regions.parse("tuft & trunk_distance > 400")
    with pytest.raises(RegionError, match="takes no length"):
        regions.named("trunk", 10)
    with pytest.raises(RegionError, match="> 0"):
        regions.named("bouton", math.inf)
    with pytest.raises(RegionError, match="> 0"):
        regions.named("distal", True)
    assert set(regions.DEFAULT_LENGTHS_UM) <= set(regions.NAMES)
    for name in NEW:
        assert name in regions.NAMES and regions.NAMES[name]


# ----------------------------------------------------------------------------
# optional rules through TOML
# ----------------------------------------------------------------------------

def test_optional_rules_round_trip_through_toml():
    rec = recipe.Recipe(name="opt", rules=[
        {"region": "all", "mechanism": "kcc2"},
        {"region": "bouton(3)", "mechanism": "cabuf", "params": {"kappab": 250.0},
         "optional": True, "note": "boutons where there are any"},
        recipe.Rule("tuft", "nav", {"gbar": 0.01}, optional=True),
    ], passive=[{"region": "ais", "cm": 1.0, "optional": True}])
    text = rec.to_toml()
    assert 'region = "bouton(3)"\nmechanism = "cabuf"\noptional = true\n' in text
    assert text.count("optional = true") == 3
    back = recipe.Recipe.from_toml(text)
    assert back == rec and back.to_toml() == text
    assert [r.optional for r in back.rules] == [False, True, True] and back.passive[0].optional
    assert "optional" not in back.rules[0].to_dict()  # written only when true
    swapped = back.swap_mechanism("cabuf", "cadyn")
    assert swapped.rules[1].optional and swapped.rules[1].mechanism == "cadyn"
    assert back.add("axon", "kdr", optional=True).rules[-1].optional
    with pytest.raises(recipe.RecipeError, match="optional must be true or false"):
        recipe.Recipe(name="bad", rules=[{"region": "all", "mechanism": "kcc2",
                                          "optional": "yes"}])
    assert rec != rec.replace(rules=[recipe.Rule(r.region, r.mechanism, dict(r.params), r.note)
                                     for r in rec.rules])


def test_split_boutons_make_the_region_bouton_sized(h):
    """Cell(bouton_um=2) cuts the distal 2 um off every axonal leaf longer than
    4 um: the axon keeps its length and every tip its distance, and the region
    'bouton' is then those 2 um pieces (65 on the L5PC) instead of the leaves'
    last segments (about 25 um each)."""
    from ionhomeo.cell import Cell, CellError

    path = shared("l5pc_with_axon.swc")
    whole = Cell(str(path), "mature")
    try:
        axon_um = sum(sec.L for sec in whole.sections("axon"))
        tips = sorted(h.distance(whole.soma_center, sec(1)) for sec in whole.sections("bouton"))
        coarse = sum(seg.sec.L / seg.sec.nseg for seg in whole.segments("bouton"))
    finally:
        whole.destroy()
    split = Cell(str(path), "mature", bouton_um=2.0)
    try:
        boutons = split.sections("bouton")
        assert split.boutons_split == len(boutons) == len(tips) == 65
        assert split.to_dict()["boutons_split"] == 65
        # NEURON keeps 3-D points in single precision: coordinates of a few
        # hundred um carry about 1e-5 um, so lengths agree to 1e-4 um
        assert all(sec.nseg == 1 and abs(sec.L - 2.0) < 1e-4 for sec in boutons)
        # cut along the 3-D path: nothing gained or lost
        assert abs(sum(sec.L for sec in split.sections("axon")) - axon_um) < 65 * 1e-4
        new_tips = sorted(h.distance(split.soma_center, sec(1)) for sec in boutons)
        assert max(abs(a - b) for a, b in zip(tips, new_tips)) < 1e-4
        fine = sum(seg.sec.L / seg.sec.nseg for seg in split.segments("bouton"))
        assert abs(fine - 2.0 * 65) < 65 * 1e-4 and coarse > 10 * fine, (fine, coarse)
        # the cut leaf stays one leaf: tip distances run to the bouton's end, so
        # bouton(L) with L beyond the split length reaches into the cut leaf
        from ionhomeo import regions

        tip = regions.sites(split).tip_distance_um
        for parent, bouton in list(split.split_leaves.items())[:5]:
            k = [i for i, seg in enumerate(regions.sites(split).segments) if seg.sec == parent]
            last = parent(1 - 0.5 / parent.nseg)
            assert abs(tip[k[-1]] - (bouton.L + parent.L / (2 * parent.nseg))) < 1e-9
            assert h.distance(last, bouton(1)) == pytest.approx(tip[k[-1]], abs=1e-6)
        far = sum(seg.sec.L / seg.sec.nseg for seg in split.segments("bouton(40)"))
        assert far > fine + 1.0  # some leaves' last segments centre within 40 um of a tip
        # the preset's bouton rules now hit the 2 um pieces only
        assert all(seg.cabuf.kappab == 187.0 for seg in split.segments("bouton"))
        assert all(seg.cahva.pbar == 0.0 for sec in split.sections("axon")
                   if sec not in boutons for seg in sec if hasattr(seg, "cahva"))
    finally:
        split.destroy()
    with pytest.raises(CellError, match="bouton_um=0"):
        Cell(str(path), "mature", bouton_um=0)
