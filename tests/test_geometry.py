"""Cells of simple cylinders (ionhomeo.geometry): the protocols' own models are
Cells like any reconstruction, with the recipe placing mechanisms by region."""

import math
import warnings

import pytest

from ionhomeo import geometry, steady
from ionhomeo.cell import Cell, CellError
from ionhomeo.recipe import Recipe


def test_a_cylinder_is_one_soma_segment_with_the_recipe(h):
    cell = Cell(geometry.cylinder(10.0, 20.0), "mature")
    try:
        [sec] = cell.all
        assert (sec.L, sec.diam, sec.nseg) == (10.0, 20.0, 1)
        assert cell.sections_by_type["soma"] == [sec]
        assert hasattr(cell.soma_center, "nakpump") and hasattr(cell.soma_center, "kcc2")
        record = cell.to_dict()
        assert record["geometry"]["pieces"][0]["diam_um"] == 20.0
        assert record["recipe"]["name"] == "mature" and record["nseg"] == 1
    finally:
        cell.destroy()


def test_regions_of_a_bouton_on_an_axon(h):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the mature preset's dendritic rules select nothing
        cell = Cell(geometry.bouton_on_axon(20.0, 200.0, 1.0, 2.0, axon_nseg=5), "mature")
    try:
        assert [s.name().rsplit(".", 1)[1] for s in cell.all] == ["soma", "axon", "bouton"]
        assert cell.nseg == 7
        [bouton] = cell.segments("terminal")  # the axonal leaf
        assert bouton.sec.name().endswith(".bouton")
        assert len(cell.segments("axon")) == 6
        # connected 0 end to the parent's 1 end
        assert h.distance(cell.soma_center, bouton) == pytest.approx(10.0 + 200.0 + 1.0)
        # the preset's rule for somata and boutons placed HVA Ca channels there only
        assert hasattr(bouton, "cahva") and hasattr(cell.soma_center, "cahva")
        assert not any(hasattr(seg, "cahva") for seg in cell.pieces["axon"])
        bouton = None
    finally:
        cell.destroy()


def test_one_segment_cell_is_solved_as_a_uniform_compartment(h):
    cell = Cell(geometry.cylinder(20.0, 20.0), "mature")
    try:
        state = cell.initialize()
        assert isinstance(state, steady.SteadyState)
        # the point solver, as on a bare section with the same mechanisms
        assert abs(steady.ionic_current(cell.soma_center)) < 1e-12
        cell.start(v_shift_mV=2.0)
        assert cell.soma_center.v == pytest.approx(state.v + 2.0, abs=1e-12)
        cell.start()
        assert cell.soma_center.v == pytest.approx(state.v, abs=1e-12)
        assert cell.soma_center.nai == pytest.approx(state.concentrations["na"], rel=1e-12)
    finally:
        cell.destroy()


def test_a_process_makes_a_whole_cell_state(h):
    cell = Cell(geometry.soma_with_process(15.0, 100.0, 1.0, nseg=3), "mature")
    try:
        state = cell.initialize()
        assert isinstance(state, steady.CellSteadyState) and len(state.v) == 4
        with pytest.raises(CellError, match="uniform resting state"):
            cell.start(v_shift_mV=1.0)
        cell.start()
        assert cell.soma_center.v == pytest.approx(float(state.v[0]), abs=1e-9)
    finally:
        cell.destroy()


def test_start_before_initialize_says_what_to_do(h):
    cell = Cell(geometry.cylinder(5.0, 5.0), Recipe(name="leak", rules=[
        {"region": "all", "mechanism": "naleak"}]))
    try:
        with pytest.raises(CellError, match="call cell.initialize"):
            cell.start()
    finally:
        cell.destroy()


@pytest.mark.parametrize("make, message", [
    (lambda: geometry.Piece("soma", "soma", 0.0, 10.0), "length_um must be a number > 0"),
    (lambda: geometry.Piece("soma", "spine", 1.0, 1.0), "kind 'spine' is not one of"),
    (lambda: geometry.Piece("a b", "soma", 1.0, 1.0), "must be an identifier"),
    (lambda: geometry.Piece("d", "dend", 1.0, 1.0, nseg=0), "nseg must be a whole number"),
    (lambda: geometry.Geometry("g", (geometry.Piece("d", "dend", 1.0, 1.0),)),
     "the first piece must be the soma"),
    (lambda: geometry.Geometry("g", (geometry.Piece("soma", "soma", 1.0, 1.0),
                                     geometry.Piece("d", "dend", 1.0, 1.0, parent="x"))),
     "needs a parent listed before it"),
    (lambda: geometry.cylinder(1.0, 1.0, kind="axon"), "a one-piece geometry is a soma"),
    (lambda: geometry.cylinder(math.inf, 1.0), "length_um must be a number > 0"),
])
def test_bad_geometries_are_refused_with_the_fix(make, message):
    with pytest.raises(geometry.GeometryError, match=message):
        make()


def test_a_cylinder_without_dynamic_k_rests_with_nothing_held(h):
    """K is held only where it is dynamic: a Ca-only compartment has no K to hold."""
    cell = Cell(geometry.cylinder(10.0, 10.0), "terminal-vs-soma")
    try:
        state = cell.initialize()
        assert state.fixed == () and "ca" in state.concentrations
    finally:
        cell.destroy()


def test_a_one_segment_reconstruction_is_solved_as_a_whole_cell(h, tmp_path):
    """Only ionhomeo's own cylinders take the uniform solver by default: a
    soma-only reconstruction keeps the whole-cell solve (K solved, not held)."""
    swc = tmp_path / "soma.swc"
    swc.write_text("1 1 0 0 0 10 -1\n")
    cell = Cell(str(swc), "mature")
    try:
        assert cell.nseg == 1
        assert isinstance(cell.initialize(), steady.CellSteadyState)
    finally:
        cell.destroy()
