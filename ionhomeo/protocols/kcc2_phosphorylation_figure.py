"""The kcc2-phosphorylation figure: p and Cli while the kinase is raised, E_GABA
against Vm, and the firing to the same input before and after."""

from __future__ import annotations


def draw(name, spec, data, value):
    """The figure; ``value``: the summary {quantity: value}."""
    from .. import plotting

    sym, num = plotting.SYMBOLS, plotting.number
    before, after, t_in = data["before"]["trace"], data["after"]["trace"], spec.duration_s * 1e3
    t_s, slow = after["t"] * 1e-3, after["t"] <= t_in
    fig, axes = plotting.figure(name, "KCC2 phosphorylation by WNK-SPAK at the soma", 3, 1,
                                size=(10, 9))
    phase = {"phase": "phosphorylation"}
    axes[0].plot(t_s[slow], after["p"][slow], color="tab:purple", label="p (phosphorylated KCC2)")
    axes[0].set_ylim(-0.02, 1.02)
    plotting.label(axes[0], "y", "p, phosphorylated fraction", "1", table="", column="value",
                   where={**phase, "variable": "p"})
    ax2 = axes[0].twinx()
    ax2.plot(t_s[slow], after["cli"][slow], color="tab:green", label=f"{sym['Cli']} (soma)")
    plotting.label(ax2, "y", sym["Cli"], "mM", table="", column="value",
                   where={**phase, "variable": "cli"}, color="tab:green")
    axes[0].set_title(f"p {num(value['p rest'], 3)} \u2192 {num(value['p end'], 3)}; "
                      f"{sym['Cli']} {num(value['Cli rest'], 3)} \u2192 "
                      f"{num(value['Cli end'], 3)} mM")
    axes[0].legend(handles=axes[0].get_lines() + ax2.get_lines(), loc="center right")
    axes[1].plot(t_s[slow], [data["egaba_of"](c) for c in after["cli"][slow]], color="tab:red",
                 label=f"{sym['E_GABA']} (thermo.egaba of {sym['Cli']})")
    axes[1].plot(t_s[slow], after["v"][slow], color="k", label=f"{sym['Vm']} (soma)")
    plotting.label(axes[1], "y", f"{sym['E_GABA']}, {sym['Vm']}", "mV", table="",
                   column="value", where={**phase, "variable": ["E_GABA", "v"]})
    axes[1].legend()
    axes[1].set_title(f"{sym['E_GABA']} {num(value['E_GABA rest'], 3)} \u2192 "
                      f"{num(value['E_GABA end'], 3)} mV (check: {sym['E_Cl']}(5 mM) "
                      f"{num(value['E_Cl(5 mM)'])}, {sym['E_Cl']}(15 mM) "
                      f"{num(value['E_Cl(15 mM)'])} mV at Cl$_o$ 130 mM, 37 \u00b0C)")
    for ax in axes[:2]:
        plotting.label(ax, "x", "time after the kinase is raised", "s", table="", column="t_s",
                       where=phase)
    mb, ma = before["t"] >= spec.lead_ms - 20, after["t"] >= t_in - 20
    axes[2].plot(before["t"][mb] - spec.lead_ms, before["v"][mb], color="tab:blue", lw=0.7,
                 label=f"before: {value['rate before']:.1f} Hz")
    axes[2].plot(after["t"][ma] - t_in, after["v"][ma], color="tab:red", lw=0.7, alpha=0.8,
                 label=f"after phosphorylation: {value['rate after']:.1f} Hz")
    axes[2].axvspan(0, spec.window_s * 1e3, color="0.9", zorder=0)
    plotting.label(axes[2], "y", f"{sym['Vm']}, soma", "mV", table="", column="value",
                   where={"phase": "before", "variable": "v"})
    plotting.label(axes[2], "x", "time from the input's onset", "ms")
    axes[2].legend(loc="upper right")
    axes[2].set_title(f"the same input (grey): a constant current and periodic {sym['GABA_A']} "
                      "events")
    return fig
