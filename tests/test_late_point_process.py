"""A point process placed after the resting state was solved does not lose it.

NEURON turns an ion's reset of written concentrations at finitialize
(ion_style cinit) back on in the one segment where a mechanism using the ion
is allocated, such as a GabaA synapse (Cl) or a Channel Builder point process
(Na, K); ``ion_style`` only reads a section's first segment. The defaults'
handler must turn the reset off again in that segment, or it restarts at the
global concentration at every later finitialize (``cell.start()`` included).
The plain-hoc variant is in test_hoc.py.
"""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from ionhomeo import locsets
from ionhomeo.cell import Cell


def _owned_concentrations(cell) -> dict:
    """{ion: array over the solved segments} of every concentration the solver set."""
    state = cell.state
    return {ion: np.array([getattr(seg, f"{ion}i") if not np.isnan(c[k]) else np.nan
                           for k, seg in enumerate(state.segments)])
            for ion, c in state.concentrations.items()}


def _not_first(locations) -> list:
    """The locations in a segment other than their section's first."""
    return [loc for loc in locations if loc.segment.x != next(iter(loc.section)).x]


@pytest.mark.parametrize("mechanism", ["GabaA", "CaInject"])
def test_point_processes_placed_after_initialize_keep_every_segment_at_rest(h, mechanism):
    """GabaA reads cli: NEURON turns Cl's reset on in its segments (18 of the 120
    reset to 5 mM before the fix). CaInject only writes ica, which NEURON does
    not count as a use that sets the style: checked all the same."""
    cell = Cell("pyramidal", "mature")
    pps = []
    try:
        cell.initialize()
        v0 = np.array([seg.v for seg in cell.state.segments])
        c0 = _owned_concentrations(cell)
        assert {"na", "k", "cl", "ca"} <= set(c0)
        # the rest is not the defaults (else a reset would not show)
        assert np.nanmax(np.abs(c0["cl"] - h.cli0_cl_ion)) > 0.5
        locations = locsets.uniform(cell, "dendrite", 30)
        assert len(_not_first(locations)) >= 10  # the case ion_style cannot see
        pps = locsets.place(cell, locations, mechanism)
        for _ in range(2):  # every later finitialize, not only the first
            cell.start()
            c1 = _owned_concentrations(cell)
            for ion in c0:
                np.testing.assert_allclose(c1[ion], c0[ion], rtol=1e-12, err_msg=ion)
            np.testing.assert_allclose([seg.v for seg in cell.state.segments], v0, rtol=1e-12)
    finally:
        del pps
        cell.destroy()


def test_na_and_k_point_processes_placed_after_initialize_keep_every_segment_at_rest(tmp_path):
    """Na and K with Channel Builder point processes (no ionhomeo mechanism is a
    point process using them); in a fresh interpreter, as the new mechanism
    types would stay in this one."""
    code = """
        import numpy as np
        import ionhomeo.defaults
        ionhomeo.defaults.apply()
        from neuron import h
        from ionhomeo import locsets
        from ionhomeo.cell import Cell

        cell = Cell("pyramidal", "mature")
        state = cell.initialize()
        def owned():
            return {ion: np.array([getattr(s, ion + "i") for s in state.segments])
                    for ion in ("na", "k", "cl")}
        c0 = owned()
        probes = {}
        for ion in ("na", "k"):
            probes[ion] = h.KSChan(1)  # a point process; its gmax is 0 (no current)
            probes[ion].name(ion.upper() + "probe")
            probes[ion].ion(ion)
        locs = locsets.uniform(cell, "dendrite", 20)
        first = [l for l in locs if l.segment.x == next(iter(l.section)).x]
        print("not first", len(locs) - len(first))
        pps = [getattr(h, ("NAprobe", "Kprobe")[i % 2])(l.segment) for i, l in enumerate(locs)]
        for _ in range(2):
            cell.start()
            c1 = owned()
            print("worst", max(float(np.max(np.abs(c1[ion] / c0[ion] - 1))) for ion in c0))
    """
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.split("not first ")[1].split()[0]) >= 5
    worst = [float(line.split()[1]) for line in out.stdout.splitlines()
             if line.startswith("worst")]
    assert len(worst) == 2 and max(worst) < 1e-12, out.stdout
