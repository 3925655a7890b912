"""Protocol ``na-leak``: doubling and tripling the NALCN Na leak: resting
potential, rheobase and f-I curve, and the compensation that restores rest.

The cell: the protocol's own 20 um soma compartment (preset ``na-k-cl-spiking``: the
Na/K/Cl system and nav, kdr at their mod-file defaults), a recipe applied to
it, or a morphology's cell. For each multiple of the Na leak permeability
pna: the resting steady state (concentrations re-equilibrated), the rheobase
of a 500 ms step (bisection) and the f-I curve at multiples of the 1x
rheobase; then the K leak (and pump) scaling that restores the 1x rest; then
the rest with Na, K and Cl clamped at their 1x values (owners removed, CVODE,
2 s). The model is in :mod:`ionhomeo.protocols.na_leak_parts`.

Checks: the clamped rest equals the GHK voltage equation (physics:
thermo.ghk_voltage, the other mechanisms' currents as extra current) within
0.1 mV at every multiple (the agreement is about 1e-3 mV in a compartment;
with a morphology the soma also exchanges axial current); the rheobase falls
strictly with the leak.

Derivations and discussion: docs/protocols/na-leak.md
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .. import checks
from ..experiment import Protocol, Report, Spec, param
from . import na_leak_parts as parts

#: the f-I curve: these multiples of the 1x rheobase
FI_MULTIPLES = (0.5, 1.0, 2.0, 3.0, 4.0)
CHECK_TOL_MV = 0.1


@dataclasses.dataclass(frozen=True)
class NaLeakSpec(Spec):
    multiples: tuple = param((1.0, 2.0, 3.0), "", "factors on pna, starting at 1, increasing")
    compensation_multiple: float | None = param(
        None, "", "the leak multiple compensated (None: the largest of multiples)", optional=True)
    fi_multiples: tuple = param(FI_MULTIPLES, "", "f-I currents, as multiples of the 1x rheobase")
    step_ms: float = param(500.0, "ms", "duration of the current steps", 0.0)
    delay_ms: float = param(20.0, "ms", "rest before each step", 0.0)
    tail_ms: float = param(20.0, "ms", "time after each step (spikes counted for the rheobase)",
                           0.0, inclusive=True)
    dt_ms: float = param(0.025, "ms", "fixed step of the current steps (Crank-Nicolson)", 0.0, 1.0)
    spike_threshold_mV: float = param(0.0, "mV", "a spike: the soma crosses this", -100.0, 100.0)
    rheobase_start_nA: float = param(0.01, "nA", "first current tried, doubled until a spike",
                                     0.0, 1e3)
    rheobase_rtol: float = param(5e-3, "", "bisection stops at (hi - lo) < this x hi", 0.0, 1.0)
    clamp_ms: float = param(2000.0, "ms", "CVODE run to the clamped-concentration rest", 0.0)
    k_scale_max: float = param(100.0, "", "K leak scalings searched: [1, this]", 1.0)
    pump_scale_max: float = param(100.0, "", "pump imax scalings searched: [1, this]", 1.0)
    soma_L_um: float = param(20.0, "um", "length of the own soma compartment", 0.0)
    soma_diam_um: float = param(20.0, "um", "diameter of the own soma compartment", 0.0)

    def __post_init__(self):
        super().__post_init__()
        from ..mechanisms import ParameterError

        m = self.multiples
        if len(m) < 2 or m[0] != 1.0 or any(b <= a for a, b in zip(m, m[1:])):
            raise ParameterError(f"multiples must start at 1 and increase, e.g. (1, 2, 3); got {m!r}")
        c = self.compensation_multiple
        if c is not None and (isinstance(c, bool) or not isinstance(c, (int, float))
                              or not (math.isfinite(c) and c > 1.0)):
            raise ParameterError(f"compensation_multiple must be > 1, got {c!r}")
        if c is not None:
            object.__setattr__(self, "compensation_multiple", float(c))


class NaLeak(Protocol):
    idealised = ("the GHK check holds in an isopotential compartment (the own soma) whose "
                 "resting current is the leaks' and the pump's (the protocol's own preset); in a "
                 "cell the soma also exchanges axial current and rests off its own GHK "
                 "potential, and channels open at rest (the calibrated presets' Na window "
                 "current near -55 mV) move it too")
    name = "na-leak"
    description = ("NALCN Na leak at 1x, 2x, 3x: resting potential, rheobase, f-I curve; K-leak or "
                   "pump compensation (default: a 20 um soma compartment)")
    Spec, preset = NaLeakSpec, "na-k-cl-spiking"

    def geometry(self, spec):
        from ..geometry import cylinder

        return cylinder(spec.soma_L_um, spec.soma_diam_um, name="na_leak_soma")

    def measure(self, spec, session):
        from .. import simulate

        leaks = parts.Leaks(session.cell(spec))
        stepper = session.keep(parts.Stepper(session.h, leaks, spec))
        full, rheo, states, fi_rows = {}, {}, {}, []
        for f in session.conditions(spec.multiples, lambda f: f"Na leak x{f:g}: rest, rheobase"):
            leaks.scale(naleak=f)
            full[f] = leaks.solve()
            states[f] = leaks.cell.state
            rheo[f] = stepper.rheobase()
        currents = [round(m * rheo[1.0][0], 6) for m in spec.fi_multiples]
        for f in spec.multiples:
            leaks.scale(naleak=f)
            leaks.cell.state = states[f]
            for m, amp in zip(spec.fi_multiples, currents):
                fi_rows.append((f, m, amp, *stepper.rate(amp)))
        comp_mult = spec.multiples[-1] if spec.compensation_multiple is None \
            else spec.compensation_multiple
        comp = parts.compensation(leaks, stepper, spec, comp_mult, full[1.0]["v"])
        # the check: concentrations clamped at their 1x resting values, no step
        stepper.stim.amp = 0.0
        leaks.scale()
        base = {m: float(getattr(leaks.soma, f"{p}_{m}"))  # the 1x densities at the soma
                for m, p in (("naleak", "pna"), ("kleak", "pk"), ("clleak", "pcl"),
                             ("nakpump", "imax"))}
        state1 = states[1.0]
        if leaks.cell.nseg > 1:  # a whole cell: its own initialisation handler back at 1x
            leaks.solve()
            state1 = leaks.cell.state
        leaks.clamp_concentrations()
        clamped = {}
        for f in spec.multiples:
            leaks.scale(naleak=f)
            leaks.start(state1)
            simulate.run(spec.clamp_ms, method="cvode")
            clamped[f] = parts.clamped_point(session.h, leaks)
        return {"full": full, "rheo": rheo, "fi_rows": fi_rows, "currents": currents,
                "comp_mult": comp_mult, "comp": comp, "clamped": clamped, "base": base,
                "area_um2": float(leaks.soma.area()), "cell": leaks.cell.to_dict()}

    def report(self, spec, d):
        import pandas as pd

        mult, full, clamped, rheo, comp = spec.multiples, d["full"], d["clamped"], d["rheo"], d["comp"]
        rb = [rheo[f][0] for f in mult]
        found = [checks.within(
            f"Vm clamped {f:g}x", clamped[f]["v"], clamped[f]["ghk"], CHECK_TOL_MV, "mV",
            "physics: GHK voltage equation (thermo.ghk_voltage) for the leak permeabilities and "
            "the clamped concentrations, the other mechanisms' membrane current as extra current",
            "after 2 s (about 100 membrane time constants) the relaxation error is < 1e-6 mV, "
            "CVODE resolves v to 1e-3 mV and the mod files' GHK currents use thermo's constants: "
            "about 1e-3 mV in a compartment; 0.1 mV is a tenth of the 1 mV scale of the shifts")
            for f in mult]
        found.append(checks.holds(
            "rheobase falls with the Na leak", all(b < a for a, b in zip(rb, rb[1:])),
            " > ".join(f"{x * 1e3:.4g}" for x in rb) + " pA",
            f"strictly decreasing over pna x {', '.join(f'{f:g}' for f in mult)}",
            "physics: a larger Na leak depolarises the rest towards the spike threshold",
            "an order, no tolerance; in a whole cell it need not hold (axial currents)"))
        warnings = []
        if not math.isfinite(comp["pump_scale"]):
            warnings.append(
                f"no pump scaling in [1, {spec.pump_scale_max:g}] restores the 1x rest: with "
                f"{spec.pump_scale_max:g}x imax rest is {comp['v_pump_max']:.2f} mV (target "
                f"{full[1.0]['v']:.2f}); at steady state the pump current equals a third of the "
                "Na influx, so more capacity only lowers Nai")
        if not math.isfinite(comp["k_scale"]):
            warnings.append(f"no K leak scaling in [1, {spec.k_scale_max:g}] restores the 1x rest")
        if any(x == 0.0 for x in rb):
            warnings.append("spontaneous firing at rest for some multiple: rheobase 0")
        rest = []
        for f in mult:
            for kind, r in (("full", full[f]), ("clamped", clamped[f])):
                for var, unit in (("v", "mV"), ("nai", "mM"), ("ki", "mM"), ("cli", "mM")):
                    rest.append((f, kind, var, float(r[var]), unit))
            rest += [(f, "clamped", "ghk", clamped[f]["ghk"], "mV"),
                     (f, "clamped", "ghk_pump_only", clamped[f]["ghk_pump_only"], "mV"),
                     (f, "full", "rheobase", rheo[f][0], "nA")]
        tables = {"rest": pd.DataFrame(rest, columns=["na_leak_multiple", "concentrations",
                                                      "variable", "value", "unit"]),
                  "compensation": pd.DataFrame(comp["rows"],
                                               columns=["scaled", "scale", "v_mV", "nai_mM"])}
        fi = pd.DataFrame(d["fi_rows"], columns=["na_leak_multiple", "rheobase_1x_multiple",
                                                 "I_nA", "spikes", "rate_Hz"])
        meta = {"cells": {"cell": d["cell"]},
                "parameters": {"compensation_multiple": d["comp_mult"], "secondorder": 2,
                               "clamp_method": "cvode", "fi_currents_nA": d["currents"],
                               "base_densities_soma": d["base"], "soma_area_um2": d["area_um2"],
                               "trials": {f"{f:g}x": rheo[f][2] for f in mult}},
                "rheobase_nA": {f"{f:g}x": rheo[f][0] for f in mult},
                "clamped_currents": {f"{f:g}x": {"i_other_mA_per_cm2": clamped[f]["i_other"],
                                                 **{f"i_{k}_mA_per_cm2": v for k, v
                                                    in clamped[f]["components"].items()}}
                                     for f in mult}}
        return Report(_rows(spec, d), fi, tables=tables, checks=found, metadata=meta,
                      warnings=warnings)

    def figure(self, spec, d, report):
        from .na_leak_figure import draw

        return draw(self.name, spec, d, report)


def _rows(spec, d):
    """The summary rows (quantity, value, unit, description)."""
    mult, full, clamped, rheo, comp = spec.multiples, d["full"], d["clamped"], d["rheo"], d["comp"]
    rows = []
    for f in mult:
        tag = f"{f:g}x"
        rows += [
            (f"Vm {tag}", full[f]["v"], "mV",
             f"resting potential, pna x{f:g}, concentrations re-equilibrated (K held)"),
            (f"Nai {tag}", full[f]["nai"], "mM", "resting Na"),
            (f"Cli {tag}", full[f]["cli"], "mM", "resting Cl"),
            (f"I_pump {tag}", full[f]["ipump"] * 1e3, "uA/cm2", "resting pump current (soma)"),
            (f"rheobase {tag}", rheo[f][0] * 1e3, "pA",
             f"smallest {spec.step_ms:g} ms step giving a spike (bisection to "
             f"{spec.rheobase_rtol:g})")]
    for f in mult[1:]:
        tag = f"{f:g}x"
        rows += [
            (f"shift full {tag}", full[f]["v"] - full[1.0]["v"], "mV",
             "full-model resting shift from 1x (concentrations re-equilibrated)"),
            (f"shift clamped {tag}", clamped[f]["v"] - clamped[1.0]["v"], "mV",
             "simulated shift from 1x with Na, K, Cl clamped at their 1x rest"),
            (f"shift GHK {tag}", clamped[f]["ghk"] - clamped[1.0]["ghk"], "mV",
             "thermo.ghk_voltage shift for the same permeabilities and concentrations")]
    for f in mult:
        tag = f"{f:g}x"
        rows += [
            (f"Vm clamped {tag}", clamped[f]["v"], "mV",
             "simulated rest, concentrations clamped at the 1x rest"),
            (f"Vm GHK {tag}", clamped[f]["ghk"], "mV",
             "thermo.ghk_voltage: leak permeabilities, pump and other currents as extra"),
            (f"GHK error {tag}", clamped[f]["v"] - clamped[f]["ghk"], "mV", "simulated - GHK"),
            (f"Vm GHK pump only {tag}", clamped[f]["ghk_pump_only"], "mV",
             "thermo.ghk_voltage with the pump current alone as extra current"),
            (f"window shift {tag}", clamped[f]["v"] - clamped[f]["ghk_pump_only"], "mV",
             "simulated - GHK(pump only): other currents (nav/kdr window currents; in a "
             "cell also Ca transport and axial current)")]
    rows += [
        ("GHK error max", max(abs(clamped[f]["v"] - clamped[f]["ghk"]) for f in mult), "mV",
         "largest |simulated - GHK| with clamped concentrations"),
        ("compensation multiple", d["comp_mult"], "1", "Na leak multiple compensated"),
        ("target Vm", full[1.0]["v"], "mV", "the 1x resting potential to restore"),
        ("kleak scale", comp["k_scale"], "1", f"pk factor restoring the 1x rest at "
         f"{d['comp_mult']:g}x Na leak (nan: none in [1, {spec.k_scale_max:g}])")]
    if comp["comp_k"] is not None:
        rows += [("Vm kleak compensated", comp["comp_k"]["v"], "mV", "resting potential with that pk"),
                 ("Nai kleak compensated", comp["comp_k"]["nai"], "mM", "resting Na with that pk"),
                 ("rheobase kleak compensated", comp["comp_k"]["rheobase"] * 1e3, "pA",
                  "rheobase with that pk")]
    rows += [("pump scale", comp["pump_scale"], "1", f"pump imax factor restoring the 1x rest "
              f"(nan: none in [1, {spec.pump_scale_max:g}])"),
             (f"Vm pump x{spec.pump_scale_max:g}", comp["v_pump_max"], "mV",
              f"resting potential at {d['comp_mult']:g}x Na leak with {spec.pump_scale_max:g}x "
              "pump imax")]
    if comp["comp_p"] is not None:
        rows += [("Vm pump compensated", comp["comp_p"]["v"], "mV", "resting potential with that imax")]
    return rows


PROTOCOL = NaLeak()
NAME, DESCRIPTION, run = PROTOCOL.name, PROTOCOL.description, PROTOCOL
