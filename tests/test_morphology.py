"""ionhomeo.morphology: checking files, building cells with Import3d, d_lambda, bundled cells."""

import dataclasses
import hashlib
import importlib.util
import json
import math
import os
import types
from pathlib import Path

import pytest

from ionhomeo import morphology
from ionhomeo.morphology import MorphologyError

# Real reconstructions and edge cases from public repositories live in the
# project's shared/ folder, next to the repository (never copied into it).
_SHARED_CANDIDATES = (
    Path(os.environ.get("IONHOMEO_SHARED_MORPHOLOGIES", "/nonexistent")),
    Path(__file__).resolve().parents[2] / "shared" / "morphologies",
    Path("/work/shared/morphologies"),
)


def shared(name: str) -> Path:
    for folder in _SHARED_CANDIDATES:
        if (folder / name).is_file():
            return folder / name
    pytest.skip(f"shared morphology {name} not found in any of "
                f"{[str(c) for c in _SHARED_CANDIDATES]} (the shared/ folder is not on this machine)")


class Cell:
    """A minimal owner for Import3d (accepts attributes and weak references)."""

    def __init__(self, label="cell"):
        self.label = label

    def __repr__(self):
        return self.label


def counts(secs: dict) -> dict:
    return {t: len(v) for t, v in secs.items()}


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def soma_area_um2(secs: dict) -> float:
    return sum(seg.area() for sec in secs["soma"] for seg in sec)


# --------------------------------------------------------------------------
# SWC checks: each error names the file and the line (pure Python, no NEURON)

HEADER = "# a comment line, so data lines start at line 2\n"
ROOT = "1 1 0 0 0 5 -1\n"            # line 2
DEND = "2 3 0 10 0 1 1\n"            # line 3

MALFORMED = {
    "several_roots": (HEADER + ROOT + DEND + "3 3 0 20 0 1 -1\n", 4, ["second root", "line 2"]),
    "missing_parent": (HEADER + ROOT + DEND + "3 3 0 20 0 1 7\n", 4, ["parent 7", "not defined"]),
    "zero_radius": (HEADER + ROOT + "2 3 0 10 0 0 1\n", 3, ["zero radius"]),
    "negative_radius": (HEADER + ROOT + "2 3 0 10 0 -0.5 1\n", 3, ["negative radius"]),
    "unknown_type": (HEADER + ROOT + "2 7 0 10 0 1 1\n", 3, ["unknown SWC type code 7", "type_map"]),
    "empty_file": ("", 1, ["no points"]),
    "only_comments": ("# nothing\n# here\n", 2, ["no points"]),
    "non_numeric": (HEADER + ROOT + "2 3 0 abc 0 1 1\n", 3, ["'abc' is not a number"]),
    "non_integer_id": (HEADER + ROOT + "2.5 3 0 10 0 1 1\n", 3, ["id '2.5' is not an integer"]),
    "duplicate_id": (HEADER + ROOT + DEND + "2 3 0 20 0 1 1\n", 4, ["duplicate id 2", "line 3"]),
    "too_few_fields": (HEADER + ROOT + "2 3 0 10 0 1\n", 3, ["expected 7 fields"]),
    "loop": (HEADER + ROOT + "2 3 0 10 0 1 3\n3 3 0 20 0 1 2\n", 3, ["loop"]),
    "own_parent": (HEADER + ROOT + "2 3 0 10 0 1 2\n", 3, ["its own parent"]),
    "no_soma": (HEADER + "1 3 0 0 0 1 -1\n" + DEND, 2, ["no soma"]),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_swc_names_file_and_line(tmp_path, case):
    text, line, words = MALFORMED[case]
    path = write(tmp_path, f"{case}.swc", text)
    with pytest.raises(MorphologyError) as info:
        morphology.load(path)
    message = str(info.value)
    assert str(path) in message
    assert f"line {line}:" in message
    assert info.value.line == line
    for word in words:
        assert word in message


def test_all_problems_listed_in_one_error(tmp_path):
    path = write(tmp_path, "many.swc", ROOT + "2 3 0 10 0 0 1\n3 9 0 20 0 1 2\n4 3 0 30 0 1 -1\n")
    with pytest.raises(MorphologyError) as info:
        morphology.load(path)
    assert [line for line, _ in info.value.problems] == [2, 3, 4]


def test_type_map_fixes_unknown_code(h, tmp_path):
    text = ROOT + DEND + "3 3 0 20 0 1 2\n" + "4 5 10 0 0 1 1\n5 5 20 0 0 1 4\n"
    path = write(tmp_path, "custom.swc", text)
    with pytest.raises(MorphologyError, match="unknown SWC type code 5"):
        morphology.load(path)
    morph = morphology.load(path, type_map={5: "dend"})
    assert morph.type_map == {1: "soma", 2: "axon", 3: "dend", 4: "apic", 5: "dend"}
    assert morph.points_by_type == {"soma": 1, "axon": 0, "dend": 4, "apic": 0}
    owner = Cell()
    secs = morphology.instantiate(morph, owner)
    # Import3d keeps code 5 in its own list (owner.dend_5); the dict classifies it
    assert counts(secs) == {"soma": 1, "axon": 0, "dend": 2, "apic": 0}
    assert secs["dend"] == [*owner.dend, *owner.dend_5]
    del owner, secs


def test_bad_type_map_is_rejected(tmp_path):
    path = write(tmp_path, "ok.swc", ROOT + DEND)
    with pytest.raises(MorphologyError, match="did you mean 'dend'"):
        morphology.load(path, type_map={5: "dendrite"})
    with pytest.raises(MorphologyError, match="integer SWC type code"):
        morphology.load(path, type_map={"5": "dend"})


def test_unsupported_suffix_and_missing_file(tmp_path):
    with pytest.raises(MorphologyError, match="NeuroML2"):
        morphology.load(write(tmp_path, "cell.nml", "<neuroml/>"))
    with pytest.raises(MorphologyError, match="no such file"):
        morphology.load(tmp_path / "absent.swc")


# --------------------------------------------------------------------------
# the Morphology record


def test_morphology_record(tmp_path):
    path = write(tmp_path, "ok.swc", HEADER + ROOT + DEND)
    morph = morphology.load(path)
    assert morph.path == path.resolve()
    assert morph.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (morph.format, morph.n_points, morph.soma_points) == ("swc", 2, 1)
    record = json.loads(json.dumps(morph.to_dict()))
    assert record["sha256"] == morph.sha256
    assert record["type_map"] == {"1": "soma", "2": "axon", "3": "dend", "4": "apic"}
    assert hash(morph) == hash(morphology.load(path))
    with pytest.raises(dataclasses.FrozenInstanceError):
        morph.format = "asc"
    with pytest.raises(ValueError, match="format"):
        dataclasses.replace(morph, format="nml")
    with pytest.raises(ValueError, match="sha256"):
        dataclasses.replace(morph, sha256="abc")


# --------------------------------------------------------------------------
# building cells


def test_one_point_soma_area(h, tmp_path):
    r = 7.5
    path = write(tmp_path, "one.swc", f"1 1 0 0 0 {r} -1\n2 3 0 {r} 0 1 1\n3 3 0 57.5 0 1 2\n")
    owner = Cell()
    secs = morphology.instantiate(morphology.load(path), owner)
    assert counts(secs) == {"soma": 1, "axon": 0, "dend": 1, "apic": 0}
    # a sphere of radius r: 4 pi r^2 within 1 % (Import3d uses a cylinder with
    # L = diam = 2r, whose side area is exactly that)
    assert soma_area_um2(secs) == pytest.approx(4 * math.pi * r**2, rel=0.01)
    # the dendrite starts at its own first point (wire to the soma centre)
    assert secs["dend"][0].L == pytest.approx(50.0, abs=1e-6)
    del owner, secs


def test_three_point_soma_area(h, tmp_path):
    r = 7.5
    text = (f"1 1 0 0 0 {r} -1\n2 1 0 -{r} 0 {r} 1\n3 1 0 {r} 0 {r} 1\n"
            f"4 3 0 {r} 0 1 1\n5 3 0 57.5 0 1 4\n")
    owner = Cell()
    secs = morphology.instantiate(morphology.load(write(tmp_path, "three.swc", text)), owner)
    # NeuroMorpho three-point soma: one section with the sphere's area (within 1 %)
    assert counts(secs) == {"soma": 1, "axon": 0, "dend": 1, "apic": 0}
    assert soma_area_um2(secs) == pytest.approx(4 * math.pi * r**2, rel=0.01)
    del owner, secs


def test_unsorted_ids_are_normalised(h, tmp_path):
    # NEURON 9's Import3d fails (or crashes) on ids that are not increasing;
    # here point 2's parent (3) comes after it, and the lines are shuffled
    text = "2 3 0 20 0 1 3\n1 1 0 0 0 5 -1\n3 3 0 10 0 1 1\n"
    owner = Cell()
    secs = morphology.instantiate(morphology.load(write(tmp_path, "unsorted.swc", text)), owner)
    assert counts(secs) == {"soma": 1, "axon": 0, "dend": 1, "apic": 0}
    dend = secs["dend"][0]
    assert dend.L == pytest.approx(10.0, abs=1e-6)
    assert dend.y3d(dend.n3d() - 1) == pytest.approx(20.0)
    del owner, secs, dend


def test_cells_coexist_and_are_deleted(h):
    morph = morphology.load(morphology.bundled("pyramidal"))
    baseline = len(list(h.allsec()))
    a, b = Cell("a"), Cell("b")
    secs_a = morphology.instantiate(morph, a)
    secs_b = morphology.instantiate(morph, b)
    n = sum(counts(secs_a).values())
    assert len(list(h.allsec())) == baseline + 2 * n
    all_a = {s for v in secs_a.values() for s in v}
    all_b = {s for v in secs_b.values() for s in v}
    assert len(all_a) == len(all_b) == n and not all_a & all_b
    # two separate trees, each named after its owner
    assert set(secs_a["soma"][0].wholetree()) == all_a
    assert secs_a["soma"][0].name() == "a.soma[0]" and secs_b["soma"][0].name() == "b.soma[0]"
    # Import3d's attributes on the owner
    assert len(a.all) == n and a.soma == secs_a["soma"] and a.apic == secs_a["apic"]
    del all_a, all_b
    del a, secs_a
    assert len(list(h.allsec())) == baseline + n
    del b, secs_b
    assert len(list(h.allsec())) == baseline


def test_owner_requirements(h, tmp_path):
    morph = morphology.load(write(tmp_path, "ok.swc", ROOT + DEND))
    with pytest.raises(TypeError, match="weak"):
        morphology.instantiate(morph, types.SimpleNamespace())
    with pytest.raises(TypeError, match="owner"):
        morphology.instantiate(morph, None)

    class WithProperty(Cell):
        @property
        def all(self):
            return []

    with pytest.raises(TypeError, match="property"):
        morphology.instantiate(morph, WithProperty())
    owner = Cell()
    morphology.instantiate(morph, owner)
    with pytest.raises(MorphologyError, match="new owner"):
        morphology.instantiate(morph, owner)
    del owner


def test_changed_file_is_refused(h, tmp_path):
    path = write(tmp_path, "ok.swc", ROOT + DEND)
    morph = morphology.load(path)
    path.write_text(ROOT + "2 3 0 30 0 1 1\n")
    with pytest.raises(MorphologyError, match="changed since"):
        morphology.instantiate(morph, Cell())


# --------------------------------------------------------------------------
# Neurolucida ASC

ASC_SOMA = """; a tiny Neurolucida file
("CellBody"
  (Color Red)
  (CellBody)
  (  5.0   0.0  0.0  1.0)
  (  0.0   5.0  0.0  1.0)
  ( -5.0   0.0  0.0  1.0)
  (  0.0  -5.0  0.0  1.0)
)
"""
ASC_DEND = """( (Color Green)
  (Dendrite)
  (  0.0   5.0  0.0  2.0)
  (  0.0  20.0  0.0  2.0)
  (  0.0  40.0  0.0  2.0)
)
"""


def test_small_asc_loads(h, tmp_path):
    morph = morphology.load(write(tmp_path, "cell.asc", ASC_SOMA + ASC_DEND))
    assert (morph.format, morph.soma_points) == ("asc", 4)
    # 7 traced points; Import3d adds one to connect the dendrite to the soma,
    # and the dendrite holds its 3 traced points plus that one
    assert morph.n_points == 8 and morph.points_by_type["dend"] == 4
    owner = Cell()
    secs = morphology.instantiate(morph, owner)
    assert counts(secs) == {"soma": 1, "axon": 0, "dend": 1, "apic": 0}
    assert secs["dend"][0].L == pytest.approx(35.0, abs=0.5)  # 5 -> 40 um along y
    del owner, secs


def test_truncated_asc_is_an_error_not_a_hang(h, tmp_path):
    # Import3d_Neurolucida3 loops forever on an unclosed '(': checked before it
    path = write(tmp_path, "cut.asc", ASC_SOMA + ASC_DEND.rsplit(")", 1)[0])
    with pytest.raises(MorphologyError, match=r"line 10: '\(' opened here is never closed") as info:
        morphology.load(path)
    assert str(path) in str(info.value)


def test_asc_parse_error_names_line(h, tmp_path):
    path = write(tmp_path, "bad.asc", ASC_SOMA + ASC_DEND.replace("20.0", "abc"))
    with pytest.raises(MorphologyError, match="line 13: Neurolucida parse error") as info:
        morphology.load(path)
    assert str(path) in str(info.value)


def test_asc_without_soma(h, tmp_path):
    with pytest.raises(MorphologyError, match="no soma"):
        morphology.load(write(tmp_path, "nosoma.asc", ASC_DEND))
    with pytest.raises(MorphologyError, match="line 1: no data"):
        morphology.load(write(tmp_path, "empty.asc", "; only a comment\n"))


# --------------------------------------------------------------------------
# discretize: the d_lambda rule


def test_lambda_and_nseg_of_a_cylinder(h):
    sec = h.Section(name="cylinder")
    sec.L, sec.diam, sec.Ra, sec.cm = 1000.0, 2.0, 100.0, 1.0
    # lambda_f = 1e5 * sqrt(d / (4 pi f Ra cm)) um = 1e5 * sqrt(2 / (4 pi 100 100 1))
    #          = 398.942 um;  L / (0.1 lambda_f) = 25.07  ->  int((25.07 + 0.9) / 2) * 2 + 1 = 25
    assert morphology.lambda_f_um(sec, 100.0) == pytest.approx(398.9423, rel=1e-6)
    assert morphology.discretize([sec], d_lambda=0.1, frequency_hz=100.0) == 25
    assert sec.nseg == 25
    # 4x the capacitance halves lambda_f: L / (0.1 * 199.47) = 50.13 -> 51
    sec.cm = 4.0
    assert morphology.discretize([sec]) == 51
    sec.L = 10.0  # a short section: one segment
    assert morphology.discretize([sec]) == 1
    del sec


def test_nseg_of_a_tapered_section(h):
    sec = h.Section(name="taper")
    for x, d in ((0.0, 4.0), (100.0, 4.0), (300.0, 1.0)):
        h.pt3dadd(x, 0.0, 0.0, d, sec=sec)
    sec.Ra, sec.cm = 100.0, 1.0
    # electrotonic length, piece by piece at the mean diameter of each piece:
    # 100 / lambda_f(4 um) + 200 / lambda_f(2.5 um) = 100 / 564.19 + 200 / 446.03 = 0.62565
    # L / (0.1 lambda_eff) = 0.62565 / 0.1 = 6.26 -> nseg 7
    assert sec.L / morphology.lambda_f_um(sec) == pytest.approx(0.62565, rel=1e-4)
    assert morphology.discretize([sec]) == 7
    del sec


def test_discretize_validates(h):
    sec = h.Section(name="s")
    with pytest.raises(ValueError, match="d_lambda"):
        morphology.discretize([sec], d_lambda=0)
    with pytest.raises(ValueError, match="frequency_hz"):
        morphology.discretize([sec], frequency_hz=-1)
    with pytest.raises(TypeError, match="sections"):
        morphology.discretize(["soma"])
    del sec


# --------------------------------------------------------------------------
# bundled cells

EXPECTED_COUNTS = {
    "ball_and_stick": {"soma": 1, "axon": 3, "dend": 1, "apic": 0},
    "pyramidal": {"soma": 1, "axon": 11, "dend": 15, "apic": 13},
}
EXPECTED_BOUTONS = {"ball_and_stick": 2, "pyramidal": 6}


def test_generator_reproduces_committed_files(tmp_path):
    script = morphology.bundled_dir() / "make_morphologies.py"
    spec = importlib.util.spec_from_file_location("make_morphologies", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = module.write(tmp_path)
    assert sorted(p.stem for p in written) == sorted(morphology.BUNDLED)
    for path in written:
        assert path.read_bytes() == morphology.bundled(path.stem).read_bytes(), (
            f"{path.name} is stale: run python morphologies/make_morphologies.py")


def test_bundled_lookup():
    assert morphology.bundled("pyramidal").name == "pyramidal.swc"
    with pytest.raises(ValueError, match="did you mean 'pyramidal'"):
        morphology.bundled("pyramidl")


@pytest.mark.parametrize("name", morphology.BUNDLED)
def test_bundled_cell(h, name):
    morph = morphology.load(morphology.bundled(name))
    owner = Cell(name)
    secs = morphology.instantiate(morph, owner)
    assert counts(secs) == EXPECTED_COUNTS[name]
    assert sum(counts(secs).values()) < 60
    # soma of diameter 20 um: a sphere's area (three-point soma), within 1 %
    assert soma_area_um2(secs) == pytest.approx(4 * math.pi * 10.0**2, rel=0.01)
    # boutons: axonal leaf sections, fatter than their parent, about 1 um long
    leaves = [s for s in secs["axon"] if not s.children()]
    assert len(leaves) == EXPECTED_BOUTONS[name]
    for leaf in leaves:
        assert leaf.diam > leaf.parentseg().sec.diam
        assert leaf.L == pytest.approx(1.0, abs=0.01)
    total = morphology.discretize(secs)
    assert all(s.nseg % 2 == 1 for v in secs.values() for s in v)
    assert total == sum(s.nseg for v in secs.values() for s in v)
    del owner, secs, leaves


def test_ball_and_stick_sizes(h):
    owner = Cell()
    secs = morphology.instantiate(morphology.load(morphology.bundled("ball_and_stick")), owner)
    (dend,) = secs["dend"]
    assert (dend.L, dend.diam) == (pytest.approx(400.0), pytest.approx(2.0))
    trunk = [s for s in secs["axon"] if s.children()]
    assert len(trunk) == 1 and trunk[0].L == pytest.approx(300.0) and trunk[0].diam == pytest.approx(1.0)
    del owner, secs, dend, trunk


def test_pyramidal_extent(h):
    owner = Cell()
    secs = morphology.instantiate(morphology.load(morphology.bundled("pyramidal")), owner)
    ys = [s.y3d(i) for v in secs.values() for s in v for i in range(s.n3d())]
    # a few hundred um: apical tip about 610 um above, axon about 350 um below the soma
    assert 500 < max(ys) < 800 and -500 < min(ys) < -300
    del owner, secs


# --------------------------------------------------------------------------
# shared real reconstructions and edge cases

REAL = ["allen_485574832.swc", "ca1_n120.swc", "l5pc_with_axon.swc", "l5pc_C060114A7.asc"]


@pytest.mark.parametrize("name", REAL)
def test_real_reconstruction(h, name):
    morph = morphology.load(shared(name))
    owner = Cell()
    secs = morphology.instantiate(morph, owner)
    n = counts(secs)
    assert n["soma"] >= 1 and n["dend"] >= 1
    assert sum(n.values()) == len(owner.all)
    # (NEURON 9.0: allen 1/1/40/57, ca1 2/0/101/53, l5pc SWC 1/128/66/129 and
    # ASC 1/128/66/130 soma/axon/dend/apic sections)
    dendritic_um = sum(s.L for t in ("dend", "apic") for s in secs[t])
    # total dendritic length of rodent pyramidal cells is a few mm to about
    # 20 mm (Larkman 1991); these four have 4.1-14.2 mm
    assert 2_000 < dendritic_um < 30_000
    # a soma of 10-40 um diameter: 300-5000 um2
    assert 300 < soma_area_um2(secs) < 5_000
    assert morphology.discretize(secs) > sum(n.values()) / 2
    del owner, secs


def test_single_point_soma_with_single_point_neurites(h):
    owner = Cell()
    secs = morphology.instantiate(morphology.load(shared("3_types_single_point_soma.swc")), owner)
    assert counts(secs) == {"soma": 1, "axon": 1, "dend": 1, "apic": 0}
    # one-point soma of radius 1 um: 4 pi um2 within 1 %
    assert soma_area_um2(secs) == pytest.approx(4 * math.pi, rel=0.01)
    del owner, secs


def test_interrupted_soma(h):
    # soma points on both sides of the root: Import3d makes two soma sections
    # of one tree
    owner = Cell()
    secs = morphology.instantiate(morphology.load(shared("interrupted_soma.swc")), owner)
    assert counts(secs) == {"soma": 2, "axon": 0, "dend": 1, "apic": 0}
    assert len(secs["soma"][0].wholetree()) == 3
    del owner, secs


def test_multiple_roots_file_is_refused():
    path = shared("multiple_roots.swc")
    with pytest.raises(MorphologyError) as info:
        morphology.load(path)
    message = str(info.value)
    assert str(path.resolve()) in message  # the file named as the loader resolved it
    assert "line 7: a second root" in message
    assert "line 9: duplicate id 3" in message


def test_import3d_repairs_are_reported_with_original_lines(h, tmp_path):
    # point 4 repeats its parent's position: Import3d removes the zero-length
    # branch it would make; the warning names the line in the user's file
    text = HEADER + ROOT + DEND + "3 3 0 20 0 1 2\n4 3 0 20 0 1 3\n5 3 10 30 0 1 3\n"
    owner = Cell()
    with pytest.warns(UserWarning, match="ending at line 5 with 0 length has been removed"):
        secs = morphology.instantiate(morphology.load(write(tmp_path, "zero.swc", text)), owner)
    assert counts(secs) == {"soma": 1, "axon": 0, "dend": 2, "apic": 0}
    del owner, secs
