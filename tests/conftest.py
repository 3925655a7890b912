"""Shared fixtures: the compiled mechanisms (once per session), clean sections."""

import gc
import os

import matplotlib
import pytest

matplotlib.use("Agg")  # no display in tests


@pytest.fixture(scope="session")
def h():
    """NEURON's h with ionhomeo's mechanisms loaded and its defaults applied."""
    from ionhomeo import build, defaults

    build.load()
    from neuron import h as _h

    _h.load_file("stdrun.hoc")
    defaults.apply()
    return _h


@pytest.fixture(scope="module", autouse=True)
def _recipe_globals_reset_after_each_module():
    """A module-scoped fixture (a cell or a protocol run made once for a
    module) can apply a recipe whose GLOBALs (the presets' pmca nh = 2)
    outlive the per-test restore below, which restores what the test found:
    when the module ends, the GLOBALs a recipe set go back to their mod-file
    defaults, so no later module depends on the order the modules ran in."""
    yield
    import sys

    if "ionhomeo.recipe" not in sys.modules or "neuron" not in sys.modules:
        return
    from ionhomeo import recipe as recipe_mod

    recipe_mod.restore_global_defaults()


@pytest.fixture(autouse=True)
def _no_sections_left_behind(request):
    """Every NEURON test must delete the sections it made and restore settings."""
    if "h" not in request.fixturenames:
        yield
        return
    from neuron import h

    from ionhomeo import defaults

    # count reachable sections only: a section in uncollected cyclic garbage
    # (a figure written by a protocol's run can hold one) would otherwise be
    # counted in "before" and vanish during the test at a random collection
    gc.collect()
    before = len(list(h.allsec()))
    saved = _mechanism_globals(h)
    from ionhomeo import recipe as recipe_mod

    tracked = dict(recipe_mod._GLOBALS_SET)
    yield
    # GLOBAL parameters a test (or a recipe it applied) changed are put back:
    # a later protocol runs with whatever globals it finds, as a user's would
    # (kcc2's kmcl and cldyn's D left by a recipe test moved na-leak's Vm by 3e-5 mV)
    for name, value in saved.items():
        if getattr(h, name) != value:
            setattr(h, name, value)
    # and the recipe module's record of which of them a recipe set, with them
    # (else a value restored here would pass for one set by hand)
    recipe_mod._GLOBALS_SET.clear()
    recipe_mod._GLOBALS_SET.update(tracked)
    # stdrun's cvode_active, not CVode().active alone: it also resets stdrun's
    # using_cvode_ flag (BluePyOpt sets it), which would otherwise make a later
    # fixed-step continuerun take one step too many
    h.cvode_active(0)
    h.dt = 0.025
    h.secondorder = 0
    defaults.apply()
    gc.collect()
    assert len(list(h.allsec())) == before, "test left NEURON sections behind"


def _mechanism_globals(h) -> dict:
    """{hoc name: value} of every GLOBAL parameter of ionhomeo's mechanisms."""
    from ionhomeo import mechanisms

    return {f"{par.name}_{mech.name}": getattr(h, f"{par.name}_{mech.name}")
            for mech in mechanisms.catalog().values()
            for par in mech.parameters.values() if par.scope == "global"}


def pytest_configure(config):
    os.environ.setdefault("MPLBACKEND", "Agg")
