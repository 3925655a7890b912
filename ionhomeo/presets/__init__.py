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

from ..recipe import preset as load, preset_names, preset_path as path

#: names of the whole-cell presets (the TOML files of this folder)
NAMES = preset_names(models=False)
#: names of the protocols' model presets (``models/``: the mechanism set of a
#: protocol's own geometry, every parameter at its mod-file default)
MODEL_NAMES = tuple(sorted(set(preset_names()) - set(NAMES)))

__all__ = ["NAMES", "MODEL_NAMES", "load", "path"]
