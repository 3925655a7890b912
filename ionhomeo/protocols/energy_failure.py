"""Protocol ``energy-failure``: the Na/K-ATPase and the ATP supply fail.

At ``t0_s`` the Na/K pump stops (nakpump avail = 0) and, by default, every other
ATPase too (pmca imax, serca vmax = 0); with ``dgatp_kj`` those run on a lower ATP
free energy instead; with ``onset_s`` the rates decline as exp(-(t - t0)/onset_s).
The Na/K pump is also blocked alone ("ouabain", ATP supply intact). The cell: a soma
L = diam = ``diam_um`` with the preset ``energy-failure`` plus kext; CVODE, its step
capped at ``maxstep_ms``. Each event is the first crossing after t0, interpolated
between the integration steps that bracket it: Nai +10 %, NCX reversal (incx from
< 0 to > 0), Cai 1 uM, Vm -40 mV, and with kext ko + 1 mM.

Reported: the events' times and the order obtained beside the order the literature
reports (pump failure, Nai rise and depolarisation, NCX reversal, Ca overload; never
asserted: nothing is tuned to it), and at every NCX reversal (either direction) what
moved Vm across E_NCX since rest or the previous reversal: the change of Vm, of 3 E_Na
and of -2 E_Ca. Check: ``Vm at NCX reversal`` (physics: ncx.mod's exchange term
vanishes at 3 E_Na - 2 E_Ca, thermo.ncx_reversal; within 1 mV at every reversal seen,
of which interpolation between the bracketing steps leaves about 1e-3 mV).

Derivations and discussion: docs/protocols/energy-failure.md
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .. import checks
from . import energy_failure_analysis as efa
from . import energy_failure_reversals as efr
from .energy_failure_analysis import (CA_OVERLOAD_MM, DEPOL_MV, DEPOL_RISE_MV, KO_RISE_MM,
                                       NAI_RISE, STEP_UNITS)
from ..experiment import Protocol, Report, Spec, param

#: the preset's mechanisms (ionhomeo/presets/energy-failure.toml), in order
MECHANISMS = ("nadyn", "kdyn", "cldyn", "nakpump", "naleak", "kleak", "clleak", "kcc2",
              "cadyn", "pmca", "ncx", "caleak")
DIAM_UM, T0_S, MAXSTEP_MS, RECORD_DT_MS, NCX_TOL_MV = 20.0, 10.0, 100.0, 1000.0, 1.0
#: the ATPases stopped when the ATP supply fails: mechanism -> its rate, set to 0
ATPASE_RATES = {"pmca": "imax", "serca": "vmax"}
#: an onset is played as exp(-s/onset) sampled every onset/20 up to 12 onsets, then 0
#: (relative interpolation error <= (1/20)^2/8 = 3e-4; exp(-12) = 6e-6 -> 0)
ONSET_SAMPLES, ONSET_SPAN = 20, 12
CONDITION = {"atp": "energy_loss", "ouabain": "ouabain"}  # time-course condition of a run


#: why an electroneutral PMCA (nh > 0) and a lowered ATP energy are refused together
NH_DGATP_WHY = ("pmca.mod returns the PMCA's H+ through a lumped Na/H exchange that assumes "
                "forward pumping, and a lowered ATP free energy can reverse the PMCA")


@dataclasses.dataclass(frozen=True)
class EnergyFailureSpec(Spec):
    duration_s: float = param(7200.0, "s", "simulated time (the failure starts at t0_s)", 0.0)
    diam_um: float = param(DIAM_UM, "um", "diameter (= length) of the protocol's soma", 0.0)
    kext: bool = param(True, "", "add extracellular K dynamics (kext) to the protocol's soma")
    dgatp_kj: float | None = param(None, "kJ/mol", "None: every ATPase stops; else the ATP "
                                   "free energy of the pumps other than nakpump after the "
                                   "failure", -100.0, 0.0, inclusive=True)
    t0_s: float = param(T0_S, "s", "time of the failure", 0.0)
    maxstep_ms: float = param(MAXSTEP_MS, "ms", "cap on CVODE's step", 0.0)
    compare_ouabain: bool = param(True, "", "also block the Na/K pump alone (ATP intact)")
    pmca_nh: float | None = param(None, "H+/Ca", "H+ taken up per Ca by the PMCA (None: "
                                  "the recipe's nh: pmca.mod's 0, electrogenic, unless the "
                                  "recipe sets it; the calibrated presets' is 2)", 0.0, 2.0, inclusive=True)
    onset_s: float = param(0.0, "s", "time constant of the pumps' decline (0: they stop "
                           "at t0)", 0.0, inclusive=True)

    def __post_init__(self):
        from ..mechanisms import ParameterError

        super().__post_init__()
        if self.onset_s > 0 and self.dgatp_kj is not None:
            raise ParameterError("onset_s > 0 cannot be combined with dgatp_kj: the onset scales "
                                 "the pumps' rates down, dgatp_kj changes their free energy at "
                                 "t0; use one of the two")
        if self.duration_s <= self.t0_s:
            raise ParameterError(f"duration_s = {self.duration_s:g} s must exceed t0_s = "
                                 f"{self.t0_s:g} s")
        if self.pmca_nh is not None and self.pmca_nh > 0 and self.dgatp_kj is not None:
            raise ParameterError(f"pmca_nh > 0 cannot be combined with dgatp_kj: {NH_DGATP_WHY}. "
                                 "Use one of the two")


def _simulate(h, cell, segments, soma, spec, failure):
    """One run from rest; at t0 the failure: "ouabain" (nakpump avail = 0) or "atp" (also
    every other ATPase stopped or, with dgatp_kj, the ATP free energy lowered); with
    onset_s the rates fall as exp(-(t - t0)/onset) instead, played into each segment.
    Returns {name: array} at every integration step; what it changed is put back."""
    from .. import calcium, simulate, solver
    from ..recording import Recorder

    t0_ms, onset_ms, dgatp_kj = spec.t0_s * 1e3, spec.onset_s * 1e3, spec.dgatp_kj
    cvode, rec = h.CVode(), Recorder()
    for name in STEP_UNITS:
        if hasattr(soma, name):
            rec.record(name, at=soma)
    # (object, attribute, value before): the pumps' availability, the ATPases' rates
    saved = [(s.nakpump, "avail", s.nakpump.avail) for s in segments]
    rates = [(getattr(s, m), p, getattr(getattr(s, m), p)) for s in segments
             for m, p in ATPASE_RATES.items() if s.sec.has_membrane(m)]
    falling = saved + (rates if failure == "atp" and dgatp_kj is None else [])
    saved += rates + [(h, f"dgatp_{m}", float(getattr(h, f"dgatp_{m}")))
                      for m in calcium.ATP_MECHANISMS if hasattr(h, f"dgatp_{m}")]
    played = []
    try:
        solver.use_cvode()
        cvode.maxstep(spec.maxstep_ms)
        if onset_ms > 0:  # a play is taken up at finitialize: set it before the start
            s = np.linspace(0.0, ONSET_SPAN * onset_ms, ONSET_SPAN * ONSET_SAMPLES + 1)
            factor = np.exp(-s / onset_ms)
            factor[-1] = 0.0  # held there by simulate.play
            played = [simulate.play(getattr(mech, f"_ref_{p}"), t0_ms + s, factor * value)
                      for mech, p, value in falling]
        cell.start()
        try:
            simulate.run(t0_ms)  # finds CVODE on with these settings and continues
            for mech, p, _ in falling if onset_ms <= 0 else ():
                setattr(mech, p, 0.0)
            if failure == "atp" and dgatp_kj is not None:
                calcium.set_atp_free_energy(dgatp_kj)
            cvode.re_init()
            simulate.run(spec.duration_s * 1e3)
        except simulate.SimulationError as err:
            if err.t_ms is None:
                raise
            raise simulate.SimulationError(
                f"energy-failure, {failure} run: {err} (In this protocol the step cap is its "
                f"maxstep_ms argument, now {spec.maxstep_ms:g} ms.)", t_ms=err.t_ms,
                info=err.info, partial=efa.tidy({CONDITION[failure]: _arrays(rec)})) from err
        return _arrays(rec)
    finally:
        for _, values in played:
            values.play_remove()
        for obj, attr, value in saved:
            setattr(obj, attr, value)
        rec.stop()


def _arrays(rec):
    """{name: array} of the Recorder's traces at every integration step (CVODE records
    the initialisation and the re-initialisation at t0 twice: kept once)."""
    out = {"t": rec.t_ms(), **{r.variable: rec.trace(r.variable, r.where)[1]
                               for r in rec.recordings}}
    keep = np.ones(out["t"].size, bool)
    keep[1:] = np.diff(out["t"]) > 0
    return {k: a[keep] for k, a in out.items()}


class EnergyFailure(Protocol):
    name = "energy-failure"
    description = ("Na/K pump and ATP supply fail in a 20 um soma: times of Nai +10 %, NCX "
                   "reversal (at 3 E_Na - 2 E_Ca), Ca overload, depolarisation and ko rise, "
                   "and their order")
    Spec = EnergyFailureSpec
    preset = "energy-failure"

    def geometry(self, spec):
        from ..geometry import cylinder

        return cylinder(spec.diam_um, spec.diam_um, name="energy_failure")

    def measure(self, spec, session):
        from .. import calcium, mechanisms, simulate, thermo

        h = session.h
        cell = session.cell(spec)
        saved_nh = float(h.nh_pmca)  # the recipe's (set by session.cell)
        try:
            if spec.pmca_nh is not None:  # after the recipe, which sets its GLOBALs
                h.nh_pmca = spec.pmca_nh
            elif (h.nh_pmca > 0 and spec.dgatp_kj is not None
                  and "pmca" in cell.recipe.mechanisms()):  # the recipe's nh (presets: 2)
                raise mechanisms.ParameterError(
                    f"the recipe's PMCA takes up H+ (pmca nh = {h.nh_pmca:g}; the calibrated "
                    f"presets' is 2), which cannot be combined with dgatp_kj: {NH_DGATP_WHY}. "
                    "Give pmca_nh=0 with dgatp_kj, or leave dgatp_kj out")
            if spec.morphology is None and spec.kext and not cell.all[0].has_membrane("kext"):
                mechanisms.insert(cell.all[0], "kext")
            soma = cell.soma_center
            lacking = [m for m in ("nakpump", "nadyn", "ncx") if not soma.sec.has_membrane(m)]
            if calcium.owner(soma) is None:
                lacking.append("Ca owner (cadyn or cabuf)")
            if lacking:
                raise mechanisms.ParameterError(
                    f"the cell has no {lacking[0]} at the soma: the energy-failure protocol "
                    "needs the Na/K pump, nadyn, a Ca owner and ncx")
            h.CVode().active(0)
            cell.initialize()
            segments = [s for s in cell.segments("all") if s.sec.has_membrane("nakpump")]
            cell.start()
            rest = {k: getattr(soma, k) for k in ("v", "nai", "ki", "cli", "cai", "ko", "nao",
                                                   "cao")}
            rest.update(incx=soma.incx_ncx, ipump=soma.ipump_nakpump,
                        ipmca=getattr(soma, "ipmca_pmca", 0.0),
                        kext=bool(soma.sec.has_membrane("kext")))
            rest["E_NCX"] = float(thermo.ncx_reversal(rest["nai"], rest["nao"], rest["cai"],
                                                      rest["cao"], h.celsius))
            rest["celsius"] = float(h.celsius)
            out = {"rest": rest, "nh": float(h.nh_pmca), "runs": {},
                   "cell": {**cell.to_dict(), "kext": rest["kext"]}}
            # session.progress is not passed on: chunked CVODE runs record more steps
            for failure in session.conditions(
                    ("atp", "ouabain") if spec.compare_ouabain else ("atp",), CONDITION.get):
                try:
                    out["runs"][CONDITION[failure]] = _simulate(h, cell, segments, soma, spec,
                                                                failure)
                except simulate.SimulationError as err:
                    if out["runs"] and err.partial is not None:  # the completed runs too
                        import pandas as pd

                        err.partial = pd.concat([efa.tidy(out["runs"]), err.partial],
                                                ignore_index=True)
                    raise
            return out
        finally:
            h.nh_pmca = saved_nh

    def report(self, spec, data):
        a, rest = efa.analyse(spec, data), data["rest"]
        seen = [r["error_mV"] for found in a["reversals"].values() for r in found]
        found = [checks.within(
            "Vm at NCX reversal", max(seen, key=abs) if seen else math.nan, 0.0, NCX_TOL_MV,
            "mV", "physics: ncx.mod's exchange term vanishes at Vm = 3 E_Na - 2 E_Ca "
            "(thermo.ncx_reversal), so its current changes sign there: the largest Vm - E_NCX "
            "at every reversal, either direction, of every run (nan: none)",
            "each reversal is interpolated between the two integration steps that bracket it "
            "(at most maxstep_ms apart), which leaves about 1e-3 mV; 1 mV is far above that "
            "and far below the 7.6 mV by which a 10 % Nai rise moves 3 E_Na")]
        parameters = {"duration_s": spec.duration_s, "t0_s": spec.t0_s, "kext": rest["kext"],
                      "pmca_nh": data["nh"], "failure": a["failure"],
                      "thresholds": {"Nai_rise_rel": NAI_RISE, "Ca_overload_mM": CA_OVERLOAD_MM,
                                     "depolarisation_mV": DEPOL_MV, "ko_rise_mM": KO_RISE_MM,
                                     "depolarisation_rise_mV": DEPOL_RISE_MV}}
        grid = np.arange(0.0, spec.duration_s * 1e3 + 1e-9, RECORD_DT_MS)
        tables = {"events": efr.events_table(a["event_times"]),
                  "ncx_reversals": efr.reversals_table(a["reversals"])}
        order = (f"order obtained (energy failure): {' < '.join(a['observed']) or 'no event'}; "
                 "the literature reports Nai rise and depolarisation, then NCX reversal, then "
                 "Ca overload (table events; reported, not checked)")
        return Report(efa.rows(spec, data, a), efa.tidy(data["runs"], grid), tables=tables,
                      checks=found, warnings=a["warnings"] + [order], metadata={
                          "cells": {"cell": data["cell"]}, "parameters": parameters,
                          "rest": rest, "events": a["events"],
                          "ouabain_events": a["oevents"] or None,
                          "event_order_observed": a["observed"],
                          "event_order_literature": {"tiers": efr.LITERATURE_TIER,
                                                     "sources": efr.LITERATURE},
                          "ncx_reversals": a["reversals"],
                          "integration_steps": int(data["runs"]["energy_loss"]["t"].size)})

    def figure(self, spec, data, report):
        return efa.figure(spec, data, efa.analyse(spec, data))


PROTOCOL = EnergyFailure()
NAME, DESCRIPTION, run = PROTOCOL.name, PROTOCOL.description, PROTOCOL
