"""Regions: names, predicates and their combinations on a small hand-built cell.

The fake cell (:func:`fake_cell`) has every part a region can name, with
lengths chosen so that every segment centre lies at a round path distance
from the soma centre (listed in ``DISTANCES_UM``), away from the thresholds
the tests use.
"""

import contextlib
import types

import numpy as np
import pytest

from ionhomeo import regions
from ionhomeo.regions import RegionError

#: name -> (parent name, parent x, L um, diam um, nseg, section type)
GEOMETRY = {
    "soma": (None, None, 20.0, 20.0, 1, "soma"),
    "dend0": ("soma", 0.0, 100.0, 2.0, 5, "dend"),
    "dend1": ("soma", 0.0, 50.0, 0.8, 5, "dend"),
    "apic0": ("soma", 1.0, 200.0, 3.0, 4, "apic"),   # apical trunk
    "apic1": ("apic0", 1.0, 100.0, 0.6, 2, "apic"),  # its branch
    "axon0": ("soma", 0.0, 60.0, 1.0, 3, "axon"),
    "axon1": ("axon0", 1.0, 40.0, 0.5, 2, "axon"),   # first branch
    "axon2": ("axon0", 1.0, 80.0, 0.4, 4, "axon"),   # second branch
    "bouton1": ("axon1", 1.0, 1.0, 1.5, 1, "axon"),  # short fat leaf: a terminal
    "bouton2": ("axon2", 1.0, 1.0, 1.5, 1, "axon"),
}

#: path distance (um) from the soma centre to each segment centre, by hand:
#: half the soma (10 um) + the parents' lengths + x L with x = (i + 1/2)/nseg
DISTANCES_UM = {
    "soma": [0.0],
    "dend0": [20.0, 40.0, 60.0, 80.0, 100.0],
    "dend1": [15.0, 25.0, 35.0, 45.0, 55.0],
    "apic0": [35.0, 85.0, 135.0, 185.0],
    "apic1": [235.0, 285.0],
    "axon0": [20.0, 40.0, 60.0],
    "axon1": [80.0, 100.0],
    "axon2": [80.0, 100.0, 120.0, 140.0],
    "bouton1": [110.5],
    "bouton2": [150.5],
}
N_SEGMENTS = sum(len(d) for d in DISTANCES_UM.values())  # 28


def build_fake_cell(h):
    """A SimpleNamespace cell (sections_by_type, all, soma_center) of GEOMETRY."""
    secs = {}
    for name, (parent, px, L, diam, nseg, _) in GEOMETRY.items():
        sec = h.Section(name=name)
        sec.L, sec.diam, sec.nseg = L, diam, nseg
        if parent is not None:
            sec.connect(secs[parent](px), 0)
        secs[name] = sec
    by_type = {"soma": [], "axon": [], "dend": [], "apic": []}
    for name, spec in GEOMETRY.items():
        by_type[spec[5]].append(secs[name])
    return types.SimpleNamespace(sections_by_type=by_type, all=list(secs.values()),
                                 soma_center=secs["soma"](0.5), byname=secs)


def delete_cell(cell):
    """Delete the sections of a fake cell (children first)."""
    for sec in reversed(cell.all):
        sec.disconnect()
    cell.all.clear()
    cell.sections_by_type.clear()
    cell.byname.clear()
    cell.soma_center = None


@contextlib.contextmanager
def fake_cell(h):
    cell = build_fake_cell(h)
    try:
        yield cell
    finally:
        delete_cell(cell)


@pytest.fixture
def cell(h):
    with fake_cell(h) as c:
        yield c


def counts(region, cell) -> dict:
    """{section name: number of selected segments} for the sections with any."""
    out = {}
    for seg in regions.as_region(region).segments(cell):
        out[seg.sec.name()] = out.get(seg.sec.name(), 0) + 1
    return out


def n_selected(region, cell) -> int:
    """How many segments ``region`` selects (0 allowed: an empty region is otherwise an
    EmptyRegionError, tested in test_regions_anatomy.py)."""
    return len(regions.as_region(region).segments(cell, optional=True))


# ----------------------------------------------------------------------------
# the fake cell itself
# ----------------------------------------------------------------------------

def test_fake_cell_distances_match_the_hand_computed_ones(cell, h):
    where = regions.sites(cell)
    expected = [d for name in GEOMETRY for d in DISTANCES_UM[name]]
    assert len(where.segments) == N_SEGMENTS == 28
    # 1e-9 um: the hand values are exact sums; NEURON adds the same lengths in floats
    np.testing.assert_allclose(where.distance_um, expected, rtol=0, atol=1e-9)
    assert list(where.diameter_um) == [GEOMETRY[s.sec.name()][3] for s in where.segments]


# ----------------------------------------------------------------------------
# every name, counted
# ----------------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("soma", {"soma": 1}),
    ("basal", {"dend0": 5, "dend1": 5}),
    ("apical", {"apic0": 4, "apic1": 2}),
    ("dendrite", {"dend0": 5, "dend1": 5, "apic0": 4, "apic1": 2}),
    ("axon", {"axon0": 3, "axon1": 2, "axon2": 4, "bouton1": 1, "bouton2": 1}),
    ("terminal", {"bouton1": 1, "bouton2": 1}),
    ("all", {name: len(d) for name, d in DISTANCES_UM.items()}),
])
def test_named_regions_select_the_expected_segments(cell, name, expected):
    assert counts(name, cell) == expected
    assert counts(regions.named(name), cell) == expected
    assert [s.name() for s in regions.named(name).sections(cell)] == list(expected)


def test_segments_come_in_cell_order_then_along_each_section(cell):
    segs = regions.parse("apical").segments(cell)
    assert [(s.sec.name(), round(s.x, 6)) for s in segs] == [
        ("apic0", 0.125), ("apic0", 0.375), ("apic0", 0.625), ("apic0", 0.875),
        ("apic1", 0.25), ("apic1", 0.75)]


def test_terminal_is_an_axonal_leaf_even_without_boutons(h):
    """An unbranched axon is its own terminal; a dendritic leaf never is."""
    soma, axon, dend = h.Section(name="soma"), h.Section(name="axon"), h.Section(name="dend")
    axon.connect(soma(0))
    dend.connect(soma(1))
    cell = types.SimpleNamespace(sections_by_type={"soma": [soma], "axon": [axon], "dend": [dend]},
                                 all=[soma, axon, dend], soma_center=soma(0.5))
    try:
        assert counts("terminal", cell) == {"axon": 1}
        # a missing type selects nothing: an error unless asked for as optional
        assert n_selected("apical", cell) == 0
        with pytest.raises(regions.EmptyRegionError, match="this cell has no apical dendrites: "
                                                           "region 'apical' selects nothing"):
            regions.parse("apical").segments(cell)
    finally:
        for sec in (dend, axon, soma):
            sec.disconnect()
        del soma, axon, dend, cell


# ----------------------------------------------------------------------------
# predicates and their combinations, with hand-counted expectations
# ----------------------------------------------------------------------------

@pytest.mark.parametrize("expr, expected", [
    # apic0 at 135, 185 and apic1 at 235, 285 um
    ("apical & distance > 100", {"apic0": 2, "apic1": 2}),
    # diameters 0.8 (dend1) and 0.6 (apic1) um
    ("dendrite & diameter < 1", {"dend1": 5, "apic1": 2}),
    ("axon & ~terminal", {"axon0": 3, "axon1": 2, "axon2": 4}),
    # < and <= differ exactly at dend1's 0.8 um (diameters are stored exactly)
    ("diameter < 0.8", {"apic1": 2, "axon1": 2, "axon2": 4}),
    ("diameter <= 0.8", {"dend1": 5, "apic1": 2, "axon1": 2, "axon2": 4}),
    ("diameter >= 1.5", {"soma": 1, "dend0": 5, "apic0": 4, "bouton1": 1, "bouton2": 1}),
    ("distance < 30", {"soma": 1, "dend0": 1, "dend1": 2, "axon0": 1}),
    # precedence: ~ before & before |
    ("soma | apical & distance > 100", {"soma": 1, "apic0": 2, "apic1": 2}),
    ("(soma | apical) & distance > 100", {"apic0": 2, "apic1": 2}),
    ("~axon & diameter < 1", {"dend1": 5, "apic1": 2}),
    ("axon | basal & diameter < 1",
     {"dend1": 5, "axon0": 3, "axon1": 2, "axon2": 4, "bouton1": 1, "bouton2": 1}),
    ("(axon | basal) & diameter < 1", {"dend1": 5, "axon1": 2, "axon2": 4}),
    ("~~soma", {"soma": 1}),
    ("terminal | soma", {"soma": 1, "bouton1": 1, "bouton2": 1}),
    ("distance > 100 um & distance < 150 um", {"apic0": 1, "axon2": 2, "bouton1": 1}),
])
def test_predicates_combine_as_computed_by_hand(cell, expr, expected):
    assert counts(expr, cell) == expected


def test_not_of_a_mixed_region_is_its_complement(cell):
    # axon segments with diameter < 1: axon1 (2) and axon2 (4); 28 - 6 = 22
    assert n_selected("~(axon & diameter < 1)", cell) == 22
    where = regions.sites(cell)
    a, b = regions.parse("apical"), regions.parse("diameter < 1")
    # De Morgan, segment by segment
    assert np.array_equal((~(a | b)).mask(where), (~a & ~b).mask(where))
    assert np.array_equal((~(a & b)).mask(where), (~a | ~b).mask(where))
    assert n_selected("all", cell) == 28 and n_selected("~all", cell) == 0


def test_python_api_builds_the_same_regions(cell):
    apical = regions.named("apical")
    assert apical & regions.distance(min_um=100, inclusive=False) == \
        regions.parse("apical & distance > 100")
    assert regions.distance(min_um=30, max_um=90) == \
        regions.parse("distance >= 30 & distance < 90")
    assert regions.diameter(max_um=1) == regions.parse("diameter < 1")
    assert ~regions.named("terminal") & "axon" == regions.parse("~terminal & axon")
    assert "soma" | apical == regions.parse("soma | apical")
    # half-open shells: [30, 90) by hand: dend0 40 60 80, dend1 35 45 55,
    # apic0 35 85, axon0 40 60, axon1 80, axon2 80
    assert n_selected(regions.distance(min_um=30, max_um=90), cell) == 12
    inner, outer = regions.distance(max_um=90), regions.distance(min_um=90)
    assert n_selected(inner, cell) + n_selected(outer, cell) == 28
    assert n_selected(inner & outer, cell) == 0


@pytest.mark.parametrize("text", [
    "apical & distance > 100",
    "dendrite & diameter < 1",
    "axon & ~terminal",
    "all",
    "soma | (apical & distance > 100)",
    "(soma | apical) & distance >= 50.5",
    "~(distance < 10) & ~~basal",
    "diameter <= 0.25 | terminal | soma",
    "distance > 1e-05",
])
def test_canonical_strings_round_trip_unchanged(text):
    region = regions.parse(text)
    assert str(region) == text
    assert regions.parse(str(region)) == region
    assert hash(region) == hash(regions.parse(text))
    assert len({region, regions.parse(text)}) == 1


@pytest.mark.parametrize("text, canonical", [
    ("apical&distance>100", "apical & distance > 100"),
    ("soma | apical & distance > 100 um", "soma | (apical & distance > 100)"),
    ("(soma)", "soma"),
    ("soma & (all & axon)", "soma & all & axon"),
    ("distance > 100.0", "distance > 100"),
])
def test_other_spellings_print_canonically(text, canonical):
    assert str(regions.parse(text)) == canonical
    assert regions.parse(canonical) == regions.parse(text)


# ----------------------------------------------------------------------------
# errors
# ----------------------------------------------------------------------------

@pytest.mark.parametrize("text, column, words", [
    ("apicl & distance > 100", 1, ["unknown name 'apicl'", "Did you mean 'apical'"]),
    ("apical & distanse > 100", 10, ["Did you mean 'distance'"]),
    ("apical &", 9, ["ends too early"]),
    ("soma and axon", 6, ["Use '&' instead of 'and'"]),
    ("distance 100", 10, ["must be followed by <, <=, > or >="]),
    ("distance == 100", 10, ["Use <, <=, > or >= instead of '=='"]),
    ("distance >", 11, ["expected a number"]),
    ("distance > -5", 12, ["unexpected character '-'", ">= 0"]),
    ("distance > 3 mm", 14, ["'mm' is not a unit"]),
    ("(soma | axon", 1, ["never closed"]),
    ("soma)", 5, ["no matching '('"]),
    ("soma axon", 6, ["expected '&', '|' or the end"]),
    ("!soma", 1, ["Use ~ instead of '!'"]),
    ("100 > distance", 1, ["a number must follow a predicate"]),
    ("soma $ axon", 6, ["unexpected character '$'"]),
])
def test_bad_expressions_point_at_the_offending_token(text, column, words):
    with pytest.raises(RegionError) as err:
        regions.parse(text)
    message = str(err.value)
    assert f"column {column}:" in message, message
    for w in words:
        assert w in message, message
    # the caret line marks the token under the echoed expression
    echo, caret = message.splitlines()[-2:]
    assert echo.strip() == text.strip() and caret.index("^") - 4 == column - 1


def test_other_bad_specs_raise_clear_errors(cell):
    with pytest.raises(RegionError, match="empty"):
        regions.parse("   ")
    with pytest.raises(RegionError, match="Did you mean 'dendrite'"):
        regions.named("dendrites")
    with pytest.raises(RegionError, match="give min_um, max_um or both"):
        regions.distance()
    with pytest.raises(RegionError, match="min_um must be smaller"):
        regions.diameter(min_um=2, max_um=1)
    with pytest.raises(RegionError, match=">= 0"):
        regions.distance(min_um=-1)
    with pytest.raises(RegionError, match="must be a string"):
        regions.as_region(5)
    no_centre = types.SimpleNamespace(sections_by_type=cell.sections_by_type, all=cell.all)
    assert n_selected("apical", no_centre) == 6  # names need no soma centre
    with pytest.raises(RegionError, match="soma_center"):
        regions.parse("distance > 1").segments(no_centre)
    with pytest.raises(RegionError, match="sections_by_type"):
        regions.parse("soma").segments(types.SimpleNamespace(all=[]))
