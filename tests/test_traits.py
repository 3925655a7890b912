"""Roles from the mod files: which mechanisms take NEURON's segment area
(``afac``), the ATP free energy (``dgatp``) and the mitochondrial potential
(``dpsi``) is read from the PARAMETER blocks, so a new mod file needs no list
edited; and every concentration state has its CVODE tolerance."""

import re
import shutil
import subprocess
import sys
import textwrap

from ionhomeo import build, calcium, defaults, mechanisms, solver

NEW_MOD = """
TITLE newpump: a test mechanism with every role
NEURON {
    SUFFIX newpump
    USEION ca READ cai, cao WRITE ica
    RANGE afac, dpsi
    GLOBAL dgatp
}
UNITS { (mA) = (milliamp) (mV) = (millivolt) (mM) = (milli/liter) }
PARAMETER {
    afac = 0 (1) <0, 1e3>
    dgatp = -55 (kJ/mol) <-100, 0>
    dpsi = -170 (mV) <-300, 100>
}
ASSIGNED { v (mV) ica (mA/cm2) cai (mM) cao (mM) }
BREAKPOINT { ica = 0 }
"""


def test_the_package_roles_are_those_its_mod_files_declare():
    assert calcium.ATP_MECHANISMS == ("nakpump", "pmca", "serca")
    assert calcium.DPSI_MECHANISMS == ("mcu", "nclx")
    assert defaults.AREA_FACTOR_OWNERS == ("nadyn", "kdyn", "cldyn", "cadyn", "cabuf")
    assert defaults.AREA_FACTOR_ONLY == ("caentry",)
    for trait in mechanisms.TRAITS:
        for name in mechanisms.with_parameter(trait):
            assert trait in mechanisms.get(name).parameters


def test_a_new_mod_file_with_afac_dgatp_and_dpsi_is_picked_up_with_no_list_edited(tmp_path):
    mods = tmp_path / "mod"
    shutil.copytree(build.mod_dir(), mods)
    (mods / "newpump.mod").write_text(NEW_MOD)
    code = textwrap.dedent(f"""
        from pathlib import Path
        from ionhomeo import build
        build.mod_dir = lambda: Path({str(mods)!r})
        from ionhomeo import calcium, defaults
        print("ATP", *calcium.ATP_MECHANISMS)
        print("DPSI", *calcium.DPSI_MECHANISMS)
        print("AFAC", *defaults.AREA_FACTOR_ONLY)
        text = defaults.hoc_text()
        print("HOC", "afac_newpump(x) = ionhomeo_afac(x)" in text)
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    lines = dict(line.split(" ", 1) for line in run.stdout.splitlines())
    assert lines["ATP"].split() == ["nakpump", "newpump", "pmca", "serca"]
    assert lines["DPSI"].split() == ["mcu", "nclx", "newpump"]
    assert lines["AFAC"].split() == ["caentry", "newpump"]
    assert lines["HOC"] == "True"  # the defaults' handler sets its afac at finitialize


def test_every_concentration_state_of_every_mod_file_has_a_cvode_tolerance():
    """A concentration state without an ATOL_SCALE entry gets CVODE's 1e-3 mM,
    more than a resting Ca concentration: every state in mM (or mM ms) needs one."""
    missing = []
    for mech in mechanisms.catalog().values():
        text = open(mech.file).read()
        text = re.sub(r"^\s*COMMENT.*?^\s*ENDCOMMENT", "", text, flags=re.M | re.S)
        block = re.search(r"^\s*STATE\s*\{(.*?)^\s*\}", text, re.M | re.S)
        if block is None:
            block = re.search(r"^\s*STATE\s*\{([^}]*)\}", text, re.M)
        if block is None:
            continue
        body = re.sub(r":.*", "", block.group(1))
        for name, units in re.findall(r"(\w+)\s*\(([^)]*)\)", body):
            if not re.match(r"^(milli/liter|mM)", units.strip()):
                continue
            if name not in solver.ATOL_SCALE and f"{name}_{mech.name}" not in solver.ATOL_SCALE:
                missing.append(f"{mech.name}: {name} ({units})")
    assert not missing, missing
