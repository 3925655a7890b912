"""Calcium-buffer arithmetic: bound Ca, buffer capacity, loads, fits.

Pure numpy/scipy (no NEURON).  Numeric arguments may be scalars or arrays
and broadcast with the usual numpy rules; scalar inputs give numpy floats.

Conventions
-----------
* concentrations in mM (free Ca, buffer totals, dissociation constants
  K_D, loads of total Ca)
* volumes in fL (1 fL = 1 um3 = 1e-15 L)
* rate constants in 1/ms, times in ms
* buffer capacities (kappa) are dimensionless: kappa = d[CaB] / d[Ca]
* every buffer is a single-site buffer B + Ca <-> CaB with dissociation
  constant K_D, at equilibrium with free Ca (fast-buffer approximation)

Invalid input raises ``ValueError`` naming the offending argument.

References
----------
* Neher E, Augustine GJ (1992) Calcium gradients and buffers in bovine
  chromaffin cells. J Physiol 450:273-301.
* Neher E (1995) The use of fura-2 for estimating Ca buffers and Ca fluxes.
  Neuropharmacology 34:1423-1442.
* Helmchen F, Imoto K, Sakmann B (1996) Ca2+ buffering and action
  potential-evoked Ca2+ signaling in dendrites of pyramidal neurons.
  Biophys J 70:1069-1081.
* Hill AV (1910) The possible effects of the aggregation of the molecules
  of haemoglobin on its dissociation curves. J Physiol 40:iv-vii.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.special import expit

from .thermo import AVOGADRO, _num, _out

__all__ = [
    "bound",
    "capacity",
    "total_for_capacity",
    "ions_to_mM",
    "free_after_load",
    "linear_free_after_load",
    "residence_time",
    "AddedBufferFit",
    "added_buffer_fit",
    "hill",
]

# 1 fL = 1e-15 L; n / (N_A V[L]) is in mol/L = M, times 1e3 for mM.
_MM_PER_ION_FL = 1e18 / AVOGADRO


def _pos(x, name):
    """Float array of ``x``, finite and > 0 (ValueError naming ``name``)."""
    a = _num(x, name)
    if np.any(a <= 0):
        raise ValueError(f"{name} must be > 0; got minimum {a.min()!r}")
    return a


# ---------------------------------------------------------------------------
# equilibrium binding and buffer capacity
# ---------------------------------------------------------------------------

def bound(total, kd, ca):
    """Equilibrium concentration of Ca-bound buffer, total Ca / (K_D + Ca).

    Law of mass action for a single-site buffer (e.g. Neher 1995).

    Parameters
    ----------
    total : float or array, mM
        Total buffer concentration (>= 0).
    kd : float or array, mM
        Dissociation constant (> 0).
    ca : float or array, mM
        Free Ca2+ (>= 0).

    Returns
    -------
    numpy float or array, mM
        [CaB]; between 0 and ``total``.  At low Ca it is about
        total Ca / K_D, so two buffers of equal total bind Ca in the inverse
        ratio of their K_D values.
    """
    b = _num(total, "total", nonnegative=True)
    k = _pos(kd, "kd")
    c = _num(ca, "ca", nonnegative=True)
    return _out(b * c / (k + c))


def capacity(total, kd, ca):
    """Differential buffer capacity kappa = d[CaB]/d[Ca].

    kappa = total K_D / (K_D + Ca)^2 (Neher & Augustine 1992).  For
    Ca << K_D it approaches total / K_D.

    Parameters
    ----------
    total : float or array, mM
        Total buffer concentration (>= 0).
    kd : float or array, mM
        Dissociation constant (> 0).
    ca : float or array, mM
        Free Ca2+ (>= 0).

    Returns
    -------
    numpy float or array, dimensionless
    """
    b = _num(total, "total", nonnegative=True)
    k = _pos(kd, "kd")
    c = _num(ca, "ca", nonnegative=True)
    return _out(b * k / (k + c) ** 2)


def total_for_capacity(kappa, kd, ca):
    """Total buffer that gives capacity ``kappa``: kappa (K_D + Ca)^2 / K_D.

    Inverse of :func:`capacity` in its first argument (Neher & Augustine
    1992).

    Parameters
    ----------
    kappa : float or array, dimensionless
        Desired differential buffer capacity (>= 0).
    kd : float or array, mM
        Dissociation constant (> 0).
    ca : float or array, mM
        Free Ca2+ at which kappa applies (>= 0).

    Returns
    -------
    numpy float or array, mM
    """
    kap = _num(kappa, "kappa", nonnegative=True)
    k = _pos(kd, "kd")
    c = _num(ca, "ca", nonnegative=True)
    return _out(kap * (k + c) ** 2 / k)


def ions_to_mM(n_ions, volume_fL):
    """Concentration of ``n_ions`` ions in ``volume_fL`` femtolitres.

    c = n / (N_A V), with the exact 2019-SI Avogadro constant; 1 ion in
    1 fL is 1.6605 nM = 1.6605e-6 mM.

    Parameters
    ----------
    n_ions : float or array, number of ions
        (>= 0; need not be an integer, e.g. a mean count).
    volume_fL : float or array, fL (= um3)
        Volume (> 0).

    Returns
    -------
    numpy float or array, mM
    """
    n = _num(n_ions, "n_ions", nonnegative=True)
    v = _pos(volume_fL, "volume_fL")
    return _out(n / v * _MM_PER_ION_FL)


# ---------------------------------------------------------------------------
# Ca loads
# ---------------------------------------------------------------------------

def _buffer_arrays(buffers):
    """Validate ``buffers``, an iterable of (total, kd) pairs."""
    try:
        pairs = list(buffers)
    except TypeError as exc:
        raise ValueError("buffers must be an iterable of (total, kd) pairs; "
                         f"got {buffers!r}") from exc
    totals, kds = [], []
    for i, pair in enumerate(pairs):
        try:
            total, kd = pair
        except (TypeError, ValueError) as exc:
            raise ValueError(f"buffers[{i}] must be a (total, kd) pair; "
                             f"got {pair!r}") from exc
        totals.append(_num(total, f"buffers[{i}] total", nonnegative=True))
        kds.append(_pos(kd, f"buffers[{i}] kd"))
    return totals, kds


def free_after_load(load, ca_rest, buffers):
    """Exact equilibrium free Ca after adding total Ca to a buffered volume.

    Before the load, free Ca is ``ca_rest`` and each buffer (total B_i,
    dissociation constant K_i) is at equilibrium with it.  Adding ``load``
    of total Ca and re-equilibrating, the rise d = Ca - ca_rest solves the
    conservation of total Ca (Neher & Augustine 1992; Neher 1995)

        load = d + sum_i [B_i Ca/(K_i + Ca) - B_i r/(K_i + r)]
             = d (1 + sum_i B_i K_i / ((K_i + r)(K_i + r + d))),  r = ca_rest,

    written in the second form to avoid cancellation.  The right side
    increases strictly with d, and with kappa = sum_i B_i K_i / (K_i + r)^2
    (the resting capacity) the root lies in [load / (1 + kappa), load];
    it is found with ``scipy.optimize.brentq`` to about 1e-15 relative.
    The lower end is :func:`linear_free_after_load`, so the linear
    approximation never overestimates the rise (buffers saturate).

    Parameters
    ----------
    load : float or array, mM
        Added total Ca (free + bound) per volume (>= 0); use
        :func:`ions_to_mM` to convert an ion count.
    ca_rest : float or array, mM
        Free Ca before the load (> 0).
    buffers : iterable of (total, kd) pairs
        Buffer totals (mM, >= 0) and dissociation constants (mM, > 0);
        each entry may be a scalar or an array broadcasting with ``load``
        and ``ca_rest``.  An empty iterable means no buffer.

    Returns
    -------
    numpy float or array, mM
        Free Ca after the load.
    """
    ld = _num(load, "load", nonnegative=True)
    r = _pos(ca_rest, "ca_rest")
    totals, kds = _buffer_arrays(buffers)
    arrays = np.broadcast_arrays(ld, r, *totals, *kds)
    shape = arrays[0].shape
    flat = [np.ravel(a) for a in arrays]
    nb = len(totals)
    out = np.empty(flat[0].size)
    for j in range(out.size):
        lj, rj = flat[0][j], flat[1][j]
        if lj == 0.0:
            out[j] = rj
            continue
        b = np.array([f[j] for f in flat[2:2 + nb]])
        k = np.array([f[j] for f in flat[2 + nb:]])
        a = b * k / (k + rj)            # B K / (K + r), mM
        kr = k + rj                     # K + r, mM
        kappa = float(np.sum(a / kr))

        def excess(d, a=a, kr=kr, lj=lj):
            return d * (1.0 + np.sum(a / (kr + d))) - lj

        lo = lj / (1.0 + kappa)
        if excess(lo) >= 0.0:           # unbuffered, or no saturation
            d = lo
        else:
            d = brentq(excess, lo, lj, xtol=1e-300,
                       rtol=4 * np.finfo(float).eps, maxiter=500)
        out[j] = rj + d
    return _out(out.reshape(shape))


def linear_free_after_load(load, ca_rest, kappa):
    """Free Ca after a load at constant buffer capacity: r + load/(1 + kappa).

    The linear (small-load, unsaturated-buffer) approximation of
    :func:`free_after_load`: a fraction 1/(1 + kappa) of added Ca stays
    free (Neher & Augustine 1992; Helmchen et al. 1996).  It is a lower
    bound of the exact value when kappa is the resting capacity; for one
    buffer the relative error of the rise d is
    kappa/(1 + kappa) * d/(K_D + ca_rest + d) < d/K_D.

    Parameters
    ----------
    load : float or array, mM
        Added total Ca (>= 0).
    ca_rest : float or array, mM
        Free Ca before the load (>= 0).
    kappa : float or array, dimensionless
        Buffer capacity (>= 0).

    Returns
    -------
    numpy float or array, mM
    """
    ld = _num(load, "load", nonnegative=True)
    r = _num(ca_rest, "ca_rest", nonnegative=True)
    kap = _num(kappa, "kappa", nonnegative=True)
    return _out(r + ld / (1.0 + kap))


def residence_time(kappa, k):
    """Decay time constant of a Ca transient: tau = (1 + kappa) / k.

    A linear extrusion rate constant k acts only on free Ca, a fraction
    1/(1 + kappa) of the mobile total, so total (and free) Ca decays with
    tau = (1 + kappa)/k (Neher & Augustine 1992; Helmchen et al. 1996,
    there written tau = (1 + kappa_S + kappa_B)/gamma).

    Parameters
    ----------
    kappa : float or array, dimensionless
        Total buffer capacity (>= 0).
    k : float or array, 1/ms
        Extrusion rate constant for free Ca (> 0), e.g. V_max/K_m of a
        pump in its linear range.

    Returns
    -------
    numpy float or array, ms (when k is in 1/ms)
    """
    kap = _num(kappa, "kappa", nonnegative=True)
    kk = _pos(k, "k")
    return _out((1.0 + kap) / kk)


# ---------------------------------------------------------------------------
# added-buffer method
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class AddedBufferFit:
    """Result of :func:`added_buffer_fit`.

    Attributes
    ----------
    kappa_s : float, dimensionless
        Endogenous buffer capacity, intercept/slope - 1 (may come out
        negative for noisy data; it is reported as fitted).
    gamma : float, 1/ms
        Extrusion rate constant, 1/slope.
    slope : float, ms
        d tau / d kappa_B.
    intercept : float, ms
        tau at kappa_B = 0, (1 + kappa_s)/gamma.
    r_squared : float, dimensionless
        Coefficient of determination of the straight line.
    """

    kappa_s: float
    gamma: float
    slope: float
    intercept: float
    r_squared: float

    @property
    def x_intercept(self):
        """kappa_B at which the line reaches tau = 0: -(1 + kappa_s)."""
        return -self.intercept / self.slope


def added_buffer_fit(kappa_b, tau):
    """Fit tau = (1 + kappa_s + kappa_B)/gamma to added-buffer data.

    Ordinary least squares of the decay time constants ``tau`` on the
    added (indicator) buffer capacities ``kappa_b``; the line's slope is
    1/gamma and its x-intercept -(1 + kappa_s) (Neher & Augustine 1992;
    Helmchen, Imoto & Sakmann 1996).

    Parameters
    ----------
    kappa_b : 1-D array, dimensionless
        Added buffer capacities (>= 0), at least two distinct values.
    tau : 1-D array, ms
        Decay time constants (> 0), same length as ``kappa_b``.

    Returns
    -------
    AddedBufferFit
        kappa_s, gamma (1/ms), slope (ms), intercept (ms), r_squared.

    Raises
    ------
    ValueError
        On invalid input, or if the fitted slope is not positive (then no
        extrusion rate follows).
    """
    x = _num(kappa_b, "kappa_b", nonnegative=True)
    y = _pos(tau, "tau")
    if x.ndim != 1 or y.ndim != 1:
        raise ValueError("kappa_b and tau must be 1-D arrays")
    if x.size != y.size:
        raise ValueError(f"kappa_b and tau must have the same length; got "
                         f"{x.size} and {y.size}")
    if np.unique(x).size < 2:
        raise ValueError("kappa_b must contain at least two distinct values "
                         "to fit a line")
    xm, ym = x.mean(), y.mean()
    dx, dy = x - xm, y - ym
    sxx = float(dx @ dx)
    slope = float(dx @ dy) / sxx
    if not slope > 0:
        raise ValueError("added_buffer_fit: fitted slope d tau / d kappa_b "
                         f"is {slope!r}, not > 0; tau must grow with added "
                         "buffer")
    intercept = float(ym - slope * xm)
    resid = dy - slope * dx
    ss_res = float(resid @ resid)
    ss_tot = float(dy @ dy)
    r2 = 1.0 - ss_res / ss_tot
    return AddedBufferFit(kappa_s=intercept / slope - 1.0, gamma=1.0 / slope,
                          slope=slope, intercept=intercept, r_squared=r2)


# ---------------------------------------------------------------------------
# Hill kinetics
# ---------------------------------------------------------------------------

def hill(c, vmax, k, n):
    """Hill rate vmax c^n / (k^n + c^n), zero for c <= 0 (Hill 1910).

    Evaluated as vmax * expit(n ln(c/k)), which neither overflows for large
    c^n nor underflows badly for small c.

    Parameters
    ----------
    c : float or array, mM
        Concentration (any finite value; c <= 0 gives 0).
    vmax : float or array, rate unit (e.g. mM/ms)
        Maximal rate (>= 0).
    k : float or array, mM
        Half-activation concentration (> 0).
    n : float or array, dimensionless
        Hill coefficient (> 0).

    Returns
    -------
    numpy float or array, the unit of vmax
    """
    cc = _num(c, "c")
    vm = _num(vmax, "vmax", nonnegative=True)
    kk = _pos(k, "k")
    nn = _pos(n, "n")
    pos = cc > 0
    safe = np.where(pos, cc, 1.0)
    return _out(np.where(pos, vm * expit(nn * np.log(safe / kk)), 0.0))
