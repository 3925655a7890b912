"""Ready-made recipes (TOML files in this folder), each with its sources.

* ``mature``: a mature pyramidal neuron, KCC2-dominated Cl extrusion
  (E_GABA about -70 mV at rest), NKCC1 low.
* ``immature``: an immature one, NKCC1-dominated Cl uptake (Cli about
  45 mM at rest), KCC2 low, with its own fitted leaks and Na/K pump.

Both are calibrated: fitted to measured pyramidal neurons on the bundled
pyramidal cell (``python -m ionhomeo.calibration``; the records are in
``calibration/``), each fitted value with a note naming its targets and a
``[calibration]`` table; ``ionhomeo run scorecard`` scores them. On other
cells they are other cells: a soma alone with the mature preset rests near
-56 mV, and with the immature one it fires. The files are ordinary recipes
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
