"""The mechanisms work from plain NEURON (nrniv, hoc, no Python)."""

import os
import re
import subprocess
from pathlib import Path

import pytest

from ionhomeo import build
from ionhomeo.defaults import Defaults

HOC = Path(__file__).parent / "hoc" / "all_nakcl.hoc"


def test_plain_nrniv_runs_every_mechanism_with_defaults(tmp_path):
    nrniv = build.neuron_executable("nrniv")
    if nrniv is None:
        pytest.fail("nrniv not found next to the Python executable or on PATH")
    lib = build.library_path(build.compile_mechanisms())
    env = dict(os.environ, HOC_LIBRARY_PATH=str(build.mod_dir()))
    proc = subprocess.run([nrniv, "-nobanner", "-dll", str(lib), str(HOC), "-c", "quit()"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "RESULT OK" in out, out
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
