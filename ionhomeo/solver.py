"""Integration settings: fixed step or CVODE with tolerances scaled to concentrations.

CVODE's absolute tolerance (``atol``, default 1e-3) is in the units of each
state. For membrane potential that is 1e-3 mV, which proved too loose near
threshold (spikes lost, see ATOL_SCALE), and it does not suit concentrations
at all: one spike changes nai of a soma by about 1e-4 mM. ionhomeo therefore
scales the absolute tolerance of v to 1e-4 mV and of every concentration
state it owns (``CVode.atolscale``) to about 1e-6 of its resting value.
"""

from __future__ import annotations

#: state name -> atolscale (absolute tolerance = atol * scale in the state's
#: units, mV for v and mM for concentrations, with the default atol 1e-3):
#: concentrations to about 1e-6 of their resting value.
ATOL_SCALE = {
    # membrane potential: 1e-4 mV. At NEURON's 1e-3 mV CVODE lost the two
    # spikes that follow the end of a 0.5 nA step in the bundled pyramidal
    # cell (the earlier, uncalibrated mature preset, kept in the tests), which
    # fixed steps of 25 down to 6.25 us all fire;
    # at 1e-4 mV both come within 0.6 ms of the finest fixed step (which
    # itself moved them by 1-3 ms from 12.5 us), for 26 % more CPU on that
    # run (tests/test_solver.py, slow)
    "v": 1e-1,
    "nai": 1e-2,   # 1e-5 mM of ~12 mM
    "ki": 1e-1,    # 1e-4 mM of ~140 mM
    "cli": 5e-3,   # 5e-6 mM of ~5 mM
    "ko": 4e-3,    # 4e-6 mM of ~4 mM
    # calcium (cadyn, cabuf, er, mito, caentry): Ca signals are 1e-5..1e-2 mM, so
    # absolute tolerances of picomolar to nanomolar. With NEURON's default
    # atol a 100 nM pool under SERCA went to -0.19 mM.
    "cai": 1e-6,          # 1e-9 mM of ~1e-4 mM
    # the pools count for Ca content with their volume: ER fer (0.1) x free
    # and bound; matrix fmt/fm (about 170) x free. Their tolerances are scaled
    # so that each contributes at most about 1e-8 mM of cytosolic Ca.
    "caeri": 1e-5,        # 1e-8 mM of ~0.5 mM
    "camti": 1e-8,        # 1e-11 mM of ~1e-4 mM (x 170 for the buffered matrix)
    **{f"{state}_cadyn": 1e-5  # 1e-8 mM; buffer states are 1e-4..1 mM
       for state in ("b", "cab", "cbh", "cacbh", "cbm", "cacbm",
                     "pv", "capv", "mgpv", "dye", "cadye")},
    "b_cabuf": 1e-5,      # as cadyn's generic buffer
    "cab_cabuf": 1e-5,
    "ber_er": 1e-5,       # 1e-8 mM of mM luminal buffer
    "caber_er": 1e-5,
    "entered_caentry": 1e-6,  # 1e-9 mM
    # casensor's time integral of cai (mM ms): 1e-7 mM ms, so a 100 ms mean
    # of a 100 nM cai is resolved to 1e-9 mM
    "caint_casensor": 1e-4,
}


def use_cvode(active: bool = True, rtol: float = 0.0, atol: float = 1e-3):
    """Switch CVODE on (or off) with ionhomeo's concentration tolerances.

    rtol, atol: CVODE's relative and absolute tolerances (atol in mV for v;
    concentrations get atol times their ATOL_SCALE entry).
    """
    from neuron import h

    from . import build

    build.ensure_loaded()
    cv = h.CVode()
    cv.active(int(bool(active)))
    if active:
        cv.rtol(rtol)
        cv.atol(atol)
        for state, scale in ATOL_SCALE.items():
            cv.atolscale(state, scale)
    return cv


def use_fixed_step(dt: float = 0.025, secondorder: int = 2):
    """Switch to NEURON's fixed-step integration with step dt (ms).

    secondorder=2 (the default here; NEURON's own default is 0) uses
    Crank-Nicolson with ionic currents corrected to the middle of the step.
    Measured on a cell with spiking 0.8 um dendrites (tests/test_dynamics.py):
    with backward Euler (0) at dt = 0.025 ms the Na load of the thin dendrite
    after 300 ms of firing is 10 % too large (first-order error in the charge
    of each spike's upstroke); with 2 it agrees with tight CVODE to 0.03 %.

    Stiff buffers: Crank-Nicolson is not L-stable, so a fast Ca buffer
    (kon B about 500 /ms for cadyn's default) rings for a few steps after a
    step change of the Ca current (a pulse edge), with a decay factor
    (1 - kon B dt/2)/(1 + kon B dt/2) = -0.72 per step at dt = 0.025 ms.
    Smooth currents (action potentials) are not affected; values within
    about 0.5 ms of a current step are. secondorder=0 (backward Euler) does
    not ring, at the cost of first-order accuracy.
    """
    from neuron import h

    if not dt > 0:
        raise ValueError(f"dt must be > 0 ms, got {dt!r}")
    if secondorder not in (0, 1, 2):
        raise ValueError(f"secondorder must be 0, 1 or 2, got {secondorder!r}")
    h.CVode().active(0)
    h.dt = dt
    h.secondorder = secondorder


def save() -> dict:
    """The current integration settings (CVODE on/off, tolerances, atolscales,
    the largest CVODE step, dt, the fixed-step method)."""
    from neuron import h

    cv = h.CVode()
    return {"active": cv.active(), "rtol": cv.rtol(), "atol": cv.atol(), "dt": h.dt,
            "secondorder": h.secondorder, "maxstep": cv.maxstep(),
            "atolscale": {s: cv.atolscale(s) for s in ATOL_SCALE}}


def restore(saved: dict) -> None:
    """Put back settings from :func:`save` (protocols leave NEURON as they found it)."""
    from neuron import h

    cv = h.CVode()
    for state, scale in saved["atolscale"].items():
        cv.atolscale(state, scale)
    cv.rtol(saved["rtol"])
    cv.atol(saved["atol"])
    if "maxstep" in saved:
        cv.maxstep(saved["maxstep"])
    cv.active(saved["active"])
    h.dt = saved["dt"]
    h.secondorder = saved["secondorder"]
