"""Thermodynamics of ion gradients, channels and transporters.

Pure numpy, fully vectorised: every numeric argument may be a scalar or an
array, and arguments broadcast against each other with the usual numpy rules.
Scalar inputs give numpy floats (``numpy.float64``) out, array inputs give
arrays of the broadcast shape.

Conventions used throughout
---------------------------
* concentrations in mM (1 mM = 1 mol/m3)
* voltages in mV; the membrane potential is V = V_inside - V_outside
* temperature as ``celsius`` in degC (default 37.0); T = celsius + 273.15 K
* currents in mA/cm2, outward (inside -> outside flow of positive charge)
  positive, as in NEURON
* permeabilities in cm/s
* free energies in kJ/mol; a negative value means the process runs
  spontaneously in the direction described ("downhill")
* valences are signed charge numbers (Na +1, Ca +2, Cl -1, ...)
* organelles: the ER membrane potential is taken as 0; the mitochondrial
  potential ``dpsi`` is V_matrix - V_cytosol in mV (negative, about -160
  to -180 mV, in energised mitochondria), i.e. the matrix plays the role
  of "inside"

Invalid input (non-finite numbers, non-positive concentrations where a
logarithm is taken, zero valence in a Nernst potential, temperatures at or
below absolute zero, ...) raises ``ValueError`` with a message naming the
offending argument.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = [
    "FARADAY",
    "R_GAS",
    "ZERO_CELSIUS",
    "rt_over_f",
    "nernst",
    "concentration_loss_rate",
    "ghk_current",
    "ghk_voltage",
    "free_energy",
    "kcc2_free_energy",
    "kcc2_equilibrium_cli",
    "nkcc1_free_energy",
    "nkcc1_equilibrium_cli",
    "ncx_reversal",
    "ncx_free_energy",
    "nckx_reversal",
    "nckx_free_energy",
    "nak_atpase_free_energy",
    "nak_atpase_reversal",
    "egaba",
    "serca_free_energy",
    "serca_equilibrium_ratio",
    "pmca_free_energy",
    "pmca_reversal",
    "mcu_free_energy",
    "mcu_equilibrium_ratio",
    "nclx_free_energy",
    "nclx_equilibrium_camt",
    "hill_crossover",
]

#: Avogadro constant (1/mol), elementary charge (C) and Boltzmann constant
#: (J/K): exact by definition in the 2019 SI.
AVOGADRO = 6.02214076e23
ELEMENTARY_CHARGE = 1.602176634e-19
BOLTZMANN = 1.380649e-23
#: Faraday constant, C/mol: N_A e = 96485.33212331... (the same value NEURON
#: uses for FARADAY, so thermo and the mod files agree to round-off).
FARADAY = AVOGADRO * ELEMENTARY_CHARGE
#: Molar gas constant, J/(mol K): N_A k = 8.31446261815324 (NEURON's R).
R_GAS = AVOGADRO * BOLTZMANN
#: 0 degC in kelvin.
ZERO_CELSIUS = 273.15

# Series threshold for x / (1 - exp(-x)) near x = 0 (see _bernoulli_factor).
_SERIES_LIMIT = 1e-4
# Bracket and tolerance of the numerical GHK voltage solver, mV.
_BISECT_LO = -300.0
_BISECT_HI = 300.0
_BISECT_TOL = 1e-9


# ---------------------------------------------------------------------------
# input handling helpers
# ---------------------------------------------------------------------------

def _out(x):
    """Return a numpy float for 0-d results and the array otherwise."""
    x = np.asarray(x, dtype=float)
    return x[()] if x.ndim == 0 else x


def _num(x, name, *, positive=False, nonnegative=False, nonzero=False):
    """Convert ``x`` to a float array and validate it.

    Raises ValueError naming ``name`` if any element is non-finite, or
    violates the requested sign condition.
    """
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a real number or array of real "
                         f"numbers; got {x!r}") from exc
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (no nan or inf); got {x!r}")
    if positive and np.any(a <= 0):
        raise ValueError(f"{name} must be > 0 (a logarithm of it is taken); "
                         f"got minimum {a.min()!r}")
    if nonnegative and np.any(a < 0):
        raise ValueError(f"{name} must be >= 0; got minimum {a.min()!r}")
    if nonzero and np.any(a == 0):
        raise ValueError(f"{name} must be nonzero; got a zero value")
    return a


def _positive(x, name):
    """Like ``_num`` but requiring > 0 where no logarithm is involved."""
    a = _num(x, name)
    if np.any(a <= 0):
        raise ValueError(f"{name} must be > 0; got minimum {a.min()!r}")
    return a


def _temperature(celsius):
    """Absolute temperature (K) from ``celsius`` (degC), validated."""
    c = _num(celsius, "celsius")
    if np.any(c <= -ZERO_CELSIUS):
        raise ValueError("celsius must be above absolute zero (> -273.15 "
                         f"degC); got minimum {c.min()!r}")
    return c + ZERO_CELSIUS


def _rtf(celsius):
    """RT/F in mV as a float array (validated temperature)."""
    return R_GAS * _temperature(celsius) / FARADAY * 1e3


def _rt_kj(celsius):
    """RT in kJ/mol as a float array (validated temperature)."""
    return R_GAS * _temperature(celsius) * 1e-3


def _species(first, first_name, others):
    """Align per-ion arguments given either as mappings or as sequences.

    ``first`` decides the set of ions: if it is a mapping, its keys are the
    ion names and every mapping in ``others`` (a sequence of
    ``(value, name)`` pairs) must contain each of those keys (extra keys are
    ignored); if it is a sequence, every other argument must be a sequence
    of the same length.  Returns ``(labels, columns)`` where ``columns[j]``
    is the list of raw values of argument j, in ion order (argument 0 is
    ``first``).
    """
    if isinstance(first, Mapping):
        labels = list(first)
        if not labels:
            raise ValueError(f"{first_name} must name at least one ion")
        cols = [[first[k] for k in labels]]
        for val, name in others:
            if not isinstance(val, Mapping):
                raise ValueError(f"{name} must be a mapping keyed by ion name "
                                 f"because {first_name} is one")
            missing = [k for k in labels if k not in val]
            if missing:
                raise ValueError(f"{name} has no entry for ion(s) {missing} "
                                 f"listed in {first_name}")
            cols.append([val[k] for k in labels])
        return [f"[{k!r}]" for k in labels], cols
    if isinstance(first, (str, bytes)) or not isinstance(first, Sequence):
        raise ValueError(f"{first_name} must be a mapping keyed by ion name "
                         "(e.g. {'na': ..., 'k': ...}) or a sequence")
    n = len(first)
    if n == 0:
        raise ValueError(f"{first_name} must list at least one ion")
    cols = [list(first)]
    for val, name in others:
        if (isinstance(val, (str, bytes, Mapping))
                or not isinstance(val, Sequence) or len(val) != n):
            raise ValueError(f"{name} must be a sequence of length {n} like "
                             f"{first_name}")
        cols.append(list(val))
    return [f"[{i}]" for i in range(n)], cols


# ---------------------------------------------------------------------------
# basic electrochemistry
# ---------------------------------------------------------------------------

def rt_over_f(celsius=37.0):
    """Thermal voltage RT/F.

    Parameters
    ----------
    celsius : float or array, degC
        Temperature (T = celsius + 273.15 K); must be above -273.15.

    Returns
    -------
    numpy float or array, mV
        R T / F (about 26.73 mV at 37 degC).
    """
    return _out(_rtf(celsius))


def nernst(c_in, c_out, z, celsius=37.0):
    """Nernst equilibrium potential E = (RT / zF) ln(c_out / c_in).

    Parameters
    ----------
    c_in, c_out : float or array, mM
        Intracellular and extracellular concentrations; must be > 0.
    z : float or array, dimensionless
        Signed valence of the ion; must be nonzero.
    celsius : float or array, degC
        Temperature (default 37).

    Returns
    -------
    numpy float or array, mV
        Equilibrium (reversal) potential, inside minus outside.
    """
    ci = _num(c_in, "c_in", positive=True)
    co = _num(c_out, "c_out", positive=True)
    zz = _num(z, "z (valence)", nonzero=True)
    return _out(_rtf(celsius) / zz * np.log(co / ci))


def concentration_loss_rate(i, diam_um, z, afac=1.0):
    """Rate at which a membrane current empties a cylinder of an ion (mM/ms).

    A current density ``i`` of an ion of valence ``z`` through the membrane of
    a cylinder of diameter ``diam_um`` changes the intracellular
    concentration by ``-i (S/V) / (z F)``, with S/V = 4 afac / diam: the
    cylinder's own surface-to-volume ratio, times ``afac`` where the
    mechanisms count a segment's 3-D area instead (cadyn, cldyn and the other
    owners take volume/area = diam / (4 afac), ionhomeo.cell sets afac).
    This function returns the loss rate ``i (S/V) / (z F)``: positive when the
    ion leaves (outward current of a cation, inward current of an anion).

    Parameters
    ----------
    i : float or array, mA/cm2
        Current density of the ion, outward positive (NEURON's convention).
    diam_um : float or array, um
        Diameter; must be > 0.
    z : float or array
        Signed valence; must be nonzero.
    afac : float or array
        Membrane area / cylinder area; must be > 0 (1 for a cylinder).

    Returns
    -------
    numpy float or array, mM/ms
        (1 mA/cm2 = 10 A/m2; 10 A/m2 * 4 / (F * 1 um) = 4e7/F mol/m3/s, so
        with diam in um the factor is 1e4 to give mM/ms.)
    """
    ii = _num(i, "i")
    d = _positive(diam_um, "diam_um")
    zz = _num(z, "z (valence)", nonzero=True)
    a = _positive(afac, "afac")
    return _out(ii * 4.0 * a / (zz * FARADAY * d) * 1e4)


def _bernoulli_factor(a):
    """x / (1 - exp(-x)) for x = a >= 0, accurate also at and near 0.

    For a < _SERIES_LIMIT the Taylor series 1 + a/2 + a^2/12 is used (the
    next term, -a^4/720, is below 1e-19 there), which removes the 0/0 at
    a = 0.  ``a`` is never negative here, so exp(-a) <= 1 cannot overflow.
    """
    small = a < _SERIES_LIMIT
    safe = np.where(small, 1.0, a)
    exact = safe / -np.expm1(-safe)
    series = 1.0 + a / 2.0 + a * a / 12.0
    return np.where(small, series, exact)


def ghk_current(v, c_in, c_out, z, permeability, celsius=37.0):
    """Goldman-Hodgkin-Katz current density of one ion species.

    I = P z^2 F^2 V / (RT) * (c_in - c_out exp(-u)) / (1 - exp(-u)),
    u = z F V / (R T).

    Parameters
    ----------
    v : float or array, mV
        Membrane potential (inside minus outside).
    c_in, c_out : float or array, mM
        Intracellular and extracellular concentrations; must be >= 0.
    z : float or array, dimensionless
        Signed valence (z = 0 gives zero current).
    permeability : float or array, cm/s
        Membrane permeability to the ion; must be >= 0.
    celsius : float or array, degC
        Temperature (default 37).

    Returns
    -------
    numpy float or array, mA/cm2
        Current density carried by the ion, outward positive.  It is zero
        at the Nernst potential, and its V -> 0 limit, P z F (c_in - c_out),
        is evaluated without dividing by zero.
    """
    vv = _num(v, "v")
    ci = _num(c_in, "c_in", nonnegative=True)
    co = _num(c_out, "c_out", nonnegative=True)
    zz = _num(z, "z (valence)")
    p = _num(permeability, "permeability", nonnegative=True)
    u = zz * vv / _rtf(celsius)
    # Write I = P z F * u/(1 - e^-u) * (c_in - c_out e^-u).  With a = |u|
    # and s = e^-a <= 1 this is, without any overflow,
    #   u >= 0:  P z F * B(a) * (c_in - c_out s)
    #   u <  0:  P z F * B(a) * (c_in s - c_out)
    # (for u < 0 multiply numerator and denominator by e^u), where
    # B(a) = a / (1 - e^-a) -> 1 as a -> 0.
    a = np.abs(u)
    s = np.exp(-a)
    drive = np.where(u >= 0, ci - co * s, ci * s - co)
    # Units: P [cm/s] * F [C/mol] * c [mM = mol/m3]
    #   = 1e-2 m/s * C/mol * mol/m3 = 1e-2 A/m2 = 1e-2 * 0.1 mA/cm2
    # (1 A/m2 = 1000 mA / 10^4 cm2 = 0.1 mA/cm2), hence the factor 1e-3.
    return _out(1e-3 * p * zz * FARADAY * _bernoulli_factor(a) * drive)


def ghk_voltage(permeabilities, c_in, c_out, valences, celsius=37.0,
                extra_current=0.0, method="auto"):
    """Zero-current (reversal) potential of several GHK permeabilities.

    Finds V such that sum_i ghk_current(V, c_in_i, c_out_i, z_i, P_i)
    + extra_current = 0.

    Parameters
    ----------
    permeabilities : mapping ion -> float or array, cm/s
        Permeabilities (>= 0); its keys define the ions used, e.g.
        ``{'na': 0.05, 'k': 1.0, 'cl': 0.45}``.  A sequence is also
        accepted, in which case the other per-ion arguments must be
        sequences of the same length in the same order.
    c_in, c_out : mapping ion -> float or array, mM
        Intracellular and extracellular concentrations (>= 0).  Keys not in
        ``permeabilities`` are ignored.
    valences : mapping ion -> float or array, dimensionless
        Signed valences.
    celsius : float or array, degC
        Temperature (default 37).
    extra_current : float or array, mA/cm2
        Additional voltage-independent current, outward positive (e.g. the
        net outward current of an electrogenic pump).
    method : {'auto', 'closed', 'bisect'}
        'auto' uses the closed-form Goldman equation when every valence is
        +1 or -1 and extra_current is zero, and vectorised bisection on
        [-300, 300] mV (to 1e-9 mV) otherwise.  'closed' and 'bisect' force
        one method ('closed' raises ValueError if it does not apply).

    Returns
    -------
    numpy float or array, mV
        Potential at which the total current is zero.

    Raises
    ------
    ValueError
        On invalid input, if the closed-form ratio is not positive (no ion
        can carry current in one of the directions), or if the total
        current does not change sign on [-300, 300] mV.
    """
    labels, cols = _species(
        permeabilities, "permeabilities",
        [(c_in, "c_in"), (c_out, "c_out"), (valences, "valences")])
    ps = [_num(x, "permeabilities" + l, nonnegative=True)
          for x, l in zip(cols[0], labels)]
    cis = [_num(x, "c_in" + l, nonnegative=True) for x, l in zip(cols[1], labels)]
    cos = [_num(x, "c_out" + l, nonnegative=True) for x, l in zip(cols[2], labels)]
    zs = [_num(x, "valences" + l) for x, l in zip(cols[3], labels)]
    extra = _num(extra_current, "extra_current")
    rtf = _rtf(celsius)
    if method not in ("auto", "closed", "bisect"):
        raise ValueError("method must be 'auto', 'closed' or 'bisect'; "
                         f"got {method!r}")

    monovalent = all(np.all(np.abs(z) == 1) for z in zs)
    closed_ok = monovalent and np.all(extra == 0)
    if method == "closed" and not closed_ok:
        raise ValueError("method='closed' needs all valences equal to +1 or "
                         "-1 and extra_current == 0")

    if method == "closed" or (method == "auto" and closed_ok):
        # Goldman equation: cations contribute P c_out to the numerator,
        # anions P c_in (and vice versa in the denominator).
        num = 0.0
        den = 0.0
        for p, ci, co, z in zip(ps, cis, cos, zs):
            cation = z > 0
            num = num + p * np.where(cation, co, ci)
            den = den + p * np.where(cation, ci, co)
        num = np.asarray(num)
        den = np.asarray(den)
        if np.any(num <= 0) or np.any(den <= 0):
            raise ValueError("permeabilities, c_in and c_out give a "
                             "non-positive Goldman ratio: some permeant ion "
                             "must be present on each side")
        return _out(rtf * np.log(num / den))

    def total(v):
        i = extra
        for p, ci, co, z in zip(ps, cis, cos, zs):
            i = i + ghk_current(v, ci, co, z, p, celsius)
        return np.asarray(i)

    shape = np.broadcast_shapes(rtf.shape, extra.shape,
                                *[x.shape for x in ps + cis + cos + zs])
    lo = np.full(shape, _BISECT_LO)
    hi = np.full(shape, _BISECT_HI)
    f_lo = np.broadcast_to(total(lo), shape)
    f_hi = np.broadcast_to(total(hi), shape)
    # Every GHK current increases with V, so the total is monotonic: a root
    # exists in the bracket iff f(lo) <= 0 <= f(hi) and it is not flat.
    bad = (f_lo > 0) | (f_hi < 0) | (f_lo == f_hi)
    if np.any(bad):
        raise ValueError(
            "ghk_voltage: total current (permeabilities, concentrations, "
            "extra_current) does not change sign on [-300, 300] mV; no "
            "reversal potential in range")
    n_iter = int(np.ceil(np.log2((_BISECT_HI - _BISECT_LO) / _BISECT_TOL)))
    for _ in range(n_iter):
        mid = 0.5 * (lo + hi)
        above = np.broadcast_to(total(mid), shape) > 0
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    return _out(0.5 * (lo + hi))


# ---------------------------------------------------------------------------
# free energies of transport
# ---------------------------------------------------------------------------

def free_energy(v, stoich, c_in, c_out, z, celsius=37.0):
    """Electrochemical free energy change of moving ions into the cell.

    dG = sum_i n_i [R T ln(c_in_i / c_out_i) + z_i F V]

    Parameters
    ----------
    v : float or array, mV
        Membrane potential (inside minus outside).
    stoich : mapping ion -> number, dimensionless
        Number of each ion moved INTO the cell per cycle (negative = moved
        out), e.g. ``{'na': -3, 'k': 2}`` for the Na/K pump.  Its keys
        define the ions used.  A sequence is also accepted, in which case
        ``c_in``, ``c_out`` and ``z`` must be sequences of the same length.
    c_in, c_out : mapping ion -> float or array, mM
        Intracellular and extracellular concentrations (> 0).  Keys not in
        ``stoich`` are ignored.
    z : mapping ion -> float or array, dimensionless
        Signed valences.
    celsius : float or array, degC
        Temperature (default 37).

    Returns
    -------
    numpy float or array, kJ/mol
        Free energy change per cycle (per mole of cycles); negative means
        the described movement is downhill.
    """
    labels, cols = _species(stoich, "stoich",
                            [(c_in, "c_in"), (c_out, "c_out"), (z, "z")])
    vv = _num(v, "v")
    rt = _rt_kj(celsius)
    fv = FARADAY * vv * 1e-6          # F [C/mol] * V [mV] -> kJ/mol
    dg = 0.0
    for n, ci, co, zz, l in zip(*cols, labels):
        n = _num(n, "stoich" + l)
        ci = _num(ci, "c_in" + l, positive=True)
        co = _num(co, "c_out" + l, positive=True)
        zz = _num(zz, "z" + l)
        dg = dg + n * (rt * np.log(ci / co) + zz * fv)
    return _out(dg)


def kcc2_free_energy(ki, ko, cli, clo, celsius=37.0):
    """Free energy of KCC2 extruding one K+ and one Cl- (electroneutral).

    dG = R T ln(Ko Clo / (Ki Cli)); negative means extrusion is downhill.

    Parameters
    ----------
    ki, ko : float or array, mM
        Intra- and extracellular K+ (> 0).
    cli, clo : float or array, mM
        Intra- and extracellular Cl- (> 0).
    celsius : float or array, degC
        Temperature (default 37).

    Returns
    -------
    numpy float or array, kJ/mol
    """
    ki = _num(ki, "ki", positive=True)
    ko = _num(ko, "ko", positive=True)
    cli = _num(cli, "cli", positive=True)
    clo = _num(clo, "clo", positive=True)
    return _out(_rt_kj(celsius) * np.log(ko * clo / (ki * cli)))


def kcc2_equilibrium_cli(ki, ko, clo):
    """Intracellular Cl- at which KCC2 is at equilibrium: Ko Clo / Ki.

    Parameters
    ----------
    ki, ko : float or array, mM
        Intra- and extracellular K+ (> 0).
    clo : float or array, mM
        Extracellular Cl- (> 0).

    Returns
    -------
    numpy float or array, mM
        Equilibrium intracellular Cl- (temperature independent).
    """
    ki = _num(ki, "ki", positive=True)
    ko = _num(ko, "ko", positive=True)
    clo = _num(clo, "clo", positive=True)
    return _out(ko * clo / ki)


def nkcc1_free_energy(nai, nao, ki, ko, cli, clo, celsius=37.0):
    """Free energy of NKCC1 importing 1 Na+, 1 K+ and 2 Cl- (electroneutral).

    dG = R T ln(Nai Ki Cli^2 / (Nao Ko Clo^2)); negative means import is
    downhill.

    Parameters
    ----------
    nai, nao : float or array, mM
        Intra- and extracellular Na+ (> 0).
    ki, ko : float or array, mM
        Intra- and extracellular K+ (> 0).
    cli, clo : float or array, mM
        Intra- and extracellular Cl- (> 0).
    celsius : float or array, degC
        Temperature (default 37).

    Returns
    -------
    numpy float or array, kJ/mol
    """
    nai = _num(nai, "nai", positive=True)
    nao = _num(nao, "nao", positive=True)
    ki = _num(ki, "ki", positive=True)
    ko = _num(ko, "ko", positive=True)
    cli = _num(cli, "cli", positive=True)
    clo = _num(clo, "clo", positive=True)
    ratio = np.log(nai / nao) + np.log(ki / ko) + 2.0 * np.log(cli / clo)
    return _out(_rt_kj(celsius) * ratio)


def nkcc1_equilibrium_cli(nai, nao, ki, ko, clo):
    """Intracellular Cl- at which NKCC1 is at equilibrium.

    Cli = Clo sqrt(Nao Ko / (Nai Ki)).

    Parameters
    ----------
    nai, nao : float or array, mM
        Intra- and extracellular Na+ (> 0).
    ki, ko : float or array, mM
        Intra- and extracellular K+ (> 0).
    clo : float or array, mM
        Extracellular Cl- (> 0).

    Returns
    -------
    numpy float or array, mM
        Equilibrium intracellular Cl- (temperature independent).
    """
    nai = _num(nai, "nai", positive=True)
    nao = _num(nao, "nao", positive=True)
    ki = _num(ki, "ki", positive=True)
    ko = _num(ko, "ko", positive=True)
    clo = _num(clo, "clo", positive=True)
    return _out(clo * np.sqrt(nao * ko / (nai * ki)))


def _check_n_na(n_na):
    n = _num(n_na, "n_na")
    if np.any(n == 2):
        raise ValueError("n_na must not be 2: a 2 Na : 1 Ca exchanger is "
                         "electroneutral and has no reversal potential")
    return n


def ncx_reversal(nai, nao, cai, cao, celsius=37.0, n_na=3):
    """Reversal potential of the Na+/Ca2+ exchanger (n_na Na : 1 Ca).

    E_NCX = (n_na E_Na - 2 E_Ca) / (n_na - 2), i.e. 3 E_Na - 2 E_Ca for
    the usual 3:1 stoichiometry.  For n_na > 2 the exchanger runs forward
    (Na in, Ca out) at V below E_NCX and in reverse mode above it.

    Parameters
    ----------
    nai, nao : float or array, mM
        Intra- and extracellular Na+ (> 0).
    cai, cao : float or array, mM
        Intra- and extracellular Ca2+ (> 0).
    celsius : float or array, degC
        Temperature (default 37).
    n_na : float or array, dimensionless
        Na+ ions per Ca2+ (default 3; must not be 2).

    Returns
    -------
    numpy float or array, mV
    """
    n = _check_n_na(n_na)
    nai = _num(nai, "nai", positive=True)
    nao = _num(nao, "nao", positive=True)
    cai = _num(cai, "cai", positive=True)
    cao = _num(cao, "cao", positive=True)
    ena = nernst(nai, nao, 1, celsius)
    eca = nernst(cai, cao, 2, celsius)
    return _out((n * ena - 2.0 * eca) / (n - 2.0))


def ncx_free_energy(v, nai, nao, cai, cao, celsius=37.0, n_na=3):
    """Free energy of one forward NCX cycle (n_na Na+ in, 1 Ca2+ out).

    dG = n_na [RT ln(Nai/Nao) + F V] - [RT ln(Cai/Cao) + 2 F V]
       = (n_na - 2) F (V - E_NCX).

    Parameters
    ----------
    v : float or array, mV
        Membrane potential.
    nai, nao : float or array, mM
        Intra- and extracellular Na+ (> 0).
    cai, cao : float or array, mM
        Intra- and extracellular Ca2+ (> 0).
    celsius : float or array, degC
        Temperature (default 37).
    n_na : float or array, dimensionless
        Na+ ions per Ca2+ (default 3).

    Returns
    -------
    numpy float or array, kJ/mol
        Negative means forward mode (Ca2+ extrusion) is downhill.
    """
    n = _num(n_na, "n_na")
    nai = _num(nai, "nai", positive=True)
    nao = _num(nao, "nao", positive=True)
    cai = _num(cai, "cai", positive=True)
    cao = _num(cao, "cao", positive=True)
    return free_energy(v, {"na": n, "ca": -1.0},
                       {"na": nai, "ca": cai}, {"na": nao, "ca": cao},
                       {"na": 1, "ca": 2}, celsius)


def _nckx_concentrations(nai, nao, cai, cao, ki, ko):
    """The six NCKX concentrations (mM), each checked positive."""
    return tuple(_num(c, name, positive=True) for c, name in
                 ((nai, "nai"), (nao, "nao"), (cai, "cai"), (cao, "cao"), (ki, "ki"), (ko, "ko")))


def nckx_reversal(nai, nao, cai, cao, ki, ko, celsius=37.0):
    """Reversal potential of the K-dependent Na+/Ca2+ exchanger (NCKX).

    One forward cycle moves 4 Na+ in and 1 Ca2+ plus 1 K+ out (one net
    positive charge in).  Its free energy is zero at

    E_NCKX = 4 E_Na - 2 E_Ca - E_K = (RT/F) ln(Nao^4 Cai Ki / (Nai^4 Cao Ko)),

    i.e. where Nai^4 Cao Ko exp(F V / RT) = Nao^4 Cai Ki.  The exchanger
    runs forward (Ca2+ extrusion) at V below E_NCKX and in reverse mode
    above it.

    Parameters
    ----------
    nai, nao : float or array, mM
        Intra- and extracellular Na+ (> 0).
    cai, cao : float or array, mM
        Intra- and extracellular Ca2+ (> 0).
    ki, ko : float or array, mM
        Intra- and extracellular K+ (> 0).
    celsius : float or array, degC
        Temperature (default 37).

    Returns
    -------
    numpy float or array, mV
    """
    nai, nao, cai, cao, ki, ko = _nckx_concentrations(nai, nao, cai, cao, ki, ko)
    return _out(4.0 * nernst(nai, nao, 1, celsius) - 2.0 * nernst(cai, cao, 2, celsius)
                - nernst(ki, ko, 1, celsius))


def nckx_free_energy(v, nai, nao, cai, cao, ki, ko, celsius=37.0):
    """Free energy of one forward NCKX cycle (4 Na+ in, 1 Ca2+ + 1 K+ out).

    dG = 4 [RT ln(Nai/Nao) + F V] - [RT ln(Cai/Cao) + 2 F V] - [RT ln(Ki/Ko) + F V]
       = F (V - E_NCKX).

    Parameters
    ----------
    v : float or array, mV
        Membrane potential.
    nai, nao : float or array, mM
        Intra- and extracellular Na+ (> 0).
    cai, cao : float or array, mM
        Intra- and extracellular Ca2+ (> 0).
    ki, ko : float or array, mM
        Intra- and extracellular K+ (> 0).
    celsius : float or array, degC
        Temperature (default 37).

    Returns
    -------
    numpy float or array, kJ/mol
        Negative means forward mode (Ca2+ extrusion) is downhill.
    """
    nai, nao, cai, cao, ki, ko = _nckx_concentrations(nai, nao, cai, cao, ki, ko)
    return free_energy(v, {"na": 4.0, "ca": -1.0, "k": -1.0},
                       {"na": nai, "ca": cai, "k": ki}, {"na": nao, "ca": cao, "k": ko},
                       {"na": 1, "ca": 2, "k": 1}, celsius)


def _nak_transport_chem(nai, nao, ki, ko, celsius):
    """Concentration part of 3 Na out + 2 K in, kJ/mol."""
    nai = _num(nai, "nai", positive=True)
    nao = _num(nao, "nao", positive=True)
    ki = _num(ki, "ki", positive=True)
    ko = _num(ko, "ko", positive=True)
    return _rt_kj(celsius) * (3.0 * np.log(nao / nai) + 2.0 * np.log(ki / ko))


def nak_atpase_free_energy(v, nai, nao, ki, ko, dg_atp=-55.0, celsius=37.0):
    """Free energy of one forward Na+/K+-ATPase cycle.

    One cycle moves 3 Na+ out and 2 K+ in and hydrolyses one ATP:
    dG = dg_atp + 3 RT ln(Nao/Nai) + 2 RT ln(Ki/Ko) - F V
    (net one positive charge leaves the cell per cycle).

    Parameters
    ----------
    v : float or array, mV
        Membrane potential.
    nai, nao : float or array, mM
        Intra- and extracellular Na+ (> 0).
    ki, ko : float or array, mM
        Intra- and extracellular K+ (> 0).
    dg_atp : float or array, kJ/mol
        Free energy of ATP hydrolysis (negative; default -55).
    celsius : float or array, degC
        Temperature (default 37).

    Returns
    -------
    numpy float or array, kJ/mol
        Negative means the pump can run forward.
    """
    vv = _num(v, "v")
    g = _num(dg_atp, "dg_atp")
    chem = _nak_transport_chem(nai, nao, ki, ko, celsius)
    return _out(g + chem - FARADAY * vv * 1e-6)


def nak_atpase_reversal(nai, nao, ki, ko, dg_atp=-55.0, celsius=37.0):
    """Reversal potential of the Na+/K+-ATPase.

    The V at which :func:`nak_atpase_free_energy` is zero:
    V_rev = (dg_atp + 3 RT ln(Nao/Nai) + 2 RT ln(Ki/Ko)) / F.
    The pump runs forward (3 Na out, 2 K in) at V above V_rev.  Each
    kJ/mol added to dg_atp shifts V_rev by 1e6 / F = 10.36 mV.

    Parameters
    ----------
    nai, nao : float or array, mM
        Intra- and extracellular Na+ (> 0).
    ki, ko : float or array, mM
        Intra- and extracellular K+ (> 0).
    dg_atp : float or array, kJ/mol
        Free energy of ATP hydrolysis (negative; default -55).
    celsius : float or array, degC
        Temperature (default 37).

    Returns
    -------
    numpy float or array, mV
    """
    g = _num(dg_atp, "dg_atp")
    chem = _nak_transport_chem(nai, nao, ki, ko, celsius)
    return _out((g + chem) / FARADAY * 1e6)   # kJ/mol / (C/mol) -> mV


def egaba(cli, clo, hco3i, hco3o, p_ratio=0.2, celsius=37.0):
    """Reversal potential of a GABA_A receptor channel (Cl- and HCO3-).

    From the GHK voltage equation for two anions with P_HCO3 / P_Cl = r:
    E_GABA = (RT/F) ln((Cli + r HCO3i) / (Clo + r HCO3o)).

    Parameters
    ----------
    cli, clo : float or array, mM
        Intra- and extracellular Cl- (> 0).
    hco3i, hco3o : float or array, mM
        Intra- and extracellular HCO3- (>= 0).
    p_ratio : float or array, dimensionless
        Permeability ratio P_HCO3 / P_Cl (>= 0; default 0.2).
    celsius : float or array, degC
        Temperature (default 37).

    Returns
    -------
    numpy float or array, mV
    """
    cli = _num(cli, "cli", positive=True)
    clo = _num(clo, "clo", positive=True)
    hi = _num(hco3i, "hco3i", nonnegative=True)
    ho = _num(hco3o, "hco3o", nonnegative=True)
    r = _num(p_ratio, "p_ratio", nonnegative=True)
    return _out(_rtf(celsius) * np.log((cli + r * hi) / (clo + r * ho)))


# ---------------------------------------------------------------------------
# calcium pumps and organelle calcium transport
# ---------------------------------------------------------------------------

def serca_free_energy(cai, caer, dg_atp=-55.0, celsius=37.0):
    """Free energy of one SERCA cycle: 2 Ca2+ cytosol -> ER lumen per ATP.

    dG = dg_atp + 2 R T ln(Caer / Cai).

    The ER membrane potential is taken as 0 (the ER membrane is highly
    permeable to K+ and Cl-, so little potential builds up), so there is
    no electrical term; the H+ counter-transport of SERCA is not modelled.

    Parameters
    ----------
    cai : float or array, mM
        Cytosolic free Ca2+ (> 0).
    caer : float or array, mM
        Free Ca2+ in the ER lumen (> 0).
    dg_atp : float or array, kJ/mol
        Free energy of ATP hydrolysis (negative; default -55).
    celsius : float or array, degC
        Temperature (default 37).

    Returns
    -------
    numpy float or array, kJ/mol
        Negative means uptake into the ER (forward pumping) is downhill.
    """
    cai = _num(cai, "cai", positive=True)
    caer = _num(caer, "caer", positive=True)
    g = _num(dg_atp, "dg_atp")
    return _out(g + 2.0 * _rt_kj(celsius) * np.log(caer / cai))


def serca_equilibrium_ratio(dg_atp=-55.0, celsius=37.0):
    """Caer / Cai at which :func:`serca_free_energy` is zero.

    Caer / Cai = exp(-dg_atp / (2 R T)): the largest ER/cytosol free Ca2+
    gradient SERCA can build (about 4e4 for -55 kJ/mol at 37 degC).

    Parameters
    ----------
    dg_atp : float or array, kJ/mol
        Free energy of ATP hydrolysis (negative; default -55).
    celsius : float or array, degC
        Temperature (default 37).

    Returns
    -------
    numpy float or array, dimensionless
    """
    g = _num(dg_atp, "dg_atp")
    return _out(np.exp(-g / (2.0 * _rt_kj(celsius))))


def _pmca_chem(cai, cao, dg_atp, celsius, nh, ph_i, ph_o):
    """dg_atp + RT ln(Cao/Cai) + nh RT ln(Hi/Ho) in kJ/mol (validated)."""
    cai = _num(cai, "cai", positive=True)
    cao = _num(cao, "cao", positive=True)
    g = _num(dg_atp, "dg_atp")
    n = _check_pmca_nh(nh)
    dph = _num(ph_o, "ph_o") - _num(ph_i, "ph_i")  # ln(Hi/Ho) = ln(10) (pHo - pHi)
    rt = _rt_kj(celsius)
    return g + rt * np.log(cao / cai) + n * rt * np.log(10.0) * dph


def _check_pmca_nh(nh):
    n = _num(nh, "nh")
    if np.any((n < 0) | (n > 2)):
        raise ValueError(f"nh (H+ per Ca of the PMCA) must be in [0, 2]; got {nh!r}")
    return n


def pmca_free_energy(v, cai, cao, dg_atp=-55.0, celsius=37.0, nh=0.0, ph_i=7.2, ph_o=7.4):
    """Free energy of one PMCA cycle: 1 Ca2+ extruded and ``nh`` H+ taken up per ATP.

    dG = dg_atp + R T ln(Cao / Cai) - 2 F V + nh (R T ln(Hi / Ho) + F V)

    with ln(Hi / Ho) = ln(10) (pHo - pHi). ``nh = 0`` (default, pmca.mod's
    default): electrogenic, two positive charges leave per cycle. ``nh = 2``
    (1 Ca : 2 H+, measured in neurones by Thomas 2009, J Physiol 587:315):
    electroneutral, dG does not depend on V.

    Parameters
    ----------
    v : float or array, mV
        Membrane potential (inside minus outside).
    cai, cao : float or array, mM
        Intra- and extracellular free Ca2+ (> 0).
    dg_atp : float or array, kJ/mol
        Free energy of ATP hydrolysis (negative; default -55).
    celsius : float or array, degC
        Temperature (default 37).
    nh : float or array in [0, 2]
        H+ taken up per Ca2+ extruded (pmca.mod's GLOBAL nh_pmca).
    ph_i, ph_o : float or array
        Cytosolic and extracellular pH (pmca.mod's phi_pmca, pho_pmca).

    Returns
    -------
    numpy float or array, kJ/mol
        Negative means extrusion (forward pumping) is downhill.
    """
    vv = _num(v, "v")
    chem = _pmca_chem(cai, cao, dg_atp, celsius, nh, ph_i, ph_o)
    return _out(chem - (2.0 - np.asarray(nh, dtype=float)) * FARADAY * vv * 1e-6)


def pmca_reversal(cai, cao, dg_atp=-55.0, celsius=37.0, nh=0.0, ph_i=7.2, ph_o=7.4):
    """Membrane potential at which :func:`pmca_free_energy` is zero.

    V_rev = (dg_atp + R T ln(Cao / Cai) + nh R T ln(Hi / Ho)) / ((2 - nh) F).
    The pump can run forward (Ca2+ out) at V above V_rev; with nh = 0 each
    kJ/mol added to dg_atp shifts V_rev by 1e6 / (2 F) = 5.18 mV. With
    ``nh = 2`` the pump is electroneutral and has no reversal potential:
    ValueError (use :func:`pmca_free_energy`).

    Parameters
    ----------
    cai, cao : float or array, mM
        Intra- and extracellular free Ca2+ (> 0).
    dg_atp : float or array, kJ/mol
        Free energy of ATP hydrolysis (negative; default -55).
    celsius : float or array, degC
        Temperature (default 37).
    nh, ph_i, ph_o : as in :func:`pmca_free_energy`.

    Returns
    -------
    numpy float or array, mV
    """
    chem = _pmca_chem(cai, cao, dg_atp, celsius, nh, ph_i, ph_o)
    charge = 2.0 - np.asarray(nh, dtype=float)
    if np.any(charge == 0):
        raise ValueError("nh = 2: the PMCA is electroneutral and has no reversal potential; "
                         "its free energy (pmca_free_energy) does not depend on V")
    return _out(chem / (charge * FARADAY) * 1e6)   # kJ/mol / (C/mol) -> mV


def mcu_free_energy(cai, camt, dpsi, celsius=37.0):
    """Free energy of MCU uptake: one Ca2+ from cytosol into the matrix.

    dG = R T ln(Camt / Cai) + 2 F dpsi

    (passive uniport through the mitochondrial Ca2+ uniporter, MCU).

    Parameters
    ----------
    cai : float or array, mM
        Cytosolic free Ca2+ (> 0).
    camt : float or array, mM
        Free Ca2+ in the mitochondrial matrix (> 0).
    dpsi : float or array, mV
        Mitochondrial membrane potential, V_matrix - V_cytosol (negative,
        about -160 to -180 mV, in energised mitochondria).
    celsius : float or array, degC
        Temperature (default 37).

    Returns
    -------
    numpy float or array, kJ/mol
        Negative means uptake into the matrix is downhill.
    """
    cai = _num(cai, "cai", positive=True)
    camt = _num(camt, "camt", positive=True)
    dp = _num(dpsi, "dpsi")
    return _out(_rt_kj(celsius) * np.log(camt / cai)
                + 2.0 * FARADAY * dp * 1e-6)


def mcu_equilibrium_ratio(dpsi, celsius=37.0):
    """Camt / Cai at which :func:`mcu_free_energy` is zero.

    Camt / Cai = exp(-2 F dpsi / (R T)), the Nernst relation for Ca2+
    across the inner mitochondrial membrane (about 3e5 at -170 mV and
    37 degC).

    Parameters
    ----------
    dpsi : float or array, mV
        V_matrix - V_cytosol.
    celsius : float or array, degC
        Temperature (default 37).

    Returns
    -------
    numpy float or array, dimensionless
    """
    dp = _num(dpsi, "dpsi")
    return _out(np.exp(-2.0 * dp / _rtf(celsius)))


def _nclx_na_part(nai, namt, dpsi, celsius):
    """3 RT ln(Namt/Nai) + F dpsi in kJ/mol (validated)."""
    nai = _num(nai, "nai", positive=True)
    namt = _num(namt, "namt", positive=True)
    dp = _num(dpsi, "dpsi")
    return 3.0 * _rt_kj(celsius) * np.log(namt / nai) + FARADAY * dp * 1e-6


def nclx_free_energy(nai, namt, cai, camt, dpsi, celsius=37.0):
    """Free energy of one cycle of the mitochondrial Na+/Ca2+ exchanger NCLX.

    One forward cycle moves 3 Na+ from cytosol into the matrix and 1 Ca2+
    from the matrix into the cytosol, so net one positive charge enters the
    matrix:

    dG = 3 R T ln(Namt / Nai) + R T ln(Cai / Camt) + F dpsi.

    (The 3:1 electrogenic stoichiometry is the commonly assumed one; an
    electroneutral 2:1 mode is not covered.)

    Parameters
    ----------
    nai : float or array, mM
        Cytosolic Na+ (> 0).
    namt : float or array, mM
        Matrix Na+ (> 0).
    cai : float or array, mM
        Cytosolic free Ca2+ (> 0).
    camt : float or array, mM
        Matrix free Ca2+ (> 0).
    dpsi : float or array, mV
        V_matrix - V_cytosol (negative in energised mitochondria).
    celsius : float or array, degC
        Temperature (default 37).

    Returns
    -------
    numpy float or array, kJ/mol
        Negative means the forward cycle (Ca2+ extrusion from the matrix)
        is downhill.
    """
    na_part = _nclx_na_part(nai, namt, dpsi, celsius)
    cai = _num(cai, "cai", positive=True)
    camt = _num(camt, "camt", positive=True)
    return _out(na_part + _rt_kj(celsius) * np.log(cai / camt))


def nclx_equilibrium_camt(nai, namt, cai, dpsi, celsius=37.0):
    """Matrix free Ca2+ at which :func:`nclx_free_energy` is zero.

    Camt = Cai (Namt / Nai)^3 exp(F dpsi / (R T)).  For a larger Camt the
    exchanger runs forward (extrudes Ca2+ from the matrix).

    Parameters
    ----------
    nai, namt : float or array, mM
        Cytosolic and matrix Na+ (> 0).
    cai : float or array, mM
        Cytosolic free Ca2+ (> 0).
    dpsi : float or array, mV
        V_matrix - V_cytosol.
    celsius : float or array, degC
        Temperature (default 37).

    Returns
    -------
    numpy float or array, mM
    """
    na_part = _nclx_na_part(nai, namt, dpsi, celsius)
    cai = _num(cai, "cai", positive=True)
    return _out(cai * np.exp(na_part / _rt_kj(celsius)))


# ---------------------------------------------------------------------------
# kinetics
# ---------------------------------------------------------------------------

def hill_crossover(v1, k1, v2, k2, n=1.0):
    """Concentration at which two Hill-type uptake rates are equal.

    Solves v1 c^n / (k1^n + c^n) = v2 c^n / (k2^n + c^n) for c > 0:

    c^n = (v1 k2^n - v2 k1^n) / (v2 - v1).

    For n = 1 (Michaelis-Menten) with 1 = SERCA (ER) and 2 = MCU
    (mitochondria) this is Ca_eq = (V_E K_M - V_M K_E) / (V_M - V_E).
    A positive crossover exists iff one system has both the smaller
    half-saturation constant and the smaller maximal rate, with
    (k1/k2)^n < v1/v2 < 1 (or the same with 1 and 2 exchanged).  Below c
    the high-affinity system is faster, above c the high-capacity one.

    Parameters
    ----------
    v1, v2 : float or array, any rate unit (the same for both)
        Maximal rates (> 0).
    k1, k2 : float or array, any concentration unit (the same for both)
        Half-saturation constants (> 0).
    n : float or array, dimensionless
        Common Hill coefficient (> 0; default 1).

    Returns
    -------
    numpy float or array, in the unit of k1 and k2

    Raises
    ------
    ValueError
        On invalid arguments, or if for some element there is no positive
        crossover (equal maximal rates, or one curve above the other for
        every c > 0).
    """
    v1, k1, v2, k2, nn = (
        _positive(x, name) for x, name in
        ((v1, "v1"), (k1, "k1"), (v2, "v2"), (k2, "k2"),
         (n, "n (Hill coefficient)")))
    num = v1 * k2**nn - v2 * k1**nn
    den = v2 - v1
    if np.any(den == 0):
        raise ValueError("hill_crossover: v1 == v2, so the two rates never "
                         "cross at a finite c > 0 (they are equal for all c "
                         "if also k1 == k2)")
    cn = num / den
    if np.any(cn <= 0):
        raise ValueError("hill_crossover: no positive crossover; one rate "
                         "exceeds the other at every c > 0 (a crossover "
                         "needs one system with both the smaller k and the "
                         "smaller v, with (k1/k2)^n < v1/v2 < 1 or the same "
                         "with 1 and 2 exchanged)")
    return _out(cn ** (1.0 / nn))
