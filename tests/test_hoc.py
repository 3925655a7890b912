"""The mechanisms work from plain NEURON (nrniv, hoc, no Python)."""

import os
import re
import subprocess
from pathlib import Path

import pytest

from ionhomeo import build
from ionhomeo.defaults import Defaults

HOC = Path(__file__).parent / "hoc" / "all_nakcl.hoc"
HOC_CA = Path(__file__).parent / "hoc" / "calcium_all.hoc"


def _run_nrniv(hoc, tmp_path):
    nrniv = build.neuron_executable("nrniv")
    if nrniv is None:
        pytest.fail("nrniv not found next to the Python executable or on PATH")
    lib = build.library_path(build.compile_mechanisms())
    env = dict(os.environ, HOC_LIBRARY_PATH=str(build.mod_dir()))
    proc = subprocess.run([nrniv, "-nobanner", "-dll", str(lib), str(hoc), "-c", "quit()"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "RESULT OK" in out, out
    return out


def test_plain_nrniv_runs_every_mechanism_with_defaults(tmp_path):
    out = _run_nrniv(HOC, tmp_path)
    d = Defaults()
    m = re.search(r"celsius (\S+) ki0 (\S+) cli0 (\S+) hco3o0 (\S+)", out)
    assert [float(x) for x in m.groups()] == [d.celsius, d.ki, d.cli, d.hco3o]
    assert int(re.search(r"spikes (\d+)", out).group(1)) >= 3
    m = re.search(r"dend cli (\S+) soma nai (\S+) soma ko (\S+) egaba (\S+)", out)
    cli, nai, ko, egaba = map(float, m.groups())
    assert cli > d.cli          # GABA_A Cl influx in a thin dendrite
    assert nai > d.nai          # spikes loaded the soma with Na
    assert ko > d.ko            # and K accumulated outside (kext)
    assert -90 < egaba < -40


def test_plain_nrniv_runs_every_calcium_mechanism(tmp_path):
    out = _run_nrniv(HOC_CA, tmp_path)
    d = Defaults()
    m = re.search(r"caeri0 (\S+) camti0 (\S+)", out)
    assert [float(x) for x in m.groups()] == [d.caeri, d.camti]
    assert int(re.search(r"spikes (\d+)", out).group(1)) >= 3
    m = re.search(r"dend cai (\S+) caeri (\S+) soma cai (\S+) entered (\S+)", out)
    dend_cai, dend_caeri, soma_cai, entered = map(float, m.groups())
    assert dend_cai > 2 * d.cai      # Ca injection, spikes and IP3 release
    assert dend_caeri < d.caeri      # IP3 emptied part of the ER
    assert soma_cai > d.cai          # spikes brought Ca into the soma
    assert entered > 0               # net plasma-membrane entry (caentry)
    # casensor: the soma's Ca rises from rest through the spikes, so its time
    # average lies between the resting and the final value
    mean_cai = float(re.search(r"soma mean cai (\S+)", out).group(1))
    assert d.cai < mean_cai < soma_cai


def test_each_calcium_mechanism_is_insertable_alone_from_hoc(tmp_path):
    out = _run_nrniv(Path(__file__).parent / "hoc" / "calcium_each_alone.hoc", tmp_path)
    # 17 density mechanisms, each alone in a section, plus CaInject
    assert "mechanisms 18" in out


def test_point_processes_placed_after_the_first_finitialize_keep_initial_values(tmp_path):
    """A GabaA synapse (Cl) and Channel Builder point processes (Na, K) placed
    after the first finitialize in middle segments: those segments start at
    their own initial values, not at the globals (tests/test_late_point_process.py
    for ionhomeo's Cell and its resting state)."""
    out = _run_nrniv(Path(__file__).parent / "hoc" / "late_point_process.hoc", tmp_path)
    assert "dend first segment cinit 0" in out  # the case ion_style() cannot see
    assert "mismatches 0" in out
