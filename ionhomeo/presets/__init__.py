"""Ready-made recipes (TOML files in this folder), each with its sources.

* ``mature``: a mature central neuron, KCC2-dominated Cl extrusion
  (Cli about 4 mM at rest), NKCC1 low.
* ``immature``: an immature neuron, NKCC1-dominated Cl uptake
  (Cli about 38 mM at rest), KCC2 low.

Both place the concentration owners of Na, K, Cl and Ca, the Na/K pump and
the leaks everywhere, so every compartment can rest, and differ only in the
chloride transporters. The files are ordinary recipes
(:mod:`ionhomeo.recipe`): copy one, edit it and load it with
``ionhomeo.recipe.load(path)``.

>>> from ionhomeo import presets
>>> recipe = presets.load("mature")
>>> recipe.apply(cell)                                  # doctest: +SKIP
"""

from __future__ import annotations

import difflib
from pathlib import Path

from ..recipe import Recipe, RecipeError, load as _load_file

#: names of the bundled presets
NAMES = ("mature", "immature")


def path(name: str) -> Path:
    """The TOML file of preset ``name``."""
    if name not in NAMES:
        close = difflib.get_close_matches(str(name), NAMES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise RecipeError(f"unknown preset {name!r}.{hint} Presets: {', '.join(NAMES)}")
    return Path(__file__).with_name(f"{name}.toml")


def load(name: str) -> Recipe:
    """The recipe of preset ``name`` (one of :data:`NAMES`)."""
    return _load_file(path(name))
