"""Analysis of simulated traces, shared by the protocols and the tests: fits,
integrals, crossings and events.

Times and values are numpy arrays in whatever units the caller uses; the
functions do not convert units.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

__all__ = ["ExpFit", "fit_exp", "loglinear_guess", "DecayFit", "fit_decay", "trapezoid",
           "zero_crossing", "sign_changes", "bracket_crossing", "first_time", "count_between",
           "bisect_threshold", "on_uniform_grid"]


@dataclasses.dataclass(frozen=True)
class ExpFit:
    """y = c + a exp(-x/tau), fitted by least squares.

    a, tau, c: the parameters (c is 0 and se_c nan with a zero baseline);
    se_a, se_tau, se_c: their standard errors from the covariance;
    max_residual: the largest ``|y - fit|`` over the window.
    """

    a: float
    tau: float
    c: float
    se_a: float
    se_tau: float
    se_c: float
    max_residual: float

    def __call__(self, x):
        return self.c + self.a * np.exp(-np.asarray(x, float) / self.tau)


def loglinear_guess(x, y, above: float | None = None):
    """(slope, intercept) of ln y against x over the samples with y > 0 (or,
    with ``above``, with y > above * y[0]): a first guess for :func:`fit_exp`
    (tau = -1/slope when the slope is negative). (nan, nan) with fewer than
    three such samples when ``above`` is given, two otherwise."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = y > (above * y[0] if above is not None else 0)
    if keep.sum() < (3 if above is not None else 2):
        return math.nan, math.nan
    slope, intercept = np.polyfit(x[keep], np.log(y[keep]), 1)
    return float(slope), float(intercept)


def fit_exp(x, y, p0, *, baseline: bool = False, lower=None, upper=None,
            maxfev: int = 20000) -> ExpFit:
    """Fit y = a exp(-x/tau) (+ c with ``baseline``) from ``p0`` = (a, tau[, c]).

    ``lower``/``upper``: bounds of the parameters (as scipy's curve_fit); x
    starts wherever the caller's window starts (subtract t0 first). Raises
    RuntimeError or ValueError (scipy's) when the fit does not converge.
    """
    from scipy import optimize

    x, y = np.asarray(x, float), np.asarray(y, float)
    kwargs = {"p0": list(p0), "maxfev": maxfev}
    if lower is not None or upper is not None:
        n = 3 if baseline else 2
        kwargs["bounds"] = (list(lower) if lower is not None else [-np.inf] * n,
                            list(upper) if upper is not None else [np.inf] * n)
    if baseline:
        p, cov = optimize.curve_fit(lambda t, a, tau, c: c + a * np.exp(-t / tau), x, y,
                                    **kwargs)
        a, tau, c = p
        se = np.sqrt(np.diag(cov))
        se_c = float(se[2])
    else:
        p, cov = optimize.curve_fit(lambda t, a, tau: a * np.exp(-t / tau), x, y, **kwargs)
        (a, tau), c = p, 0.0
        se = np.sqrt(np.diag(cov))
        se_c = math.nan
    resid = y - (c + a * np.exp(-x / tau))
    return ExpFit(float(a), float(tau), float(c), float(se[0]), float(se[1]), se_c,
                  float(np.max(np.abs(resid))) if resid.size else math.nan)


def on_uniform_grid(t, y, t0: float, n: int):
    """A trace from t0 to its end on n evenly spaced times (linear
    interpolation): (times from t0, values). Fit a curve there rather than on
    an integrator's own steps, which crowd where it chose to step: a fit to a
    curve the model does not describe exactly (one exponential through two)
    weights those places, and moves when any round-off change moves them."""
    t, y = np.asarray(t, float), np.asarray(y, float)
    tt = np.linspace(0.0, float(t[-1]) - t0, n)
    return tt, np.interp(tt + t0, t, y)


def trapezoid(y, x) -> float:
    """Trapezoidal integral of y over x (0 for fewer than two points)."""
    y, x = np.asarray(y, float), np.asarray(x, float)
    return float(np.sum((y[1:] + y[:-1]) * np.diff(x)) / 2) if x.size > 1 else 0.0


def zero_crossing(x, y) -> float:
    """The x where y first changes sign (linear interpolation), or nan."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    s = np.sign(y)
    idx = np.flatnonzero(s[:-1] * s[1:] < 0)
    if idx.size == 0:
        return math.nan
    k = int(idx[0])
    return float(x[k] - y[k] * (x[k + 1] - x[k]) / (y[k + 1] - y[k]))


def first_time(t, mask) -> float:
    """The first t where ``mask`` holds, or nan."""
    idx = np.flatnonzero(np.asarray(mask))
    return float(np.asarray(t)[idx[0]]) if idx.size else math.nan


def count_between(times, t0: float, t1: float) -> int:
    """How many event times fall in [t0, t1)."""
    times = np.asarray(times, float)
    return int(np.count_nonzero((times >= t0) & (times < t1)))


def sign_changes(x, y):
    """Every x where y changes sign (linear interpolation between the two
    samples that bracket it, as :func:`zero_crossing`) and the sign y takes
    there (+1 or -1): two arrays, empty if y never changes sign."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    s = np.sign(y)
    k = np.flatnonzero(s[:-1] * s[1:] < 0)
    return x[k] - y[k] * (x[k + 1] - x[k]) / (y[k + 1] - y[k]), np.sign(y[k + 1])


def bracket_crossing(y, level: float, rising: bool = True, mask=None):
    """The first crossing of ``level`` between two samples: (i, f) with y[i]
    < level <= y[i + 1] (rising; y[i] > level >= y[i + 1] falling), only
    where ``mask`` (per sample) holds at sample i + 1, and f the fraction of
    the way from sample i to i + 1 where linear interpolation reaches the
    level (interpolate any trace as a[i] + f (a[i + 1] - a[i])). None if
    there is no such pair; a trace that starts beyond the level must come
    back and cross it."""
    y = np.asarray(y, float)
    yy, lv = (y, level) if rising else (-y, -level)
    ok = np.ones(y.size, bool) if mask is None else np.asarray(mask, bool)
    k = np.flatnonzero(ok[1:] & (yy[:-1] < lv) & (yy[1:] >= lv))
    if k.size == 0:
        return None
    i = int(k[0])
    return i, float((lv - yy[i]) / (yy[i + 1] - yy[i]))


@dataclasses.dataclass(frozen=True)
class DecayFit:
    """An exponential decay towards 0 fitted over a window (:func:`fit_decay`).

    fit: the :class:`ExpFit` (no baseline) of y against t - t_start, None
    when there was nothing to fit (no sample from t_start on, or y not > 0
    there); t_start: the window's first sample time (the last sample's when
    there is none); t_end: its last (nan without a fit); n: samples in it;
    complete: whether y fell to exp(-span) of its start within the data.
    """

    fit: ExpFit | None
    t_start: float
    t_end: float
    n: int
    complete: bool

    def to_dict(self, unit: str = "") -> dict:
        """tau, its standard error, a, the window and the largest residual
        over a (``max_rel_residual``); time keys end in ``_<unit>``."""
        s = f"_{unit}" if unit else ""
        f = self.fit
        nan = math.nan
        return {f"t_start{s}": self.t_start, "model": "y = a exp(-(t - t0)/tau)",
                f"tau{s}": f.tau if f else nan, f"tau_se{s}": f.se_tau if f else nan,
                "a": f.a if f else nan, f"t_end{s}": self.t_end, "n": self.n,
                "max_rel_residual": f.max_residual / f.a if f else nan,
                "complete": self.complete}


def fit_decay(t, y, t_start: float, span: float = 3.0) -> DecayFit:
    """Fit y = a exp(-(t - t0)/tau) to a decay towards 0, from the first
    sample at or after ``t_start`` (t0) until y has fallen to y(t0) exp(-span)
    (or to the last sample), by :func:`fit_exp` started from
    :func:`loglinear_guess` (tau guess: the window's length if that slope is
    not negative). scipy's errors propagate when the fit fails."""
    t, y = np.asarray(t, float), np.asarray(y, float)
    i0 = int(np.searchsorted(t, t_start))
    t0 = float(t[min(i0, t.size - 1)])
    if i0 >= t.size or not y[i0] > 0:
        return DecayFit(None, t0, math.nan, 0, False)
    below = np.flatnonzero(y[i0:] <= y[i0] * math.exp(-span))
    i1 = i0 + (int(below[0]) if below.size else y.size - i0 - 1)
    x, yy = t[i0:i1 + 1] - t[i0], y[i0:i1 + 1]
    slope, icpt = loglinear_guess(x, yy)
    fit = fit_exp(x, yy, (math.exp(icpt), -1.0 / slope if slope < 0 else x[-1]))
    return DecayFit(fit, t0, float(t[i1]), int(x.size), bool(below.size > 0))


def bisect_threshold(triggers, lo: float, hi: float, rtol: float) -> tuple:
    """Geometric bisection of an all-or-none threshold: ``lo`` below it
    (``triggers(lo)`` false), ``hi`` above it; halves the bracket in log
    space (``triggers(sqrt(lo hi))``) until hi/lo - 1 <= ``rtol`` and
    returns the final (lo, hi). The threshold is then about sqrt(lo hi).
    ``triggers(x)`` runs the experiment at x and says whether it triggered."""
    while hi / lo - 1 > rtol:
        mid = math.sqrt(lo * hi)
        if triggers(mid):
            hi = mid
        else:
            lo = mid
    return lo, hi
