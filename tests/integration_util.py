"""Shared pieces of the BluePyOpt and NetPyNE integration tests.

The ion ledger: in a fixed-step run with axial diffusion off, the ions in a
segment change only by what crossed its membrane. NEURON turns a current
density into charge with the segment's own area (``seg.area()``, from the
3-D points: frusta); ionhomeo's owners keep their ions in the cylinder of the
segment's diameter, ``pi diam^2/4 L/nseg``. So, per segment and ion,

    change of (c * vol)  ==  -sum_k i_k dt area / (z F)

where i_k is the ion's summed current density NEURON used in step k. In a
fixed step NEURON computes the currents once (BREAKPOINT), advances the
concentrations with them and then records, so the value recorded at step k
(k >= 1) is exactly the current that moved ions in step k (the pattern of
tests/test_conservation.py). Units: mM * um3 = 1e-18 mol = 1 amol; mA/cm2 *
ms * um2 = 1e-14 C, so crossed (amol) = -sum i dt area * 1e4 / (z F).
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from ionhomeo import calcium, thermo
from ionhomeo.defaults import Defaults

#: valence of the ions the ledger follows
VALENCE = {"na": 1, "k": 1, "cl": -1, "ca": 2}
#: the owner of each ion's intracellular concentration (its GLOBAL D is set to 0)
OWNER = {"na": "nadyn", "k": "kdyn", "cl": "cldyn", "ca": "cadyn"}
#: owners whose ``afac`` the contract has ionhomeo's initialisation handler set
AREA_FACTOR_OWNERS = ("nadyn", "kdyn", "cldyn", "cadyn", "caentry", "kext")

#: the documented start (ionhomeo.defaults.Defaults): {ion: mM inside}
DEFAULT_START = {ion: getattr(Defaults(), f"{ion}i") for ion in VALENCE}
DEFAULT_CELSIUS = Defaults().celsius


#: the owners' volume of a segment: the cylinder of its diameter
volume_um3 = calcium.segment_volume_um3


def area_factor(seg) -> float:
    """NEURON's segment area over the cylinder's, pi diam L/nseg (1 for a cylinder)."""
    sec = seg.sec
    return seg.area() / (math.pi * seg.diam * sec.L / sec.nseg)


def tapered_swc(path):
    """Write a small SWC: a 3-point soma (20 um) and a steep cone (diameter
    4 -> 1 um over 3 um) that branches into two thin dendrites; return path.

    A frustum's lateral area is the cylinder's of its mean diameter times the
    slant factor sqrt(1 + (d_r/dx)^2), so the cone's one segment has NEURON's
    area 11.8 % above the cylinder the owners use (a gentle 1 -> 4 um over 10
    um would give only 1.1 %).
    """
    path.write_text(
        "# soma (3-point, 20 um), a cone 4 -> 1 um over 3 um, two thin branches\n"
        "1 1 0 0 0 10 -1\n"
        "2 1 0 -10 0 10 1\n"
        "3 1 0 10 0 10 1\n"
        "4 3 0 10 0 2.0 1\n"
        "5 3 0 13 0 0.5 4\n"
        "6 3 0 30 10 0.5 5\n"
        "7 3 0 50 20 0.5 6\n"
        "8 3 0 30 -10 0.5 5\n"
        "9 3 0 50 -20 0.5 8\n"
    )
    return path


def beaded_pt3d(length_um=30.0, thin=1.0, wide=3.0, pitch=2.0):
    """3-D points [x, y, z, diam] of a beaded (varicose) dendrite along y:
    the diameter alternates thin/wide every ``pitch`` um, so every segment's
    area is the cylinder's times sqrt(1 + ((wide-thin)/2/pitch)^2) (11.8 %)."""
    n = int(round(length_um / pitch))
    return [[0.0, k * pitch, 0.0, thin if k % 2 == 0 else wide] for k in range(n + 1)]


@contextlib.contextmanager
def diffusion_off(h, ions=VALENCE):
    """Owners' axial diffusion off (their GLOBAL D = 0) for a block, then restored."""
    names = [f"D_{OWNER[ion]}" for ion in ions]
    old = {name: getattr(h, name) for name in names}
    try:
        for name in names:
            setattr(h, name, 0.0)
        yield
    finally:
        for name, value in old.items():
            setattr(h, name, value)


@contextlib.contextmanager
def neuron_settings_restored(h):
    """Restore what BluePyOpt and NetPyNE change in NEURON's global state.

    The conftest fixture restores CVODE on/off (CVode().active), dt,
    secondorder, celsius and the ion globals; not stdrun's own flag
    ``using_cvode_``, which BluePyOpt sets through ``h.cvode_active(1)``: left
    at 1, every later ``h.continuerun`` takes one step too many in fixed-step
    mode (test_simulate's chunked runs end at 30.025 instead of 30 ms).
    """
    cv = h.CVode()
    names = ("tstop", "v_init", "steps_per_ms", "nstep_steprun", "using_cvode_", "celsius")
    old = {name: getattr(h, name) for name in names}
    atol, rtol, fast_imem, active = cv.atol(), cv.rtol(), cv.use_fast_imem(), cv.active()
    try:
        yield
    finally:
        for name, value in old.items():
            setattr(h, name, value)
        cv.active(active)
        cv.atol(atol)
        cv.rtol(rtol)
        cv.use_fast_imem(fast_imem)


def _content_refs(seg, ion):
    """References whose values (mM) sum to the ion's content per volume."""
    if ion == "ca":  # free plus buffer-bound, all immobile here
        return [seg._ref_cai] + [getattr(seg.cadyn, f"_ref_{s}") for s in calcium.BOUND_STATES]
    return [getattr(seg, f"_ref_{ion}i")]


class IonLedger:
    """Records, at every fixed step, each ion's current density and content
    in the given segments; ``errors()`` compares ions and charge afterwards.

    Create it after the cell and before ``finitialize``.
    """

    def __init__(self, h, segments, ions=("na", "k", "cl")):
        self.h = h
        self.segments = list(segments)
        self.ions = tuple(ions)
        self.current = {(j, ion): h.Vector().record(getattr(seg, f"_ref_i{ion}"))
                        for j, seg in enumerate(self.segments) for ion in self.ions}
        self.content = {(j, ion): [h.Vector().record(ref) for ref in _content_refs(seg, ion)]
                        for j, seg in enumerate(self.segments) for ion in self.ions}

    def crossed_amol(self, j, ion) -> float:
        """Ions that entered segment j (amol) by NEURON's charge: -sum i dt area/(zF)."""
        i = np.asarray(self.current[j, ion])[1:]  # step k's current, k >= 1
        seg = self.segments[j]
        return -float(np.sum(i)) * self.h.dt * seg.area() * 1e4 / (VALENCE[ion] * thermo.FARADAY)

    def change_amol(self, j, ion) -> float:
        """Change of the ions in segment j (amol): content per volume times the owners' volume."""
        total = sum(np.asarray(v) for v in self.content[j, ion])
        return float(total[-1] - total[0]) * volume_um3(self.segments[j])

    def roundoff_amol(self, j, ion) -> float:
        """Round-off floor of change_amol: NEURON stores the concentration as a
        double and rounds it once per step, by up to one machine epsilon of
        itself; over n steps that is n eps c vol. It matters where a large
        concentration barely moves (K at 140 mM in a 20 um soma, changed by
        1e-4 of itself in 4000 steps: floor 3e-9 of the change, measured
        1.7e-9), not in the small 3-D segments (measured 1e-11)."""
        c = np.abs(sum(np.asarray(v) for v in self.content[j, ion]))
        return (len(c) - 1) * np.finfo(float).eps * float(c.max()) * volume_um3(self.segments[j])

    def initial(self, j, ion) -> float:
        """The free concentration (mM) recorded at t = 0 in segment j."""
        return float(np.asarray(self.content[j, ion][0])[0])

    def errors(self):
        """[(segment, ion, change, crossed, (change - crossed)/change, floor)] for
        every segment and ion; floor is :meth:`roundoff_amol` over the change."""
        out = []
        for j, seg in enumerate(self.segments):
            for ion in self.ions:
                change, crossed = self.change_amol(j, ion), self.crossed_amol(j, ion)
                rel = (change - crossed) / change if change else math.inf
                floor = self.roundoff_amol(j, ion) / abs(change) if change else math.inf
                out.append((str(seg), ion, change, crossed, rel, floor))
        return out

    def release(self):
        """Drop the recording vectors (they reference the segments)."""
        self.current.clear()
        self.content.clear()
        self.segments = []
