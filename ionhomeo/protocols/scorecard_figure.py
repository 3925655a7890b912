"""The scorecard's figure: every quantity's simulated value placed in its
measured range (0 the low end, 1 the high end), one row per quantity."""

from __future__ import annotations

import math

import numpy as np


def position(obtained, low, high) -> float:
    """Where ``obtained`` lies in [low, high] (0..1 inside); a one-sided range
    maps its bound to 0 (>= low) or 1 (<= high), one range width being the bound's
    magnitude (or 1)."""
    if math.isinf(high):
        width = abs(low) or 1.0
        return (obtained - low) / width
    if math.isinf(low):
        width = abs(high) or 1.0
        return 1.0 + (obtained - high) / width
    return (obtained - low) / (high - low)


def draw(table, name="scorecard"):
    from .. import plotting

    presets = list(dict.fromkeys(table["preset"]))
    ids = list(dict.fromkeys(table["id"]))
    fig, ax = plotting.figure(name, "simulated measurements against measured neurons", 1, 1,
                              size=(9, 0.32 * len(ids) + 1.8))
    ax.axvspan(0.0, 1.0, color="0.9", label="measured range")
    for k, preset in enumerate(presets):
        part = table[table["preset"] == preset]
        y = np.array([ids.index(i) for i in part["id"]]) + 0.15 * (k - (len(presets) - 1) / 2)
        x = np.array([position(o, lo, hi) for o, lo, hi in
                      zip(part["obtained"], part["low"], part["high"])])
        shown = np.clip(x, -2.0, 3.0)  # far outside: drawn at the edge
        ok = part["result"].to_numpy() == "PASS"
        ax.scatter(shown[ok], y[ok], marker="o", label=f"{preset}: pass")
        ax.scatter(shown[~ok], y[~ok], marker="x", label=f"{preset}: fail")
    ax.set_yticks(range(len(ids)))
    ax.set_yticklabels(ids, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(-2.1, 3.1)
    plotting.label(ax, "x", "position in the measured range (0 its low end, 1 its high end; "
                   "clipped at \u22122 and 3)", "1")
    plotting.label(ax, "y", "measured quantity", "1", table="", column="id")
    ax.legend(fontsize=7, loc="lower right")
    return fig
