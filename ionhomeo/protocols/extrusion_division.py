"""Protocol ``extrusion-division``: how PMCA and NCX share Ca extrusion, and
when the exchanger reverses.

The site is one segment with the Ca and the Na/K systems: the protocol's own
20 um soma (preset ``extrusion-division``, started at the default
concentrations and ``v_mV``, where its PMCA, NCX and Ca leak balance), or,
with a recipe or a morphology, the soma centre of that cell at its resting
state. Part A: the Ca currents of PMCA and NCX at clamped v and Ca (the
PMCA's calmodulin state acute and sustained), the NCX share and the Ca at
which both extrude equally. Part B: the clamped v at which the NCX Ca current
changes sign, at each Nai. Part C: a voltage-clamp ramp to ``depol_mV`` and
back (fixed step), the NCX current against E_NCX(t). The measurements are in
:mod:`ionhomeo.protocols.extrusion_division_parts`.

Check: E_NCX at each Nai equals 3 E_Na - 2 E_Ca (physics:
thermo.ncx_reversal) within 1 mV; ncx.mod's exchange term vanishes exactly
there and thermo uses NEURON's R and F, so the difference is round-off
(about 1e-13 mV).

Derivations and discussion: docs/protocols/extrusion-division.md
"""

from __future__ import annotations

import dataclasses
import math
import types

import numpy as np

from .. import _interrupt, checks
from ..experiment import Protocol, Report, Spec, param
from . import extrusion_division_parts as parts
from .extrusion_division_parts import REPORT_CAI_UM, SIGN_BAND_MV

CAI_UM = tuple(float(x) for x in np.geomspace(0.1, 10.0, 41))
NAI_MM = (8.0, 12.0, 20.0, 40.0)
#: THE CHECK: |E_NCX(simulated) - (3 E_Na - 2 E_Ca)| within this (mV)
TOLERANCE_MV = 1.0
#: interval (ms) of the depolarisation CSV
CSV_DT_MS = 1.0
MODES = ("sustained", "acute")


@dataclasses.dataclass(frozen=True)
class ExtrusionSpec(Spec):
    v_mV: float = param(-70.0, "mV", "Part A: clamped membrane potential", -250.0, 250.0)
    cai_uM: tuple = param(CAI_UM, "uM", "Part A: clamped free Ca values", 0.0)
    nai_mM: tuple = param(NAI_MM, "mM", "Part B: intracellular Na values", 0.0)
    depol_mV: float = param(0.0, "mV", "Part C: the depolarised command", -250.0, 250.0)
    depol_ms: float = param(2000.0, "ms", "Part C: time at depol_mV", 0.0)
    ramp_ms: float = param(50.0, "ms", "Part C: duration of each ramp", 0.0)
    after_ms: float = param(1000.0, "ms", "Part C: time at rest after the ramp back", 0.0)
    pre_ms: float = param(50.0, "ms", "Part C: time at rest before the ramp", 0.0)
    dt_ms: float = param(0.025, "ms", "Part C: fixed step (Crank-Nicolson)", 0.0, 1.0)
    rs_MOhm: float = param(1e-3, "MOhm", "Part C: series resistance of the clamp", 0.0)
    soma_L_um: float = param(20.0, "um", "length of the own soma compartment", 0.0)
    soma_diam_um: float = param(20.0, "um", "diameter of the own soma compartment", 0.0)

    def __post_init__(self):
        super().__post_init__()
        from ..mechanisms import ParameterError

        if not (self.cai_uM and self.nai_mM):
            raise ParameterError(f"{'nai_mM' if self.cai_uM else 'cai_uM'} must not be empty")


def _rows(spec, d):
    """The summary rows (quantity, value, unit, description)."""
    c, rest = d["c"], d["rest"]
    rows = [("v_A", spec.v_mV, "mV", "Part A: clamped membrane potential"),
            ("Nai_A", rest["nai"], "mM", "Part A: intracellular Na at the site")]
    for cai in REPORT_CAI_UM:
        for mode in MODES:
            a, where = d["at"][(mode, cai)], f"Cai {cai:g} uM, calmodulin {mode}"
            rows += [(f"I_PMCA {cai:g} uM {mode}", a["I_PMCA"], "uA/cm2",
                      f"PMCA Ca current (extrusion > 0), {where}"),
                     (f"I_NCX {cai:g} uM {mode}", a["I_NCX"], "uA/cm2",
                      f"NCX Ca current -2 incx (extrusion > 0), Cai {cai:g} uM"),
                     (f"share_NCX {cai:g} uM {mode}", a["share_NCX"], "1",
                      f"NCX share of extrusion I_NCX/(I_PMCA + I_NCX), {where}")]
    rows += [(f"Cai_equal_share {mode}", d["equal"][mode], "uM",
              f"Cai at which NCX and PMCA extrude equally (calmodulin {mode})") for mode in MODES]
    rows.append(("Cai_B", rest["cai"] * 1e3, "uM", "Part B: Cai held while Nai and v are varied"))
    for r in d["reversal"].itertuples():
        rows += [(f"E_NCX {r.nai_mM:g} mM simulated", r.E_NCX_simulated_mV, "mV",
                  f"obtained: clamped v where the NCX Ca current changes sign, Nai {r.nai_mM:g} mM"),
                 (f"E_NCX {r.nai_mM:g} mM expected", r.E_NCX_thermo_mV, "mV",
                  f"expected: 3 E_Na - 2 E_Ca (thermo.ncx_reversal), Nai {r.nai_mM:g} mM"),
                 (f"E_NCX {r.nai_mM:g} mM error", r.error_mV, "mV", "simulated - expected")]
    errors = d["reversal"]["error_mV"].to_numpy()
    max_err = float(np.max(np.abs(errors))) if np.all(np.isfinite(errors)) else math.nan
    rows += [
        ("max_abs_error", max_err, "mV", "largest |simulated - expected| over Nai = "
         + ", ".join(f"{x:g}" for x in spec.nai_mM) + " mM"),
        ("E_NCX_rest_C", c["E_rest"], "mV", "Part C: E_NCX at the holding potential, start"),
        ("I_NCX_rest_C", c["I_rest"], "uA/cm2", "Part C: NCX Ca current at the start"),
        ("I_NCX_depol_min", c["I_depol_min"], "uA/cm2",
         f"Part C: most negative NCX Ca current at {spec.depol_mV:g} mV (< 0: reverse mode)"),
        ("E_NCX_end_depol", c["E_end_depol"], "mV", "Part C: E_NCX at the end of the depolarisation"),
        ("Cai_peak_C", c["cai_peak"] * 1e3, "uM", "Part C: peak free Ca"),
        ("NCX_sign_changes", c["n_current_changes"], "1", "Part C: sign changes of the NCX Ca current"),
        ("v_E_crossings", c["n_v_crossings"], "1", "Part C: crossings of v and E_NCX")]
    for k, p in enumerate(c["pairs"], 1):
        rows += [(f"t_switch_{k}", p["t_current_ms"], "ms",
                  f"Part C: NCX Ca current changes sign, to {p['to']}"),
                 (f"v_switch_{k}", p["v_mV"], "mV", "Part C: v at that moment"),
                 (f"E_switch_{k}", p["E_NCX_mV"], "mV", "Part C: E_NCX at that moment"),
                 (f"offset_switch_{k}", p["offset_ms"], "ms",
                  "Part C: sign change minus the nearest crossing of v and E_NCX")]
    rows.append(("sign_agreement", c["agreement"], "1",
                 f"Part C: fraction of time points (|v - E_NCX| > {SIGN_BAND_MV:g} mV) where the "
                 "NCX Ca current has the sign of E_NCX - v"))
    return rows


class ExtrusionDivision(Protocol):
    name = "extrusion-division"
    description = ("PMCA versus NCX share of Ca extrusion over 0.1-10 uM Ca, the NCX reversal "
                   "potential against 3 E_Na - 2 E_Ca at several Nai, and NCX reversal during a "
                   "depolarisation")
    Spec, preset = ExtrusionSpec, "extrusion-division"

    def geometry(self, spec):
        from ..geometry import cylinder

        return cylinder(spec.soma_L_um, spec.soma_diam_um, name="extrusion_soma")

    def measure(self, spec, session):
        h, cell = session.h, session.cell(spec)
        site = types.SimpleNamespace(seg=cell.soma_center, init_cai=None)
        parts.check_site(site.seg, f"the soma centre of {cell!r}")
        own = spec.morphology is None and spec.recipe is None
        if not own:  # a recipe's or a morphology's cell: from its resting state
            cell.initialize()
        v_init = spec.v_mV if own else float(site.seg.v)
        h.finitialize(v_init)
        seg = site.seg
        rest = {"v": float(seg.v), "nai": float(seg.nai), "cai": float(seg.cai),
                "nao": float(seg.nao), "cao": float(seg.cao), "celsius": float(h.celsius)}

        def set_cai():  # a type-0 handler after every other one: the sustained Cai
            if site.init_cai is not None:
                site.seg.cai = site.init_cai

        handlers = [h.FInitializeHandler(0, _interrupt.neuron_callback(set_cai))]
        try:
            table_a, at, equal = parts.part_a(h, site, spec.cai_uM, spec.v_mV, v_init)
            reversal, iv = parts.part_b(h, site, spec.nai_mM, rest["cai"],
                                        session.defaults.celsius)
        finally:
            handlers.clear()
            site.seg = None
        h.finitialize(v_init)
        data_c = parts.part_c(h, seg, spec, v_init, session.progress)
        where = {"kind": "own compartment", "start": "ionhomeo default concentrations at v_mV"} \
            if own else {"kind": "soma centre of a cell at its resting state", "segment": str(seg)}
        c = parts.analyse_c(data_c, session.defaults.celsius)
        return {"table_a": table_a, "at": at, "equal": equal, "reversal": reversal, "iv": iv,
                "c": c, "rest": rest, "hold_mV": v_init, "schedule_ms": data_c["schedule_ms"],
                "command_mV": data_c["command_mV"],
                "site": {**where, "cell": cell.to_dict()}}

    def report(self, spec, d):
        c, low = d["c"], d["at"][("sustained", REPORT_CAI_UM[0])]
        found = [checks.within(
            f"E_NCX {r.nai_mM:g} mM", r.E_NCX_simulated_mV, r.E_NCX_thermo_mV, TOLERANCE_MV, "mV",
            "physics: 3 E_Na - 2 E_Ca (thermo.ncx_reversal)",
            "ncx.mod's exchange term vanishes exactly there and thermo uses NEURON's R and F: "
            "the difference is round-off (about 1e-13 mV); 1 mV is the issue's criterion")
            for r in d["reversal"].itertuples()]
        warnings = [f"NCX and PMCA do not extrude equally anywhere in {min(spec.cai_uM):g}-"
                    f"{max(spec.cai_uM):g} uM ({mode})" for mode in MODES
                    if math.isnan(d["equal"][mode])]
        if low["I_NCX"] < 0:
            warnings.append(f"at {REPORT_CAI_UM[0]:g} uM and {spec.v_mV:g} mV the NCX runs in "
                            f"reverse (Ca in): E_NCX lies below {spec.v_mV:g} mV at Nai "
                            f"{d['rest']['nai']:.3g} mM")
        if c["n_current_changes"] == 0:
            warnings.append("Part C: the NCX Ca current never changed sign")
        if not c["agreement"] == 1.0:
            warnings.append(f"Part C: NCX sign agrees with E_NCX - v at a fraction "
                            f"{c['agreement']!r} of the time points only")
        meta = {"cells": {"site": d["site"]}, "rest": d["rest"],
                "parameters": {"hold_mV": d["hold_mV"], "schedule_ms": d["schedule_ms"],
                               "command_mV": d["command_mV"], "secondorder": 2,
                               "report_cai_uM": list(REPORT_CAI_UM),
                               "bracket_mV": list(parts.BRACKET_MV), "brentq_xtol_mV": 1e-12,
                               "sign_band_mV": SIGN_BAND_MV},
                "reversal": d["reversal"].to_dict(orient="records"),
                "extrusion_at": {f"{mode} {cai:g} uM": v for (mode, cai), v in d["at"].items()},
                "equal_share_cai_uM": d["equal"],
                "depolarisation": {"switches": c["pairs"], "sign_agreement": c["agreement"]}}
        tables = {"reversal": d["reversal"], "iv": d["iv"],
                  "depolarisation": parts.timecourse_c(c, spec.dt_ms, CSV_DT_MS)}
        return Report(_rows(spec, d), d["table_a"], tables=tables, checks=found, metadata=meta,
                      warnings=warnings)

    def figure(self, spec, d, report):
        from .extrusion_division_figure import draw

        return draw(self.name, spec, d)


PROTOCOL = ExtrusionDivision()
NAME, DESCRIPTION, run = PROTOCOL.name, PROTOCOL.description, PROTOCOL
