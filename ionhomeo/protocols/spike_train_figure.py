"""The spike-train figure: V, Nai, Cli, Ki and the pump current at the soma
through quiet rest, the train and the recovery, with the solved steady state
and the exponential fit of the Na recovery."""

from __future__ import annotations

import math

import numpy as np


def draw(name, spec, data, report):
    from .. import plotting
    from .spike_train import _RECORDED, AHP_DELAY_S

    sym, num = plotting.SYMBOLS, plotting.number
    d, rest, fit = data["data"], data["rest"], report.metadata["recovery_fit"]
    value = {q: v for q, v, _, _ in report.rows}
    t_s, train = d["t"] * 1e-3, (spec.train_start_s, spec.train_start_s + spec.train_s)
    fig, axes = plotting.figure(
        name, f"rest: {sym['Vm']} {num(rest['v'], 4)} mV, {sym['Nai']} {rest['nai']:.2f} mM, "
        f"{sym['Cli']} {rest['cli']:.2f} mM, {sym['E_GABA']} {num(data['E'][3], 3)} mV; "
        f"{int(value['spikes'])} spikes ({spec.train_hz:g} Hz, {spec.train_s:g} s): "
        f"{sym['Nai']} rise {value['Nai_rise']:.3f} mM, pump AHP {num(value['pump_AHP'], 2)} mV, "
        f"{sym['tau']}$_\\mathrm{{Na}}$ {fit['tau_s']:.0f} s", 5, 1, size=(9.0, 11.0),
        sharex=True)
    labels = {"v": "V", "nai": sym["Nai"], "cli": sym["Cli"], "ki": sym["Ki"],
              "ipump": "pump current, outward"}
    outside = (t_s < train[0]) | (t_s > train[1] + AHP_DELAY_S)
    for ax, (key, label) in zip(axes, labels.items()):
        y = d[key] * _RECORDED[key][2]
        ax.plot(t_s, y, color="k", lw=0.8)
        ax.axhline(rest[key], color="tab:blue", ls="--", lw=1.0, label="solved steady state")
        ax.axvspan(train[0], train[1], color="tab:orange", alpha=0.2, lw=0, label="spike train")
        plotting.label(ax, "y", label, _RECORDED[key][1], table="", column="value",
                       where={"variable": key})
        if key in ("v", "ipump"):  # spikes would hide the slow changes: clip them
            lo, hi = min(y[outside].min(), rest[key]), max(y[outside].max(), rest[key])
            pad = 0.15 * (hi - lo) or 0.01 * abs(rest[key]) or 1e-3
            ax.set_ylim(lo - pad, hi + pad)
            ax.text(0.01, 0.04, "values during the train clipped", transform=ax.transAxes,
                    fontsize=8, color="0.4")
    inset = axes[0].inset_axes([0.62, 0.42, 0.36, 0.52])  # the train at full scale
    m = (t_s >= train[0] - 0.05) & (t_s <= min(train[1], train[0] + 0.3))
    inset.plot(t_s[m], d["v"][m], color="k", lw=0.7)
    inset.set_title("the train's start, full scale", fontsize=8)
    inset.tick_params(labelsize=7)
    if math.isfinite(fit["tau_s"]):
        tt = t_s[t_s >= fit["t0_s"]]
        axes[1].plot(tt, fit["c_mM"] + fit["a_mM"] * np.exp(-(tt - fit["t0_s"]) / fit["tau_s"]),
                     color="tab:red", ls=":", lw=1.5,
                     label=f"exponential fit, {sym['tau']} = {fit['tau_s']:.0f} s")
    axes[0].legend(loc="upper left")
    axes[1].legend(loc="center right")
    plotting.label(axes[-1], "x", "time", "s", table="", column="t_s")
    axes[-1].set_xlim(t_s[0], t_s[-1])
    return fig
