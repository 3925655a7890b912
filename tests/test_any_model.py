"""The mechanisms are right in a model built without ionhomeo's Cell.

Sections made by hand in Python (as BluePyOpt, NetPyNE or a user's own
script make them), with the defaults loaded the documented way: NEURON's
segment area reaches every owner (ions equal charge in a tapered 3-D
segment), per-segment initial concentrations survive finitialize, and the
owners say once when the defaults were never loaded or celsius is 6.3.
"""

import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from ionhomeo import defaults, solver, thermo

#: owner -> (ion, valence, leak that carries the ion's current)
OWNERS = {"nadyn": ("na", 1, "naleak"), "kdyn": ("k", 1, "kleak"),
          "cldyn": ("cl", -1, "clleak"), "cadyn": ("ca", 2, "caleak"),
          "cabuf": ("ca", 2, "caleak")}


def tapered_bouton(h, name="bouton"):
    """One segment shaped like a bouton on a thin axon: 0.4 um neck, a 2 um
    swelling with steps in diameter. NEURON's area counts the steps' annuli
    (frusta of zero length), so it exceeds the cylinder of the mean diameter."""
    sec = h.Section(name=name)
    for x, d in ((0, 0.4), (1, 0.4), (1, 2.0), (3, 2.0), (3, 0.4), (4, 0.4)):
        h.pt3dadd(x, 0, 0, d, sec=sec)
    sec.nseg = 1
    return sec


def cylinder_volume_um3(seg):
    """The owners' volume convention: the cylinder of the segment's diameter."""
    return math.pi * seg.diam ** 2 / 4 * seg.sec.L / seg.sec.nseg


@pytest.mark.parametrize("owner", list(OWNERS))
def test_ions_equal_charge_in_a_tapered_segment_built_by_hand(h, owner):
    ion, z, leak = OWNERS[owner]
    sec = tapered_bouton(h)
    seg = sec(0.5)
    factor = seg.area() / (math.pi * seg.diam * sec.L)
    assert factor > 1.2  # a real correction: without it ions would miss 20 % of the charge
    sec.insert(owner)
    sec.insert(leak)
    if owner in ("cadyn", "cabuf"):
        getattr(seg, owner).btot = 0  # free Ca is then all the Ca: its change is the amount that entered
    diff = f"D_{owner}"
    saved = getattr(h, diff)
    setattr(h, diff, 0)  # sealed: no axial flux (there is no neighbour anyway)
    cur = h.Vector().record(getattr(seg, f"_ref_i{ion}"))
    try:
        solver.use_fixed_step(0.025, secondorder=0)
        h.finitialize(-20)  # far from the leak's reversal: a sizeable current
        assert getattr(seg, owner).afac == pytest.approx(factor, rel=1e-12)
        c0 = getattr(seg, f"{ion}i")
        h.continuerun(50)
        c1 = getattr(seg, f"{ion}i")
        # the charge NEURON moved with its own area (um2 = 1e-8 cm2): the current
        # recorded at step n is the one used in step n (fixed step); mA*ms = 1e-6 C
        charge_c = -np.sum(np.asarray(cur)[1:]) * h.dt * 1e-6 * seg.area() * 1e-8
        moles_in = charge_c / (z * thermo.FARADAY)
        moles_change = (c1 - c0) * 1e-3 * cylinder_volume_um3(seg) * 1e-15  # mM * um3
        # a change of at least 1e-4 of the concentration: its round-off (1e-16 of
        # c per step, 2000 steps) is then below 1e-11 of the change
        assert abs(c1 - c0) > 1e-4 * c0
        assert moles_change == pytest.approx(moles_in, rel=1e-9)
    finally:
        setattr(h, diff, saved)
        del cur, seg
        del sec


def test_a_per_segment_initial_value_survives_finitialize(h):
    soma, dend = h.Section(name="soma"), h.Section(name="dend")
    dend.connect(soma(1))
    dend.nseg = 3
    for sec in (soma, dend):
        sec.insert("cldyn")
        sec.insert("kcc2")
    try:
        # the RANGE initial value: per segment, in hoc cli0_cldyn(x)
        dend(0.5).cldyn.cli0 = 20.0
        for _ in range(2):  # every finitialize, also after a run
            h.finitialize(-65)
            assert dend(0.5).cli == 20.0
            assert dend(0.1).cli == soma(0.5).cli == defaults.Defaults().cli
            h.continuerun(5)
        # -1 gives the segment back to the global
        dend(0.5).cldyn.cli0 = -1
        h.finitialize(-65)
        assert dend(0.5).cli == defaults.Defaults().cli
    finally:
        del soma, dend


def test_a_value_set_on_the_segment_before_the_first_finitialize_is_kept(h, capfd):
    """What NetPyNE's per-section ``ions`` do: seg.cli = x (and the global)."""
    soma, dend = h.Section(name="soma"), h.Section(name="dend")
    dend.connect(soma(1))
    for sec in (soma, dend):
        sec.insert("cldyn")
        sec.insert("clleak")
    try:
        for seg in dend:
            seg.cli = 20.0
        h.finitialize(-65)
        assert dend(0.5).cli == 20.0 and dend(0.5).cldyn.cli0 == 20.0
        assert soma(0.5).cli == defaults.Defaults().cli
        out = capfd.readouterr().out
        assert "1 segment(s) start at concentrations set on them" in out
        assert "cli 20 mM in " in out and "dend(0.5)" in out
        h.continuerun(20)
        h.finitialize(-65)  # later runs start there too, silently
        assert dend(0.5).cli == 20.0
        assert "segment(s) start" not in capfd.readouterr().out
    finally:
        del soma, dend


def test_values_neuron_allocates_are_what_the_handler_expects(h):
    """The adoption rule tells a set value from NEURON's allocation value
    (defaults.NEURON_ALLOCATION_MM): those must be NEURON's."""
    sec = h.Section(name="fresh")
    try:
        for owner in ("nadyn", "kdyn", "cldyn", "cadyn", "er", "mito"):
            sec.insert(owner)
        syn = h.GabaA(sec(0.5))  # hco3
        # a fresh section after apply(): values NEURON allocated, not the globals
        for (ion, side), value in defaults.NEURON_ALLOCATION_MM.items():
            assert getattr(sec(0.5), f"{ion}{side}") == value, (ion, side)
        del syn
    finally:
        del sec


def _fresh_python(code, tmp_path):
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_owners_warn_once_without_the_defaults_and_at_6_3_degC(tmp_path):
    out = _fresh_python("""
        from neuron import h
        from ionhomeo import build
        build.load()
        sec = h.Section(name="s")
        for m in ("nadyn", "cldyn", "naleak", "clleak"):
            sec.insert(m)
        h.finitialize(-65)
        h.finitialize(-65)
        print("afac", sec(0.5).nadyn.afac)
    """, tmp_path)
    assert out.count("nadyn: ionhomeo_defaults.hoc was not loaded: nai starts at 10 mM") == 1
    assert out.count("cldyn: ionhomeo_defaults.hoc was not loaded: cli starts at 1 mM") == 1
    assert out.count("nadyn: celsius is 6.3 degC") == 1
    assert "afac 1.0" in out  # the cylinder, said so


def test_owners_stay_silent_with_the_defaults(tmp_path):
    out = _fresh_python("""
        from neuron import h
        from ionhomeo import defaults
        defaults.apply()
        sec = h.Section(name="s")
        for m in ("nadyn", "kdyn", "cldyn", "cadyn", "naleak", "clleak"):
            sec.insert(m)
        h.finitialize(-65)
        h.finitialize(-65)
        print("start", sec(0.5).nai, sec(0.5).cli, sec(0.5).cai)
    """, tmp_path)
    assert "ionhomeo_defaults.hoc was not loaded" not in out
    assert "celsius is 6.3" not in out
    assert "segment(s) start" not in out
    d = defaults.Defaults()
    assert f"start {d.nai} {d.cli} {d.cai}" in out


def test_ions_equal_charge_in_a_tapered_segment_in_plain_hoc(tmp_path):
    """The same check from plain nrniv (tests/hoc/tapered_charge.hoc)."""
    import re
    from pathlib import Path

    from test_hoc import _run_nrniv

    out = _run_nrniv(Path(__file__).parent / "hoc" / "tapered_charge.hoc", tmp_path)
    rows = re.findall(r"bouton (\d) afac (\S+) area/cylinder (\S+) change (\S+) relerr (\S+)", out)
    assert len(rows) == 4, out
    for _, afac, ratio, change, err in rows:
        assert float(afac) == pytest.approx(float(ratio), rel=1e-8) and float(ratio) > 1.2
        assert abs(float(change)) > 1e-4
        # the round-off of the 2000 per-step updates, about 1e-13 of the
        # concentration, is below 1e-9 of a change of 1e-4 of it
        assert float(err) < 1e-9


def test_python_api_uses_mechanisms_the_model_loaded_itself(tmp_path):
    """A model that loads the compiled mechanisms itself (neuron.load_mechanisms,
    as BluePyOpt's mechanisms_directory and NetPyNE's x86_64 folder do) can
    still call defaults.apply() and steady.start(): NEURON cannot load a second
    library with the same names, so ionhomeo uses the one already there."""
    from ionhomeo import build

    build_dir = build.compile_mechanisms()
    out = _fresh_python(f"""
        import neuron
        assert neuron.load_mechanisms({str(build_dir)!r})
        from neuron import h
        from ionhomeo import build, defaults, steady
        defaults.apply()
        assert build._loaded is None  # nothing loaded twice
        soma = h.Section(name="soma"); soma.L = soma.diam = 20
        for m in ("nadyn", "kdyn", "cldyn", "nakpump", "naleak", "kleak", "clleak", "kcc2"):
            soma.insert(m)
        rest = steady.start([soma])
        h.finitialize()
        print("v", soma(0.5).v, rest.states[0].v[0])
    """, tmp_path)
    v, solved = map(float, out.split("v ")[-1].split())
    assert v == solved and -90 < v < -60  # the installed state is the start


def test_an_older_build_with_our_names_is_refused_with_the_fix(h, monkeypatch):
    """ensure_loaded() accepts mechanisms someone else loaded only if they
    declare every range parameter of this package's mod files; an older build
    (one without the per-segment initial values, say) is named, with the fix."""
    import dataclasses

    from ionhomeo import build, mechanisms

    assert build._loaded is not None and build._missing_parameters(h) == []
    cldyn = mechanisms.catalog()["cldyn"]
    newer = dict(mechanisms.catalog())
    extra = dataclasses.replace(cldyn.parameters["cli0"], name="cli00")
    newer["cldyn"] = dataclasses.replace(cldyn, parameters={**cldyn.parameters, "cli00": extra})
    monkeypatch.setattr(mechanisms, "catalog", lambda: newer)
    assert build._missing_parameters(h) == ["cli00_cldyn"]
    monkeypatch.setattr(build, "_loaded", None)  # as if the model had loaded them itself
    with pytest.raises(build.MechanismConflictError, match=r"lacks cli00_cldyn.*nrnivmodl"):
        build.ensure_loaded()


def test_a_global_changed_after_the_defaults_is_noted_once(tmp_path):
    """NetPyNE's per-section ``ions`` also set the global (cli0_cl_ion) to the
    last value applied, so sections without ``ions`` start there: honoured, as
    NEURON would, but said once; apply() makes the defaults ionhomeo's again."""
    out = _fresh_python("""
        from neuron import h
        from ionhomeo import defaults
        defaults.apply()
        h.cli0_cl_ion = 20
        s, t = h.Section(name="s"), h.Section(name="t")
        for sec in (s, t):
            for m in ("nadyn", "cldyn", "naleak", "clleak"):
                sec.insert(m)
        t(0.5).cldyn.cli0 = 7
        h.finitialize(-65)
        h.finitialize(-65)
        print("first", s(0.5).cli, t(0.5).cli)
        defaults.apply()
        h.finitialize(-65)
        print("after apply", s(0.5).cli)
    """, tmp_path)
    d = defaults.Defaults()
    # said once, naming the one segment on the changed global (t has its own)
    assert out.count("ionhomeo: 1 segment(s) start at a global initial concentration changed") == 1
    assert "s(0.5), cli;" in out  # hoc names a Python section _pysec.s
    assert "first 20.0 7.0" in out
    assert f"after apply {d.cli}" in out


def test_an_owner_inserted_after_the_first_finitialize_keeps_its_initial_values(h):
    """The handler turns NEURON's reset of a written concentration (cinit) off
    only where an owner is new (its afac still 0): an owner inserted later, or
    removed and inserted again, which turns cinit back on, is handled too."""
    sec = h.Section(name="late")
    sec.nseg = 3
    sec.insert("clleak")
    h.finitialize(-65)
    sec.insert("cldyn")  # NEURON now resets cli at finitialize (cinit) ...
    assert int(h.ion_style("cl_ion", sec=sec)) // 4 % 2 == 1
    for seg in sec:
        seg.cldyn.cli0 = 9.0
    h.finitialize(-65)   # ... unless the handler turns it off
    assert [seg.cli for seg in sec] == [9.0] * 3
    assert int(h.ion_style("cl_ion", sec=sec)) // 4 % 2 == 0
    sec.uninsert("cldyn")
    sec.insert("cldyn")  # a new instance, cinit on again; cli0 -1, but the
    sec(0.5).cldyn.cli0 = 7.0  # segments still hold 9 mM, which is adopted
    h.finitialize(-65)
    assert [seg.cli for seg in sec] == [9.0, 7.0, 9.0]
    assert int(h.ion_style("cl_ion", sec=sec)) // 4 % 2 == 0
    del sec


def test_a_synapse_added_after_the_first_finitialize_does_not_reset_cl(h):
    """Inserting any mechanism that uses Cl (here a GabaA synapse, which only
    reads cli) where cldyn writes it makes NEURON reset cli at finitialize
    again (cinit); the handler turns that off at every finitialize."""
    sec = h.Section(name="syn")
    sec.insert("cldyn")
    sec.insert("clleak")
    sec(0.5).cldyn.cli0 = 9.0
    h.finitialize(-65)
    assert sec(0.5).cli == 9.0
    syn = h.GabaA(sec(0.5))
    assert int(h.ion_style("cl_ion", sec=sec)) // 4 % 2 == 1  # NEURON turned cinit on
    h.finitialize(-65)
    assert sec(0.5).cli == 9.0
    del syn, sec
