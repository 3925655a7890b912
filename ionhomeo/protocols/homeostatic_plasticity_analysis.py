"""Analysis of the ``homeostatic-plasticity`` protocol's runs
(:mod:`ionhomeo.protocols.homeostatic_plasticity`): the Ca errors, the density
ratios against the regulation rates and their exact prediction, the summary
rows, the time course and the figure.
Derivations: docs/protocols/homeostatic-plasticity.md.
"""

from __future__ import annotations

import numpy as np

#: the rule the ratios are reported against
REFERENCE_RULE = "nav.gbar"


def analyse(spec, data) -> dict:
    """Errors of mean Ca (per segment), the ratios x_i/x_j at the modulation (i, j,
    segment) with their expectation tau_j/tau_i and the exact prediction with the
    starting values, m_i = m_i(0) + r_i E/tau_i (E the integrated relative error)."""
    hist, refs, x0, x_mod = data["hist"], data["refs"], data["x0"], data["x_mod"]
    ta, tb = hist["t_start_ms"] / 1e3, hist["t_ms"] / 1e3
    w = tb - ta
    target = spec.target_nM * 1e-6
    tau = np.array([r.tau_ms for r in data["rules"]])
    expected_ratio = tau[None, :] / tau[:, None]          # x_i/x_j -> tau_j/tau_i
    ratio = x_mod[:, None, :] / x_mod[None, :, :]         # (i, j, segment)
    ratio_dev = ratio / expected_ratio[:, :, None] - 1
    sel = tb <= spec.t_mod_s + 1e-9
    e_int = (((target - hist["ca_mM"][sel]) / target) * (w[sel, None] * 1e3)).sum(axis=0)
    m_pred = x0 + e_int[None, :] / tau[:, None]
    return {"err_before": data["ca_before"] / target - 1, "err_pert": data["ca_pert"] / target - 1,
            "err_end": data["ca_end"] / target - 1, "ratio": ratio,
            "expected_ratio": expected_ratio, "ratio_dev": ratio_dev,
            "pred_ratio": m_pred[:, None, :] / m_pred[None, :, :],
            "g_mod": hist["g"][sel][-1] / refs[:, None], "m_pred": m_pred,
            "i_ref": [r.name for r in data["rules"]].index(REFERENCE_RULE),
            "worst": int(np.argmax(np.max(np.abs(ratio_dev), axis=(0, 1))))}


def rows(spec, data, a) -> list:
    """The summary rows (quantity, value, unit, description)."""
    spike_s, t_mod, window, dur = data["spike_s"], spec.t_mod_s, spec.window_s, spec.duration_s
    i_ref, rules = a["i_ref"], data["rules"]
    x_end = data["hist"]["g"][-1] / data["refs"][:, None]
    where = "the compartment" if spec.morphology is None else "the soma centre"

    def rate(t0, t1):
        return float(np.sum((spike_s > t0) & (spike_s <= t1)) / (t1 - t0))

    out = [
        ("Ca_target", spec.target_nM, "nM", "the controller's Ca target"),
        ("Ca_rest_start", data["rest"]["cai_nM"], "nM", "Ca at the start (densities near zero)"),
        ("Ca_before", data["ca_before"][0] * 1e6, "nM", f"mean Ca over the last {window:g} s "
         "before the modulation (first regulated segment)"),
        ("Ca_before_error", float(np.max(np.abs(a["err_before"]))) * 100, "%",
         "largest |mean Ca / target - 1| before the modulation, over regulated segments"),
        ("Ca_after_step", data["ca_pert"][0] * 1e6, "nM",
         f"mean Ca over the first {window / 4:g} s after the modulation"),
        ("Ca_end", data["ca_end"][0] * 1e6, "nM", f"mean Ca over the last {window:g} s"),
        ("Ca_end_error", float(np.max(np.abs(a["err_end"]))) * 100, "%",
         "largest |mean Ca / target - 1| at the end, over regulated segments"),
        ("rate_before", rate(t_mod - window, t_mod), "Hz",
         f"firing rate at {where} before the modulation"),
        ("rate_end", rate(dur - window, dur), "Hz",
         "firing rate at the end (Ca restored, activity not)")]
    out += [(f"x_{r.name}_before", float(data["x_mod"][i, 0]), "1",
             f"{r.name} / default at the modulation (tau {r.tau_ms / 1e3:g} s)")
            for i, r in enumerate(rules)]
    out += [(f"x_{r.name}_end", float(x_end[i, 0]), "1", f"{r.name} / default at the end "
             "(the regulated g; the modulator's factor not included)")
            for i, r in enumerate(rules)]
    for i, r in enumerate(rules):
        if i != i_ref:
            out += [(f"ratio_{r.name}", float(a["ratio"][i, i_ref, 0]), "1",
                     f"x({r.name}) / x({REFERENCE_RULE}) at the modulation"),
                    (f"ratio_{r.name}_expected", float(a["expected_ratio"][i, i_ref]), "1",
                     f"tau({REFERENCE_RULE}) / tau of this rule"),
                    (f"ratio_{r.name}_predicted", float(a["pred_ratio"][i, i_ref, 0]), "1",
                     "(x_i(0) + E/tau_i)/(x_nav(0) + E/tau_nav) with the integrated error E")]
    return out + [
        ("ratio_max_deviation", float(np.max(np.abs(a["ratio_dev"]))) * 100, "%",
         "largest |x_i/x_j / (tau_j/tau_i) - 1| over all pairs and segments at the modulation"),
        ("m_vs_g_at_modulation", float(np.max(np.abs(a["g_mod"] / a["m_pred"] - 1))), "1",
         "largest |g / (x(0) + E/tau) - 1|: how far g still lags its messenger"),
        ("modulation_factor", spec.modulation_factor, "1",
         f"{spec.modulated} x this from modulation_s"),
        ("clipped_updates", float(data["clipped"]), "1",
         "updates where a density was clipped at 0"),
        ("regulated_segments", float(len(data["hist"]["ca_mM"][0])), "1",
         "segments with a controller")]


def timecourse(data):
    """Tidy table per controller update: mean Ca (nM), x of every rule, per segment."""
    import pandas as pd

    hist, refs = data["hist"], data["refs"]
    t_s = np.round(hist["t_ms"] / 1e3, 6)
    frames = []
    for j in range(hist["ca_mM"].shape[1]):
        frames.append(pd.DataFrame({"t_s": t_s, "segment": j, "variable": "Ca_mean",
                                    "value": hist["ca_mM"][:, j] * 1e6, "unit": "nM"}))
        for i, r in enumerate(data["rules"]):
            frames.append(pd.DataFrame({"t_s": t_s, "segment": j, "variable": f"x_{r.name}",
                                        "value": hist["g"][:, i, j] / refs[i], "unit": "1"}))
            frames.append(pd.DataFrame({"t_s": t_s, "segment": j,
                                        "variable": f"modulation_{r.name}",
                                        "value": hist["modulation"][:, i], "unit": "1"}))
    return pd.concat(frames, ignore_index=True)


def figure(spec, data, a, name):
    """Mean Ca with the firing rate, the relative densities and their ratios."""
    from .. import plotting

    hist, refs, rules, i_ref = data["hist"], data["refs"], data["rules"], a["i_ref"]
    t, t_mod, spike_s = hist["t_ms"] / 1e3, spec.t_mod_s, data["spike_s"]
    tau = plotting.SYMBOLS["tau"]
    fig, ax = plotting.figure(name, f"integral control of mean Ca: "
                              f"{data['ca_before'][0] * 1e6:.1f} nM before and "
                              f"{data['ca_end'][0] * 1e6:.1f} nM after the neuromodulator step "
                              f"(target {spec.target_nM:g} nM)", 3, 1, size=(9.0, 9.5),
                              sharex=True)
    # Ca: 1 s running means of the per-update means (spikes make them jagged),
    # only where the whole second is inside the run
    ca = hist["ca_mM"][:, 0] * 1e6
    n = max(1, int(round(1.0 / max(np.median(np.diff(t)) if t.size > 1 else 1.0, 1e-9))))
    ax[0].plot(t, ca, color="0.75", lw=0.5, label="mean Ca per update")
    if ca.size >= n:
        smooth = np.convolve(ca, np.ones(n) / n, mode="valid")
        ax[0].plot(t[n - 1:] - (t[n - 1] - t[0]) / 2, smooth, color="k", lw=1.2,
                   label="1 s running mean")
    ax[0].axhline(spec.target_nM, color="tab:red", ls="--", lw=1, label="target")
    plotting.label(ax[0], "y", "mean Ca", "nM", table="", column="value",
                   where={"variable": "Ca_mean"})
    rate_ax = ax[0].twinx()
    if spike_s.size > 1:
        edges = np.arange(0.0, t[-1] + 2.0, 2.0)
        counts, _ = np.histogram(spike_s, edges)
        rate_ax.step(edges[:-1], counts / 2.0, where="post", color="tab:green", lw=0.8)
    plotting.label(rate_ax, "y", "firing rate, 2 s bins", "Hz", color="tab:green")
    ax[0].legend(loc="lower right")
    colours = [f"C{i}" for i in range(len(rules))]
    x = hist["g"][:, :, 0] / refs[None, :]
    for i, r in enumerate(rules):
        # the reference rule dashed: equal ratios make lines coincide
        ax[1].plot(t, x[:, i], lw=1.2, color=colours[i], ls="--" if i == i_ref else "-",
                   label=f"{r.name} ({tau} {r.tau_ms / 1e3:g} s)")
        if i != i_ref:
            ax[2].plot(t, x[:, i] / x[:, i_ref], lw=1.2, color=colours[i],
                       label=f"{r.name} / {rules[i_ref].name}")
            ax[2].axhline(a["expected_ratio"][i, i_ref], color=colours[i], ls="--", lw=0.8)
    for k in range(3):
        ax[k].axvline(t_mod, color="tab:purple", ls=":", lw=1,
                      label="neuromodulator step" if k == 2 else None)
    plotting.label(ax[2], "x", "time", "s", table="", column="t_s")  # shared by the three
    plotting.label(ax[1], "y", "density / its default", "1", table="", column="value",
                   where={"variable": [f"x_{r.name}" for r in rules]})
    ax[1].legend(ncol=2)
    plotting.plain_log(ax[2], "y")
    plotting.label(ax[2], "y", f"ratio of relative densities (dashed: {tau} ratio)", "1")
    ax[2].legend(ncol=2)
    return fig
