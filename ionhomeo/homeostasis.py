"""Activity-dependent regulation of channel densities: integral control on Ca.

The model of O'Leary, Williams, Franci & Marder (2014, Neuron 82:809): each
regulated density g_i (a conductance or permeability of some mechanism) is
made from a messenger m_i whose production integrates the deviation of the
cytosolic Ca concentration, the cell's activity sensor, from a target:

    tau_i dm_i/dt = r_i (Ca_target - Ca) / Ca_target
    tau_g dg_i/dt = m_i - g_i

``r_i`` (the rule's ``reference``, in the parameter's units; by default the
mod file's default value) makes the equations hold in each parameter's own
units: ``x_i = g_i / r_i`` is the density relative to the default. The
parameter that the mechanism sees is ``modulation_i * g_i``, where
``modulation_i`` (1 by default) is a neuromodulator's multiplicative effect
on the channel, which the controller does not know about. Every segment has
its own controller and reads its own Ca (a local rule).

What follows from the equations. Every m_i integrates the same error, so
``m_i(t) = m_i(0) + r_i E(t) / tau_i`` with ``E = integral of (Ca_target -
Ca)/Ca_target dt``: relative densities grow in the fixed proportion
``x_i / x_j -> tau_j / tau_i`` once ``E`` outweighs the starting values (the
cell's "type" is set by the regulation rates, not by the starting
densities). At a fixed point dm_i/dt = 0, so the time average of Ca over
the controller's averaging equals the target exactly: integral control has
no steady-state error, whatever the channels, as long as the loop is stable
and raising the densities together raises Ca around the fixed point.

Integration. The cell is integrated by NEURON (fixed step or CVODE) in
chunks of ``update_ms``; the controller is advanced between chunks in
Python. Ca enters only through its mean over each chunk, read exactly from
the ``casensor`` mechanism (the time integral of cai, integrated by the same
solver as cai), so m is exact at the chunk ends. g is advanced by the exact
solution of its linear equation for m rising linearly over the chunk, and
the channels see g held for the chunk (zero-order hold): the error is of
order ``update_ms / tau_g`` during transients and vanishes at a fixed point
(g constant). Regulation is thousands of times slower than spikes, which is
why a Python step per chunk is cheap (one step per ``update_ms`` of
simulated time) and keeps the rule free to act on any range parameter of
any mechanism. After each update CVODE is re-initialised (the parameters
changed).

Applied values are clipped at 0 (a density cannot be negative); m and g
themselves are not, so the bookkeeping stays exact; ``clipped`` counts the
updates where clipping happened.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from . import _interrupt
from .mechanisms import ParameterError


class HomeostasisError(ParameterError):
    """A regulation rule or controller that cannot work as asked."""


@dataclasses.dataclass(frozen=True)
class Regulated:
    """One regulated parameter: ``mechanism.parameter`` with time constant ``tau_ms``.

    reference: the parameter value that corresponds to x = 1, in the
    parameter's units (None: the mod file's default).
    """

    mechanism: str
    parameter: str
    tau_ms: float
    reference: float | None = None

    @property
    def name(self) -> str:
        return f"{self.mechanism}.{self.parameter}"


def _positive(name, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value <= 0:
        raise HomeostasisError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


class IntegralController:
    """Integral control of channel densities on the local mean Ca of ``segments``.

    :segments: the segments to regulate; each must carry ``casensor`` (the Ca
        sensor) and every rule's mechanism.
    :rules: :class:`Regulated` objects (at least one; names unique).
    :target_mM: the Ca target (mM).
    :tau_g_ms: the time constant with which densities follow their messenger.
    :update_ms: the chunk between controller updates; must be well below
        tau_g_ms and every rule's tau_ms (their ratio is the splitting error).
    :initial: starting densities g (= m) in parameter units, as an array of
        shape (rules,) or (rules, segments); None takes the values in the
        segments now.
    """

    def __init__(self, segments, rules, target_mM: float, tau_g_ms: float,
                 update_ms: float = 100.0, initial=None):
        from . import mechanisms

        self.segments = list(segments)
        if not self.segments:
            raise HomeostasisError("no segments to regulate")
        self.rules = tuple(rules)
        if not self.rules:
            raise HomeostasisError("no regulation rules")
        names = [r.name for r in self.rules]
        if len(set(names)) != len(names):
            raise HomeostasisError(f"a parameter is regulated twice: {names}")
        self.target_mM = _positive("target_mM", target_mM)
        self.tau_g_ms = _positive("tau_g_ms", tau_g_ms)
        self.update_ms = _positive("update_ms", update_ms)
        refs = []
        for r in self.rules:
            _positive(f"tau_ms of {r.name}", r.tau_ms)
            param = mechanisms.get(r.mechanism).parameter(r.parameter)
            if param.scope != "range":
                raise HomeostasisError(
                    f"{r.name} is a GLOBAL parameter: one value for every segment cannot be "
                    "regulated locally; regulate a RANGE parameter")
            ref = param.default if r.reference is None else r.reference
            refs.append(_positive(f"reference of {r.name}", ref))
            if self.update_ms > 0.1 * min(r.tau_ms, self.tau_g_ms):
                raise HomeostasisError(
                    f"update_ms {self.update_ms:g} ms is not well below the regulation time "
                    f"constants (tau_g {self.tau_g_ms:g} ms, {r.name} {r.tau_ms:g} ms): use at "
                    "most a tenth of the smallest")
        self.reference = np.array(refs)
        self.tau = np.array([r.tau_ms for r in self.rules])
        for seg in self.segments:
            where = f"{seg.sec.name()}({seg.x:.4g})"
            if not seg.sec.has_membrane("casensor"):
                raise HomeostasisError(
                    f"{where} has no casensor (the Ca sensor): insert it with "
                    "ionhomeo.mechanisms.insert(section, 'casensor')")
            for r in self.rules:
                if not seg.sec.has_membrane(r.mechanism):
                    raise HomeostasisError(f"{where} has no {r.mechanism}, so {r.name} cannot "
                                           "be regulated there")
        shape = (len(self.rules), len(self.segments))
        if initial is None:
            g0 = np.array([[getattr(seg, f"{r.parameter}_{r.mechanism}") for seg in self.segments]
                           for r in self.rules], float)
        else:
            g0 = np.asarray(initial, float)
            if g0.shape == (len(self.rules),):
                g0 = np.repeat(g0[:, None], len(self.segments), axis=1)
            if g0.shape != shape or not np.all(np.isfinite(g0)) or np.any(g0 < 0):
                raise HomeostasisError(
                    f"initial densities must be finite, >= 0 and of shape {shape[:1]} or "
                    f"{shape}, got {np.asarray(initial).shape}")
        self.m = g0.copy()
        self.g = g0.copy()
        self.modulation = np.ones(len(self.rules))
        self.clipped = 0
        self._starts, self._times, self._ca, self._g, self._mod = [], [], [], [], []
        self.apply()

    @property
    def names(self) -> list:
        return [r.name for r in self.rules]

    def _index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise HomeostasisError(
                f"{name!r} is not regulated; regulated: {', '.join(self.names)}") from None

    def relative(self) -> np.ndarray:
        """x = g / reference, shape (rules, segments)."""
        return self.g / self.reference[:, None]

    def set_modulation(self, name: str, factor: float) -> None:
        """A neuromodulator scales ``name`` (e.g. "naleak.pna") by ``factor`` from now on."""
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) \
                or not math.isfinite(factor) or factor < 0:
            raise HomeostasisError(f"modulation factor must be finite and >= 0, got {factor!r}")
        self.modulation[self._index(name)] = float(factor)
        self.apply()

    def apply(self) -> None:
        """Write modulation * g (clipped at 0) into every segment."""
        values = self.modulation[:, None] * self.g
        if np.any(values < 0):
            self.clipped += 1
        values = np.maximum(values, 0.0)
        for i, r in enumerate(self.rules):
            attr = f"{r.parameter}_{r.mechanism}"
            for j, seg in enumerate(self.segments):
                setattr(seg, attr, float(values[i, j]))

    def _caint(self) -> np.ndarray:
        return np.array([seg.casensor.caint for seg in self.segments])

    def step(self, mean_ca: np.ndarray, dt_ms: float) -> None:
        """Advance m and g by ``dt_ms`` for a mean Ca of ``mean_ca`` (per segment)."""
        err = (self.target_mM - np.asarray(mean_ca, float)) / self.target_mM
        rate = self.reference[:, None] * err[None, :] / self.tau[:, None]  # dm/dt
        decay = math.exp(-dt_ms / self.tau_g_ms)
        m0 = self.m
        self.m = m0 + rate * dt_ms
        # tau_g g' = m0 + rate t - g, solved exactly over [0, dt]
        self.g = (self.m - rate * self.tau_g_ms
                  + (self.g - m0 + rate * self.tau_g_ms) * decay)

    def run(self, tstop_ms: float, progress=None) -> None:
        """Integrate to ``tstop_ms`` (from the present h.t), updating every ``update_ms``.

        The cell must have been initialised (finitialize). Records, per chunk,
        the end time, each segment's mean Ca and the densities g.
        """
        from neuron import h

        cv = h.CVode()
        caint = self._caint()
        while h.t < tstop_ms - 1e-9:
            t_start = h.t
            t_next = min(t_start + self.update_ms, tstop_ms)
            with _interrupt.guard():  # a Ctrl-C NEURON swallowed ends the loop
                if cv.active():
                    cv.solve(t_next)
                else:
                    h.continuerun(t_next)
            dt = h.t - t_start
            if dt <= 0:
                raise HomeostasisError(f"the integration did not advance past t = {h.t:g} ms")
            now = self._caint()
            mean_ca = (now - caint) / dt
            caint = now
            self.step(mean_ca, dt)
            self.apply()
            if cv.active():
                cv.re_init()
            self._starts.append(t_start)
            self._times.append(h.t)
            self._ca.append(mean_ca)
            self._g.append(self.g.copy())
            self._mod.append(self.modulation.copy())
            if progress is not None:
                progress(h.t)

    def history(self) -> dict:
        """Arrays: t_start_ms and t_ms (start and end of each chunk), ca_mM (chunks x segments), g (chunks x rules x
        segments, parameter units), modulation (chunks x rules)."""
        n = len(self._times)
        nr, ns = len(self.rules), len(self.segments)
        return {"t_start_ms": np.array(self._starts), "t_ms": np.array(self._times),
                "ca_mM": np.array(self._ca).reshape(n, ns),
                "g": np.array(self._g).reshape(n, nr, ns),
                "modulation": np.array(self._mod).reshape(n, nr)}

    def mean_ca(self, t0_ms: float, t1_ms: float) -> np.ndarray:
        """Each segment's mean Ca over the recorded chunks ending in (t0, t1] (mM)."""
        hist = self.history()
        t = hist["t_ms"]
        if t.size == 0:
            raise HomeostasisError("nothing recorded yet: call run() first")
        starts = hist["t_start_ms"]
        sel = (t > t0_ms + 1e-9) & (t <= t1_ms + 1e-9)  # chunk ends, to round-off
        if not sel.any():
            raise HomeostasisError(f"no recorded chunk ends in ({t0_ms:g}, {t1_ms:g}] ms")
        w = (t - starts)[sel]
        return (hist["ca_mM"][sel] * w[:, None]).sum(axis=0) / w.sum()
