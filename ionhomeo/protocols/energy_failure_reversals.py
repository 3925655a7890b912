"""Every NCX reversal of an ``energy-failure`` run and what moved Vm across E_NCX
there, and the events beside the order the literature reports
(:mod:`ionhomeo.protocols.energy_failure`). Derivations:
docs/protocols/energy-failure.md.
"""

from __future__ import annotations

import math

import numpy as np

#: the order of the cascade the experimental literature reports, as tiers (events of
#: one tier are not ordered among themselves); reported beside the events, never
#: asserted: Na/K pump failure -> Nai rise and depolarisation (with K leaving the
#: cells) -> NCX reversal -> Ca overload
LITERATURE_TIER = {"Nai_rise": 1, "depolarisation": 1, "K_accumulation": 1, "NCX_reversal": 2,
                   "Ca_overload": 3}
LITERATURE = (
    "pump failure, then Nai rise and depolarisation, then NCX reversal, then Ca overload: "
    "Stys, Waxman & Ransom 1992 (J Neurosci 12:430), Ca entry in anoxic white matter by "
    "reversed Na/Ca exchange, driven by the Na that enters and the depolarisation; "
    "Hewitt, Stys & Lesiuk 2001 (Brain Res 898:281), the same sequence in its abstract; "
    "Hansen & Nedergaard 1988 (Neurochem Pathol 9:195), in ischaemic brain ion "
    "concentrations stay near normal for seconds, then extracellular K rises and Na, Cl "
    "and Ca fall within a few minutes")
#: what moved Vm across E_NCX between two reversals (or rest and the first)
SHARE_NAMES = ("dVm_mV", "d3ENa_mV", "dm2ECa_mV")


def reversals(data, rest, t0_ms, celsius) -> list:
    """Every sign change of the NCX current after t0 (either direction), each
    interpolated between the two integration steps that bracket it: its time (s
    after t0), direction, Vm, E_NCX = 3 E_Na - 2 E_Ca, their difference, and the
    change since rest (the first) or the previous reversal of Vm, of 3 E_Na and of
    -2 E_Ca (their shares of the move of Vm - E_NCX)."""
    from .. import thermo

    t, incx = data["t"], data["incx_ncx"]
    outward = incx > 0  # reverse mode: Ca in, outward current
    after = t[1:] >= t0_ms
    found, prev = [], {"v": rest["v"], "nai": rest["nai"], "cai": rest["cai"]}
    rtf = float(thermo.rt_over_f(celsius))
    for i in np.flatnonzero(after & (outward[:-1] != outward[1:])):
        f = float(incx[i] / (incx[i] - incx[i + 1]))  # linear zero of incx
        at = {k: float(data[k][i] + f * (data[k][i + 1] - data[k][i]))
              for k in ("t", "v", "nai", "cai")}
        e = thermo.ncx_reversal(data["nai"][i:i + 2], rest["nao"], data["cai"][i:i + 2],
                                rest["cao"], celsius)
        e_ncx = float(e[0] + f * (e[1] - e[0]))  # interpolated like Vm
        found.append({
            "n": len(found) + 1, "t_s": (at["t"] - t0_ms) / 1e3,
            "direction": "to reverse" if outward[i + 1] else "to forward",
            "since": "rest" if not found else f"reversal {len(found)}",
            "Vm_mV": at["v"], "E_NCX_mV": e_ncx, "error_mV": at["v"] - e_ncx,
            "step_ms": float(t[i + 1] - t[i]),
            # 3 E_Na = 3 (RT/F) ln(nao/nai); -2 E_Ca = (RT/F) ln(cai/cao)
            "dVm_mV": at["v"] - prev["v"],
            "d3ENa_mV": -3 * rtf * math.log(at["nai"] / prev["nai"]),
            "dm2ECa_mV": rtf * math.log(at["cai"] / prev["cai"]),
            "Nai_mM": at["nai"], "Cai_uM": at["cai"] * 1e3})
        prev = at
    return found


def reversals_table(by_condition):
    """{condition: reversals(...)} as one table (a row per reversal)."""
    import pandas as pd

    columns = ["condition", "n", "t_s", "direction", "since", "Vm_mV", "E_NCX_mV", "error_mV",
               *SHARE_NAMES, "Nai_mM", "Cai_uM", "step_ms"]
    rows = [{"condition": cond, **r} for cond, found in by_condition.items() for r in found]
    return pd.DataFrame(rows, columns=columns)


def obtained_order(times) -> list:
    """The events reached, earliest first ({event: t after the failure, nan if not})."""
    reached = [k for k in LITERATURE_TIER if math.isfinite(times.get(k, math.nan))]
    return sorted(reached, key=lambda k: times[k])


def events_table(by_condition):
    """{condition: {event: t after the failure (s)}} as a table: each event's time, its
    rank in the order obtained, and its tier in the order the literature reports."""
    import pandas as pd

    rows = []
    for cond, times in by_condition.items():
        order = obtained_order(times)
        for event, tier in LITERATURE_TIER.items():
            t = times.get(event, math.nan)
            rows.append({"condition": cond, "event": event, "t_s": t,
                         "rank_obtained": order.index(event) + 1 if event in order else math.nan,
                         "literature_tier": tier})
    return pd.DataFrame(rows, columns=["condition", "event", "t_s", "rank_obtained",
                                       "literature_tier"])
