"""Rate laws of ionhomeo's pumps and transporters, as their mod files compute them.

Pure numpy, like :mod:`ionhomeo.thermo` (same conventions): every numeric
argument may be a scalar or an array and they broadcast; scalars give numpy
floats out. Concentrations in mM, voltages in mV (V = V_inside -
V_outside), currents in mA/cm2 with outward positive (NEURON's
convention), temperature ``celsius`` in degC (default 37), free energies
in kJ/mol.

Each rate law is the formula of a mod file's BREAKPOINT, written out so
that a protocol can compute what a mechanism does in a given state, and how
it responds to a change of that state (derivatives by hand), without
perturbing NEURON. tests/test_kinetics.py checks each against the
mechanism's own current in a NEURON segment.

Adding a rate law: write it here, list it in ``__all__`` and test it against
its mechanism in tests/test_kinetics.py.
"""

from __future__ import annotations

import numpy as np

__all__ = ["nakpump_current", "nakpump_dnai", "nakpump_at", "nai_recovery_tau_s", "hill_uptake"]


# ---------------------------------------------------------------------------
# Na/K-ATPase (nakpump.mod)
# ---------------------------------------------------------------------------

def _nakpump_terms(nai, nao, ki, ko, v, kmna, kmk, dgatp, celsius):
    """(sNa, sK, tanh(x)) of nakpump: the saturations per site and the
    thermodynamic factor, x = -dGc/(2RT) with dGc the free energy of one
    forward cycle divided by F (mV)."""
    from . import thermo

    nai, nao, ki, ko, v = (np.asarray(x, float) for x in (nai, nao, ki, ko, v))
    rtf = np.asarray(thermo.rt_over_f(celsius), float)
    dgatp_mv = 1e6 * np.asarray(dgatp, float) / thermo.FARADAY  # kJ/mol / (C/mol) = kV -> mV
    dgc = dgatp_mv + 3 * (rtf * np.log(nao / nai) - v) + 2 * (rtf * np.log(ki / ko) + v)
    th = np.tanh(-dgc / (2 * rtf))
    return nai / (nai + kmna), ko / (ko + kmk), th


def _out(x):
    x = np.asarray(x, dtype=float)
    return x[()] if x.ndim == 0 else x


def nakpump_current(nai, nao, ki, ko, v, imax, avail=1.0, kmna=10.0, kmk=2.0, dgatp=-55.0,
                    celsius=37.0):
    """Net outward current of the Na/K-ATPase, ``ipump`` of nakpump.mod (mA/cm2).

        I_p = imax avail sNa^3 sK^2 tanh(-dGc/(2RT))
        sNa = Nai/(Nai + kmna),  sK = Ko/(Ko + kmk)
        dGc = dGatp + 3 [RT ln(Nao/Nai) - F V] + 2 [RT ln(Ki/Ko) + F V]

    One net charge per cycle (3 Na out, 2 K in): the pump's Na current is
    3 I_p, its K current -2 I_p.

    Parameters
    ----------
    nai, nao, ki, ko : float or array, mM
        Concentrations (> 0; nakpump floors them at 1e-12 mM, this does not).
    v : float or array, mV
    imax : float or array, mA/cm2
        Maximal net pump current (nakpump's RANGE imax, default 0.004).
    avail : float or array
        Fraction of pumps running (0: ouabain).
    kmna, kmk : float or array, mM
        Dissociation constants per site (nakpump's GLOBALs kmna_nakpump,
        kmk_nakpump).
    dgatp : float or array, kJ/mol
        Free energy of ATP hydrolysis (GLOBAL dgatp_nakpump).
    celsius : float or array, degC

    Returns
    -------
    numpy float or array, mA/cm2 (outward positive)
    """
    sna, sk, th = _nakpump_terms(nai, nao, ki, ko, v, kmna, kmk, dgatp, celsius)
    return _out(imax * avail * sna ** 3 * sk ** 2 * th)


def nakpump_dnai(nai, nao, ki, ko, v, imax, avail=1.0, kmna=10.0, kmk=2.0, dgatp=-55.0,
                 celsius=37.0):
    """The pump's Na sensitivity dI_p/dNai at fixed V, Nao, Ki, Ko (mA/cm2/mM).

    Differentiating :func:`nakpump_current` (x = -dGc/(2RT), which contains
    +3/2 ln Nai):

        dI_p/dNai = imax avail sK^2 [3 sNa^2 kmna/(Nai + kmna)^2 tanh(x)
                                     + sNa^3 (1 - tanh(x)^2) 3/(2 Nai)]

    The second (thermodynamic) term is a few % of the first at rest (7 %
    with ionhomeo's defaults). Arguments as :func:`nakpump_current`.
    """
    sna, sk, th = _nakpump_terms(nai, nao, ki, ko, v, kmna, kmk, dgatp, celsius)
    nai = np.asarray(nai, float)
    return _out(imax * avail * sk ** 2 * (3 * sna ** 2 * kmna / (nai + kmna) ** 2 * th
                                          + sna ** 3 * (1 - th ** 2) * 3 / (2 * nai)))


def nai_recovery_tau_s(diam_um, dip_dnai):
    """Time constant (s) of the recovery of Nai by the pump alone after a Na
    load, in a cylinder (volume/area diam/4, the geometry of nadyn.mod):

        tau_Na = (diam/4) F / (3 dI_p/dNai)

    (the pump's Na current is 3 I_p, so Nai relaxes at the loss rate of
    3 dI_p/dNai). ``diam_um`` in um, ``dip_dnai`` in mA/cm2/mM
    (:func:`nakpump_dnai`); both may be arrays. Any other Na flux that
    depends on Nai enters the same way: replace 3 dI_p/dNai by the net
    d(ina)/dNai.
    """
    from . import thermo

    return _out(1e-3 / thermo.concentration_loss_rate(3 * np.asarray(dip_dnai), diam_um, 1))


# ---------------------------------------------------------------------------
# SERCA and MCU: their saturating uptake (serca.mod, mcu.mod)
# ---------------------------------------------------------------------------

def hill_uptake(cai, vmax, km, nh=2.0):
    """Saturating uptake of serca.mod and mcu.mod, vmax cai^nh/(cai^nh + km^nh)
    (mM/ms per cytosolic volume with their vmax in mM/ms).

    The mechanisms multiply it by a thermodynamic factor (SERCA:
    tanh(-dG/2RT); MCU: 1 - camti exp(-w)/cai and a drive factor that is 1
    at dpsi = dpsiref), which is 1 to round-off when the pool is empty
    (caeri, camti about 1e-12 mM): then ``j`` equals this. The arithmetic
    is done on the arguments as given (Python floats stay floats), so that
    it is the same, bit for bit, as the formula written out.

    Parameters
    ----------
    cai, km : float or array, mM (km: the GLOBAL km_serca or km_mcu)
    vmax : float or array, mM/ms (RANGE vmax)
    nh : float or array, Hill coefficient (GLOBAL nh_serca, nh_mcu; 2 by default)
    """
    return _out(vmax * cai ** nh / (cai ** nh + km ** nh))


def nakpump_at(seg):
    """(I_p, dI_p/dNai) of nakpump at ``seg`` in its present state (mA/cm2, mA/cm2/mM),
    from its rate law (:mod:`ionhomeo.kinetics`) and NEURON's GLOBAL parameters."""
    from neuron import h

    p = seg.nakpump
    args = (seg.nai, seg.nao, seg.ki, seg.ko, seg.v, p.imax, p.avail, h.kmna_nakpump,
            h.kmk_nakpump, h.dgatp_nakpump, h.celsius)
    return float(nakpump_current(*args)), float(nakpump_dnai(*args))
