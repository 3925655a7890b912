"""Names typed by people: protocols, presets, mechanisms, bundled cells.

:func:`match` finds the one meant whatever its case and whether words are
joined by ``-`` or ``_`` (``KCC2`` is ``kcc2``, ``Spike_Train`` is
``spike-train``); :func:`suggestion` gives the "Did you mean ...?" of an
unknown name (:mod:`difflib` on the same folded spelling).
"""

from __future__ import annotations

import difflib

__all__ = ["fold", "match", "suggestion"]


def fold(name: str) -> str:
    """``name`` lower-cased, with ``_`` and spaces as ``-``."""
    return str(name).strip().lower().replace("_", "-").replace(" ", "-")


def match(name, known):
    """The known name ``name`` means: itself if known, else the one known name
    equal to it when folded (:func:`fold`); None if there is none, or several."""
    known = list(known)
    if name in known:
        return name
    found = [k for k in known if fold(k) == fold(name)]
    return found[0] if len(found) == 1 else None


def suggestion(name, known, cutoff: float = 0.6) -> str:
    """``" Did you mean 'x'?"`` for the one known name that ``name`` begins
    (3 characters at least), else the closest (folded spellings compared by
    :mod:`difflib`), or ``""`` when none is close."""
    folded = {}
    for k in known:
        folded.setdefault(fold(k), k)
    start = [f for f in folded if len(fold(name)) >= 3 and f.startswith(fold(name))]
    if len(start) == 1:  # an abbreviation: egaba-dev for egaba-development
        return f" Did you mean {folded[start[0]]!r}?"
    close = difflib.get_close_matches(fold(name), list(folded), n=1, cutoff=cutoff)
    return f" Did you mean {folded[close[0]]!r}?" if close else ""
