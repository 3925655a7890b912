"""Analysis of simulated traces, shared by the protocols and the tests: fits,
integrals, crossings and events.

Times and values are numpy arrays in whatever units the caller uses; the
functions do not convert units.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

__all__ = ["ExpFit", "fit_exp", "loglinear_guess", "trapezoid", "zero_crossing",
           "crossing_time", "count_between", "first_time"]


@dataclasses.dataclass(frozen=True)
class ExpFit:
    """y = c + a exp(-x/tau), fitted by least squares.

    a, tau, c: the parameters (c is 0 and se_c nan with a zero baseline);
    se_a, se_tau, se_c: their standard errors from the covariance;
    max_residual: the largest |y - fit| over the window.
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


def crossing_time(t, y, level: float, rising: bool = True) -> float:
    """The first time y reaches ``level`` (from below if ``rising``, else from
    above), interpolated linearly between samples; nan if it never does; t[0]
    if it starts there."""
    t, y = np.asarray(t, float), np.asarray(y, float)
    hit = y >= level if rising else y <= level
    idx = np.flatnonzero(hit)
    if idx.size == 0:
        return math.nan
    k = int(idx[0])
    if k == 0:
        return float(t[0])
    return float(t[k - 1] + (level - y[k - 1]) * (t[k] - t[k - 1]) / (y[k] - y[k - 1]))


def first_time(t, mask) -> float:
    """The first t where ``mask`` holds, or nan."""
    idx = np.flatnonzero(np.asarray(mask))
    return float(np.asarray(t)[idx[0]]) if idx.size else math.nan


def count_between(times, t0: float, t1: float) -> int:
    """How many event times fall in [t0, t1)."""
    times = np.asarray(times, float)
    return int(np.count_nonzero((times >= t0) & (times < t1)))
