#!/usr/bin/env python3
"""Write the bundled cells ``ball_and_stick.swc`` and ``pyramidal.swc``.

Usage::

    python morphologies/make_morphologies.py            # rewrite the files next to this script
    python morphologies/make_morphologies.py --out DIR  # write them into DIR
    python morphologies/make_morphologies.py --check    # exit 1 if the committed files differ

The cells are built from straight pieces along fixed directions: no random
numbers, and every coordinate is printed with 3 decimals (1 nm), so the output
is the same byte for byte on every machine.  Directions are unit vectors with
exact decimal components (3-4-5 triangles: 0.6, 0.8), so no trigonometry is
needed.  All lengths and diameters are in um; SWC stores radii.  The sizes and
their sources are listed in ``morphologies/README.md``; the constants below
carry the same numbers.

Branches: NEURON's Import3d starts a child section with a copy of the branch
point at the parent's diameter, so every branch here has its own first point
0.1 um past the branch point, with its own diameter (a 0.1 um taper instead of
a cone from the parent's diameter over the branch's first piece).

Bouton rule: Import3d starts a new section only at a branch point or at a
change of SWC type code.  A bouton is the last (leaf) section of an axon
branch, so every axon branch here ends at a branch point carrying two boutons
(a terminal pair); a single bouton continuing the axon would merge into the
axon's last section.  Each bouton is a fat cylinder 1 um long (its first
point 0.1 um past the branch point, its end 1 um past it).

Soma: the NeuroMorpho.Org three-point convention (a centre point and two points
+-r away along y, all of radius r, neurites attached to the centre), which
NEURON's Import3d turns into a cylinder of length and diameter 2r, i.e. the
area of a sphere of radius r.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

SOMA, AXON, BASAL, APICAL = 1, 2, 3, 4

# ---- sizes (um); sources in README.md ------------------------------------
SOMA_DIAM = 20.0            # pyramidal soma, approximately 20 um
BOUTON_DIAM = 1.5           # terminal boutons, approximately 1-2 um wide
BOUTON_LEN = 1.0            # and about 1 um long
BRANCH_START = 0.1          # first own point of a branch, um past its branch point

# ball and stick
BS_DEND_DIAM, BS_DEND_LEN = 2.0, 400.0
BS_AXON_DIAM, BS_AXON_LEN = 1.0, 300.0
BS_AIS_LEN = 40.0           # the axon initial segment region (same 1 um diameter)

# pyramidal cell
AIS_DIAM, AIS_LEN = 1.0, 40.0             # axon initial segment: ~1 um x 30-50 um
AXON_DIAM = 1.0                            # main axon
AXON_COLLATERAL_AT = (100.0, 200.0)        # collateral branch points, um below the soma surface
AXON_LEN = 340.0                           # main axon length from the soma surface
COLLATERAL_DIAM, COLLATERAL_LEN = 0.5, 150.0
TRUNK_DIAM_START, TRUNK_DIAM_END = 4.0, 2.5  # apical trunk, 3-5 um near the soma, tapering
TRUNK_LEN = 400.0                          # soma surface to the tuft's main branch point
OBLIQUE_AT = (50.0, 110.0, 170.0)          # oblique branch points on the trunk, um from the soma surface
OBLIQUE_DIAM_START, OBLIQUE_DIAM_END, OBLIQUE_LEN = 1.2, 0.8, 150.0
TUFT1_DIAM_START, TUFT1_DIAM_END, TUFT1_LEN = 2.0, 1.5, 100.0
TUFT2_DIAM_START, TUFT2_DIAM_END, TUFT2_LEN = 1.2, 0.8, 120.0
BASAL_STEM_DIAM_START, BASAL_STEM_DIAM_END, BASAL_STEM_LEN = 1.6, 1.3, 30.0
BASAL_DIAM_START, BASAL_DIAM_END, BASAL_LEN = 1.0, 0.6, 150.0
STEP = 25.0                                # spacing of traced points along a piece

# (direction of the stem, direction in which its two daughters spread)
BASAL_STEMS = (
    ((1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
    ((-1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
    ((0.0, 0.0, 1.0), (1.0, 0.0, 0.0)),
    ((0.0, 0.0, -1.0), (1.0, 0.0, 0.0)),
    ((0.6, -0.8, 0.0), (0.8, 0.6, 0.0)),
)


def _fmt(value: float) -> str:
    text = f"{value:.3f}"
    return "0.000" if text == "-0.000" else text


def _add(a, b, scale=1.0):
    return tuple(ai + scale * bi for ai, bi in zip(a, b))


def _fork(direction, spread):
    """The two daughter directions 0.8 * direction +- 0.6 * spread (about 37 deg apart from it)."""
    return (tuple(0.8 * d + 0.6 * s for d, s in zip(direction, spread)),
            tuple(0.8 * d - 0.6 * s for d, s in zip(direction, spread)))


class Swc:
    """Collects SWC points; ids are assigned in order, so parents always come first."""

    def __init__(self):
        self.rows = []

    def add(self, code, xyz, diam, parent) -> int:
        self.rows.append((len(self.rows) + 1, code, xyz, diam / 2, parent))
        return len(self.rows)

    def cable(self, code, parent, start, direction, length, d0, d1, step=STEP,
              skip_first=False):
        """Straight cable from ``start`` along ``direction``; linear taper d0 -> d1.

        Points every ``step`` um (and at the end); the first point is at
        ``start``, or, with ``skip_first`` (``start`` is the parent's last point),
        ``BRANCH_START`` um past it.  Returns (last id, end point).
        """
        n = max(1, math.ceil(length / step - 1e-9))
        last = parent
        if skip_first:
            # Import3d starts a child section with a copy of the branch point at the
            # parent's diameter: give the child its own diameter right after it
            last = self.add(code, _add(start, direction, BRANCH_START), d0, last)
        for k in range(1 if skip_first else 0, n + 1):
            frac = k / n
            last = self.add(code, _add(start, direction, frac * length), d0 + frac * (d1 - d0), last)
        return last, _add(start, direction, length)

    def boutons(self, parent, end, direction, spread):
        """A branch point at ``end`` carrying two boutons (leaf sections)."""
        for daughter in _fork(direction, spread):
            first = self.add(AXON, _add(end, daughter, BRANCH_START), BOUTON_DIAM, parent)
            self.add(AXON, _add(end, daughter, BOUTON_LEN), BOUTON_DIAM, first)

    def soma(self, centre=(0.0, 0.0, 0.0)) -> int:
        """NeuroMorpho three-point soma; returns the id of the centre point."""
        r = SOMA_DIAM / 2
        root = self.add(SOMA, centre, SOMA_DIAM, -1)
        self.add(SOMA, _add(centre, (0.0, -r, 0.0)), SOMA_DIAM, root)
        self.add(SOMA, _add(centre, (0.0, r, 0.0)), SOMA_DIAM, root)
        return root

    def text(self, header: str) -> str:
        lines = ["# " + line if line else "#" for line in header.strip().splitlines()]
        lines.append("# id type x y z radius parent (um)")
        for ident, code, (x, y, z), radius, parent in self.rows:
            lines.append(f"{ident} {code} {_fmt(x)} {_fmt(y)} {_fmt(z)} {_fmt(radius)} {parent}")
        return "\n".join(lines) + "\n"


def ball_and_stick() -> str:
    swc = Swc()
    root = swc.soma()
    r = SOMA_DIAM / 2
    swc.cable(BASAL, root, (0.0, r, 0.0), (0.0, 1.0, 0.0), BS_DEND_LEN, BS_DEND_DIAM, BS_DEND_DIAM,
              step=50.0)
    # the axon initial segment region (first BS_AIS_LEN um) is traced at 10 um spacing
    down = (0.0, -1.0, 0.0)
    last, end = swc.cable(AXON, root, (0.0, -r, 0.0), down, BS_AIS_LEN, BS_AXON_DIAM,
                          BS_AXON_DIAM, step=10.0)
    last, end = swc.cable(AXON, last, end, down, BS_AXON_LEN - BS_AIS_LEN, BS_AXON_DIAM,
                          BS_AXON_DIAM, step=50.0, skip_first=True)
    swc.boutons(last, end, down, (1.0, 0.0, 0.0))
    return swc.text(f"""
ionhomeo bundled cell: ball and stick
Written by morphologies/make_morphologies.py (do not edit; run the script).
Soma: three-point soma (NeuroMorpho.Org convention), diameter {SOMA_DIAM:g} um.
Dendrite (type 3): {BS_DEND_DIAM:g} um x {BS_DEND_LEN:g} um, straight up (+y).
Axon (type 2): {BS_AXON_DIAM:g} um x {BS_AXON_LEN:g} um, straight down; its first
{BS_AIS_LEN:g} um are the axon initial segment region; it ends at a branch point
carrying two boutons ({BOUTON_DIAM:g} um x {BOUTON_LEN:g} um).
Sizes and sources: morphologies/README.md.
""")


def pyramidal() -> str:
    swc = Swc()
    root = swc.soma()
    r = SOMA_DIAM / 2
    up, down = (0.0, 1.0, 0.0), (0.0, -1.0, 0.0)

    # apical trunk (type 4), tapering; oblique branches leave it alternately +x and -x
    taper = (TRUNK_DIAM_END - TRUNK_DIAM_START) / TRUNK_LEN
    last, pos, done = root, (0.0, r, 0.0), 0.0
    for k, at in enumerate(OBLIQUE_AT):
        last, pos = swc.cable(APICAL, last, pos, up, at - done, TRUNK_DIAM_START + taper * done,
                              TRUNK_DIAM_START + taper * at, skip_first=done > 0)
        done = at
        side = 1.0 if k % 2 == 0 else -1.0
        swc.cable(APICAL, last, pos, (0.8 * side, 0.6, 0.0), OBLIQUE_LEN, OBLIQUE_DIAM_START,
                  OBLIQUE_DIAM_END, step=50.0, skip_first=True)
    last, pos = swc.cable(APICAL, last, pos, up, TRUNK_LEN - done, TRUNK_DIAM_START + taper * done,
                          TRUNK_DIAM_END, step=50.0, skip_first=True)
    # tuft: two branches, each splitting into two
    for side in (1.0, -1.0):
        first_dir = (0.6 * side, 0.8, 0.0)
        t_last, t_end = swc.cable(APICAL, last, pos, first_dir, TUFT1_LEN, TUFT1_DIAM_START,
                                  TUFT1_DIAM_END, step=50.0, skip_first=True)
        for second_dir in (up, (0.8 * side, 0.6, 0.0)):
            swc.cable(APICAL, t_last, t_end, second_dir, TUFT2_LEN, TUFT2_DIAM_START,
                      TUFT2_DIAM_END, step=40.0, skip_first=True)

    # basal dendrites (type 3): five stems, each splitting into two daughters
    for direction, spread in BASAL_STEMS:
        stem, end = swc.cable(BASAL, root, _add((0.0, 0.0, 0.0), direction, r), direction,
                              BASAL_STEM_LEN, BASAL_STEM_DIAM_START, BASAL_STEM_DIAM_END, step=30.0)
        for daughter in _fork(direction, spread):
            swc.cable(BASAL, stem, end, daughter, BASAL_LEN, BASAL_DIAM_START, BASAL_DIAM_END,
                      step=50.0, skip_first=True)

    # axon (type 2): initial segment, main axon with two collaterals, boutons
    last, pos = swc.cable(AXON, root, (0.0, -r, 0.0), down, AIS_LEN, AIS_DIAM, AIS_DIAM, step=10.0)
    done = AIS_LEN
    for k, at in enumerate(AXON_COLLATERAL_AT):
        last, pos = swc.cable(AXON, last, pos, down, at - done, AXON_DIAM, AXON_DIAM, step=30.0,
                              skip_first=True)
        done = at
        direction = (0.8, 0.6, 0.0) if k % 2 == 0 else (-0.8, 0.6, 0.0)  # recurrent, upward
        spread = (-direction[1], direction[0], 0.0)
        c_last, c_end = swc.cable(AXON, last, pos, direction, COLLATERAL_LEN, COLLATERAL_DIAM,
                                  COLLATERAL_DIAM, step=50.0, skip_first=True)
        swc.boutons(c_last, c_end, direction, spread)
    last, pos = swc.cable(AXON, last, pos, down, AXON_LEN - done, AXON_DIAM, AXON_DIAM, step=50.0,
                          skip_first=True)
    swc.boutons(last, pos, down, (1.0, 0.0, 0.0))
    return swc.text(f"""
ionhomeo bundled cell: simplified neocortical pyramidal cell
Written by morphologies/make_morphologies.py (do not edit; run the script).
Soma: three-point soma (NeuroMorpho.Org convention), diameter {SOMA_DIAM:g} um.
Apical dendrite (type 4): trunk {TRUNK_DIAM_START:g} -> {TRUNK_DIAM_END:g} um over {TRUNK_LEN:g} um
with {len(OBLIQUE_AT)} oblique branches ({OBLIQUE_LEN:g} um) and a tuft (2 branches of
{TUFT1_LEN:g} um, each splitting into 2 of {TUFT2_LEN:g} um).
Basal dendrites (type 3): {len(BASAL_STEMS)} stems of {BASAL_STEM_LEN:g} um, each splitting into 2
daughters of {BASAL_LEN:g} um ({BASAL_DIAM_START:g} -> {BASAL_DIAM_END:g} um).
Axon (type 2): initial segment {AIS_DIAM:g} um x {AIS_LEN:g} um, main axon {AXON_DIAM:g} um to
{AXON_LEN:g} um below the soma with {len(AXON_COLLATERAL_AT)} collaterals ({COLLATERAL_DIAM:g} um x
{COLLATERAL_LEN:g} um); every axon branch ends at a branch point carrying two boutons
({BOUTON_DIAM:g} um x {BOUTON_LEN:g} um).
Sizes and sources: morphologies/README.md.
""")


#: file name -> generator
CELLS = {"ball_and_stick.swc": ball_and_stick, "pyramidal.swc": pyramidal}


def write(out_dir: Path) -> list[Path]:
    """Write every bundled cell into ``out_dir``; return the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in CELLS.items():
        path = out_dir / name
        path.write_bytes(make().encode("ascii"))
        written.append(path)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: %(default)s)")
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if the files in --out differ from the generated ones")
    args = parser.parse_args(argv)
    if args.check:
        stale = [name for name, make in CELLS.items()
                 if not (args.out / name).is_file()
                 or (args.out / name).read_bytes() != make().encode("ascii")]
        for name in stale:
            print(f"{args.out / name} differs from the generator's output; run {Path(__file__).name}")
        return 1 if stale else 0
    for path in write(args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
