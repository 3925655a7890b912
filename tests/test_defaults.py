"""Default concentrations come from one place, for Python and hoc alike."""

import pytest

from ionhomeo import build, defaults
from ionhomeo.defaults import VALENCES, Defaults


def test_shipped_hoc_file_is_generated_from_python():
    shipped = (build.mod_dir() / defaults.HOC_FILE).read_text()
    assert shipped == defaults.hoc_text(), (
        "mod/ionhomeo_defaults.hoc is stale: run `python -m ionhomeo.defaults`")


def test_every_default_has_a_source():
    assert set(defaults.SOURCES) == set(Defaults().to_dict())


def test_round_trip_dict():
    d = Defaults(cli=25.0)
    assert Defaults.from_dict(d.to_dict()) == d


def test_apply_sets_every_section_at_finitialize(h):
    d = Defaults(cli=25.0, ko=6.0, celsius=34.0)
    sec = h.Section(name="s")
    sec.insert("kcc2")  # reads k and cl, writes neither concentration
    sec.insert("naleak")
    syn = h.GabaA(sec(0.5))
    try:
        defaults.apply(d)
        h.finitialize(-65)
        seg = sec(0.5)
        assert h.celsius == 34.0
        for ion in ("na", "k", "cl", "hco3"):
            for side in ("i", "o"):
                assert getattr(seg, f"{ion}{side}") == getattr(d, f"{ion}{side}"), (ion, side)
        assert h.ion_charge("cl_ion") == VALENCES["cl"] and h.ion_charge("hco3_ion") == -1
    finally:
        defaults.apply()
    del syn


def test_values_follow_the_reference_conditions():
    d = Defaults()
    # the reference's oracle conditions: Nao 145, Nai 12, Ko 4, Ki 140, Clo 130, Cao 2, Cai 100 nM
    assert (d.nao, d.nai, d.ko, d.ki, d.clo, d.cao, d.cai) == (145, 12, 4, 140, 130, 2, 1e-4)
    assert d.celsius == pytest.approx(37.0)
