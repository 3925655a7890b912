"""Protocol ``er-release``: Ca release from the ER by IP3 and by Ca (CICR through
ryanodine receptors), SERCA refilling, and the Ca at which mitochondrial uptake
(MCU) overtakes SERCA. Simulations: :mod:`.er_release_parts`.

A: IP3 in a closed thin dendrite (preset ``er-release-ip3``): release, refilling.
B: Ca loads, RyR on and blocked, in a clamped dendrite with the plasma-membrane
Ca system (``er-release-cicr``): all-or-none threshold, trigger Ca. C: SERCA and
MCU at clamped Ca, empty pools (``er-release-uptake``): where their uptake is
equal. With a ``morphology`` or a ``recipe``, A and B run at the soma centre of
that cell at rest (recipe default "mature") with the ER mechanisms added.

Checks (C, Hill 2 and 1): the crossover is that of the Hill laws with the
mechanisms' vmax and km (physics: thermo.hill_crossover) to 1e-6 relative.
Derivations and discussion: docs/protocols/er-release.md
"""

from __future__ import annotations

import dataclasses
import math

from . import er_release_parts as parts
from .. import checks
from ..experiment import Protocol, Report, Spec, param
from ..geometry import cylinder
from ..mechanisms import ParameterError
from .er_release_parts import EMPTY_POOL_MM, HILL, LOADS_UM, THRESHOLD_RTOL

TOLERANCE_REL = 1e-6
#: Parts A and B in a cell: the mechanisms added to its soma
ADDED = {"ip3": ("er", "serca", "erleak", "ip3r"), "cicr": ("er", "serca", "erleak", "ryr")}
SOURCE = ("physics: crossover of the Hill laws with the mechanisms' vmax and km (thermo."
          "hill_crossover; Hill 1: Michaelis-Menten (V_E K_M - V_M K_E)/(V_M - V_E))")
WHY = ("pools at 1e-12 mM: SERCA's thermodynamic factor is 1 to double precision, MCU's 1 - "
       "1e-15, its drive factor 1, so the fluxes are the Hill laws to round-off and brentq stops "
       "at rtol 1e-12 (error about 1e-12); 1e-6 would hold with pools up to 1e-6 mM")


@dataclasses.dataclass(frozen=True)
class ErReleaseSpec(Spec):
    morphology: object = param(None, doc="a cell for Parts A and B (None: own compartments)")
    recipe: object = param(None, doc="its recipe (default mature), or one for the own dendrite")
    ip3_uM: float = param(10.0, "uM", "Part A: IP3 step (saturating: d1 = 0.13 uM)", 0.0)
    ip3_start_s: float = param(2.0, "s", "Part A: onset of the IP3 step", 0.0)
    ip3_s: float = param(5.0, "s", "Part A: duration of the IP3 step", 0.0)
    duration_s: float = param(20.0, "s", "Part A: simulated time (refilling after IP3)", 0.0)
    loads_uM: tuple = param(LOADS_UM, "uM", "Part B: total Ca loads per cytosolic volume", 0.0)
    load_ms: float = param(10.0, "ms", "Part B: duration of each load", 0.0)
    load_start_ms: float = param(100.0, "ms", "Part B: onset of each load", 0.0)
    cicr_s: float = param(5.0, "s", "Part B: duration of each run", 0.0)
    trigger_fraction: float = param(0.5, "", "Part B: triggered: ER Ca < this x rest", 0, 1)
    threshold_rtol: float = param(THRESHOLD_RTOL, "", "Part B: bisection to this width", 0, 1)
    hold_mV: float = param(-70.0, "mV", "own compartments: holding potential", -200.0, 100.0)
    dend_length_um: float = param(10.0, "um", "Parts A and B: length of the dendrite", 0.0)
    dend_diam_um: float = param(2.0, "um", "Parts A and B: diameter of the dendrite", 0.0)
    uptake_length_um: float = param(10.0, "um", "Part C: length of its compartment", 0.0)
    uptake_diam_um: float = param(10.0, "um", "Part C: diameter of its compartment", 0.0)

    def __post_init__(self):
        super().__post_init__()
        if not self.loads_uM:
            raise ParameterError("loads_uM must give at least one load (uM)")
        if self.duration_s <= self.ip3_start_s + self.ip3_s:
            raise ParameterError(
                f"duration_s = {self.duration_s:g} s must exceed ip3_start_s + ip3_s = "
                f"{self.ip3_start_s + self.ip3_s:g} s (the refilling is measured after IP3 ends)")
        if self.cicr_s * 1e3 <= self.load_start_ms + self.load_ms:
            raise ParameterError(f"cicr_s = {self.cicr_s:g} s must exceed the end of the load "
                                 f"({(self.load_start_ms + self.load_ms) / 1e3:g} s)")


def _rows(spec, data):
    """The summary rows (quantity, value, unit, description)."""
    (_, cons_a), a, b, (_, cross) = data["A"], data["a"], data["B"], data["C"]
    rows = [
        ("IP3", spec.ip3_uM, "uM", f"Part A: IP3 step from {spec.ip3_start_s:g} s for "
                                   f"{spec.ip3_s:g} s"),
        ("ER_base", a["ER_base"], "mM", "Part A: free ER Ca before IP3"),
        ("Cai_base", a["Cai_base"] * 1e3, "uM", "Part A: free cytosolic Ca before IP3"),
        ("ER_min", a["ER_min"], "mM", "Part A: lowest free ER Ca during IP3"),
        ("ER_released", a["released"], "1", "Part A: fraction of free ER Ca released"),
        ("Cai_peak_A", a["Cai_peak"] * 1e3, "uM", "Part A: peak free cytosolic Ca during IP3"),
        ("t_Cai_peak_A", a["t_Cai_peak"] / 1e3, "s", "Part A: time of that peak after IP3 onset"),
        ("J_IP3R_peak", a["J_ip3r_peak"] * 1e6, "uM/s",
         "Part A: peak IP3R release (per cytosolic volume)"),
        ("J_SERCA_peak", a["J_serca_peak"] * 1e6, "uM/s", "Part A: peak SERCA uptake"),
        ("ER_deficit_at_IP3_end", a["deficit_at_off"], "mM",
         "Part A: ER Ca missing when IP3 is removed"),
        ("t50_refill", a["t50"] / 1e3, "s", "Part A: SERCA refills half of that deficit in"),
        ("t90_refill", a["t90"] / 1e3, "s", "Part A: and 90 % of it in"),
        ("ER_refilled_end", a["refilled_end"], "1",
         f"Part A: fraction of the deficit refilled at {spec.duration_s:g} s"),
        ("Cai_end_A", a["Cai_end"] * 1e3, "uM", "Part A: free cytosolic Ca at the end"),
        ("conservation_A", cons_a, "1",
         "Part A: |change of total Ca| / total Ca (closed compartment)"),
        *[(f"Cai_rest_B {k}", v["cai_mM"] * 1e3, "uM", f"Part B: resting free Ca of the "
           f"compartment ({k}; ER and plasma-membrane fluxes balanced)")
          for k, v in b["rest"].items()],
        *[(f"ER_rest_B {k}", v["caeri_mM"], "mM", f"Part B: resting free ER Ca ({k})")
          for k, v in b["rest"].items()],
        ("CICR_threshold", b["threshold_uM"], "uM",
         f"Part B: smallest total Ca load ({spec.load_ms:g} ms) that triggers RyR release (ER "
         f"free Ca < {spec.trigger_fraction:g} of rest within {spec.cicr_s:g} s), to "
         f"{spec.threshold_rtol:.0%}"),
        ("Cai_trigger", b["trigger_Cai_uM"], "uM",
         "Part B: peak free Ca that the threshold load gives with the RyR blocked"),
    ]
    example, table = b["smallest_triggered_uM"], b["table"]
    if math.isfinite(example):
        on = table[table["ryr"] == "on"].set_index("load_uM").loc[example]
        off = table[table["ryr"] == "blocked"].set_index("load_uM").loc[example]
        rows += [
            ("load_example", example, "uM",
             "Part B: smallest load of the sweep that triggers CICR"),
            ("Cai_peak_RyR", on["Cai_peak_uM"], "uM",
             "Part B: peak free Ca at that load, RyR on"),
            ("Cai_peak_blocked", off["Cai_peak_uM"], "uM",
             "Part B: the same with the RyR blocked"),
            ("CICR_amplification", on["Cai_peak_uM"] / off["Cai_peak_uM"], "1",
             "Part B: peak ratio RyR on / blocked"),
            ("t_peak_RyR", on["t_peak_ms"], "ms",
             "Part B: time of the peak after the load starts, RyR on"),
            ("ER_released_RyR", on["ER_released"], "1",
             "Part B: fraction of free ER Ca released, RyR on"),
        ]
    cons_b = float(table["conservation_rel"].max()) if data["cells"]["B"]["closed"] else math.nan
    rows.append(("conservation_B", cons_b, "1", "Part B: largest |change of total Ca - Ca that "
                 "entered| / entered over all runs"))
    for nh in HILL:
        c, label = cross[nh], "Michaelis-Menten (Hill 1)" if nh == 1.0 else f"Hill {nh:g}"
        rows += [
            (f"crossover Hill {nh:g} simulated", c["simulated_mM"] * 1e3, "uM",
             f"obtained: cai where the simulated MCU and SERCA uptake are equal, {label}"),
            (f"crossover Hill {nh:g} formula", c["formula_mM"] * 1e3, "uM",
             f"expected: thermo.hill_crossover with the mechanisms' vmax, km, n = {nh:g}"),
            (f"crossover Hill {nh:g} rel_error", c["rel_error"], "1",
             "|simulated - formula| / formula"),
            (f"J at crossover Hill {nh:g}", c["J_at_crossover_uM_s"], "uM/s",
             "uptake of each transporter at the crossover"),
            (f"flux deviation Hill {nh:g}", c["max_rel_dev_from_hill"], "1", "largest relative "
             "deviation of the simulated fluxes from the Hill laws, 0.01-100 uM"),
        ]
        if nh == 1.0:
            rows.append(("crossover Michaelis-Menten formula", c["michaelis_menten_mM"] * 1e3,
                         "uM", "(V_E K_M - V_M K_E)/(V_M - V_E), the reference table's formula"))
    return rows + [("max_rel_error", max(cross[nh]["rel_error"] for nh in HILL), "1",
                    "largest relative crossover error over Hill 2 and Hill 1")]


class ErRelease(Protocol):
    name = "er-release"
    description = ("IP3-evoked and Ca-induced (RyR) release from the ER, SERCA refilling, and "
                   "the SERCA-versus-MCU uptake crossover against the Hill/Michaelis-Menten "
                   "formula")
    Spec = ErReleaseSpec
    preset = "er-release-ip3"

    def geometry(self, spec):
        return cylinder(spec.dend_length_um, spec.dend_diam_um, name="er_release_dendrite")

    def _site(self, spec, session, part):
        """Part A (ip3) or B (cicr): the own closed dendrite with the part's preset, or the
        soma centre of a cell at rest, the ER mechanisms added (a recipe's own are kept)."""
        from .. import recipe as recipe_mod

        if spec.morphology is None and spec.recipe is None:
            cell = session.cell(spec, preset=f"er-release-{part}")
            v, closed, kind = spec.hold_mV, True, "own compartment"
        else:
            rec = recipe_mod.resolve(spec.recipe, default="mature")
            for mech in ADDED[part]:
                rec = rec.add("soma", mech, note=f"added by the {self.name} protocol")
            cell = session.cell(spec, recipe=rec)
            cell.initialize()
            v, closed, kind = float(cell.soma_center.v), False, "soma centre of a cell at rest"
        soma = cell.segments("soma")
        return {"cell": cell, "seg": cell.soma_center, "soma": soma, "sections": cell.all,
                "ryr": [s for s in soma if s.sec.has_membrane("ryr")], "closed": closed,
                "v": v, "kind": kind}

    def measure(self, spec, session):
        h, data = session.h, {"cells": {}}
        for key, part in session.conditions(
                (("A", "ip3"), ("B", "cicr")),
                lambda p: {"ip3": "part A, IP3 release", "cicr": "part B, CICR"}[p[1]]):
            site = self._site(spec, session, part)
            try:
                data[key] = getattr(parts, part)(h, site, spec)
                data["cells"][key] = {"kind": site["kind"], "segment": str(site["seg"]),
                                      "closed": site["closed"], "v_mV": site["v"],
                                      "cell": site["cell"].to_dict()}
            finally:
                cell = site["cell"]  # every reference to its sections goes (scipy's cycles
                site.clear()         # reach them through site): else CVODE would integrate
                cell.destroy()       # them in the next part
        geometry = cylinder(spec.uptake_length_um, spec.uptake_diam_um, name="er_release_uptake")
        cell = session.cell(geometry=geometry, preset="er-release-uptake")
        site = {"seg": cell.soma_center}
        data["C"] = parts.crossover(h, site, spec.hold_mV)
        site.clear()
        data["cells"]["C"] = {"kind": "own compartment (clamped cai, empty pools)",
                              "pool_mM": EMPTY_POOL_MM, "cell": cell.to_dict()}
        data["a"] = parts.analyse_ip3(data["A"][0], spec.ip3_start_s * 1e3,
                                      (spec.ip3_start_s + spec.ip3_s) * 1e3)
        return data

    def report(self, spec, data):
        a, b, cross = data["a"], data["B"], data["C"][1]
        found = [checks.relative(f"crossover Hill {nh:g}", cross[nh]["simulated_mM"] * 1e3,
                                 cross[nh]["formula_mM"] * 1e3, TOLERANCE_REL, "uM", SOURCE, WHY)
                 for nh in HILL]
        warnings = []
        if not a["released"] > 0.1:
            warnings.append(f"Part A: IP3 released only {a['released']:.1%} of the free ER Ca")
        if not a["t90"] == a["t90"]:
            warnings.append(f"Part A: the ER did not refill 90 % of its deficit within "
                            f"{spec.duration_s:g} s")
        on, off = (b["table"][b["table"]["ryr"] == ryr] for ryr in ("on", "blocked"))
        if math.isnan(b["threshold_uM"]):
            warnings.append(f"Part B: no CICR threshold within the loads "
                            f"{sorted(set(spec.loads_uM))} uM (triggered: "
                            f"{list(on.loc[on['triggered'], 'load_uM'])})")
        warnings += [f"Part B: resting state ({k}) not found: residual "
                     f"{v['residual_mA_cm2']:.3g} mA/cm2"
                     for k, v in b["rest"].items() if not v["residual_mA_cm2"] < 1e-12]
        if off["triggered"].any():
            warnings.append("Part B: the ER emptied with the RyR blocked")
        timecourse, tc_b = parts.timecourses(data["A"][0], b["traces"])
        tables = {"cicr": b["table"], "cicr_timecourse": tc_b, "crossover": data["C"][0]}
        cicr = {k: v for k, v in b.items() if k not in ("bisection", "table", "traces")}
        return Report(_rows(spec, data), timecourse, tables, found, warnings=warnings, metadata={
            "cells": data["cells"], "ip3_release": a, "cicr": cicr,
            "cicr_bisection": b["bisection"],
            "crossover": {f"Hill {nh:g}": c for nh, c in cross.items()},
            "parameters": parts.PARAMETERS})

    def figure(self, spec, data, report):
        from .er_release_figure import draw

        return draw(self.name, spec, data)


PROTOCOL = ErRelease()
NAME, DESCRIPTION, run = PROTOCOL.name, PROTOCOL.description, PROTOCOL
