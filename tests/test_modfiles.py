"""Every mod file passes modlunit and follows the house style (a COMMENT block with the model, its sources, units and conventions)."""

import re
import shutil
import subprocess

import pytest

from ionhomeo import build

MODS = sorted(build.mod_dir().glob("*.mod"))


@pytest.mark.parametrize("mod", MODS, ids=lambda p: p.name)
def test_modlunit_passes(mod, tmp_path):
    exe = build.neuron_executable("modlunit")
    if exe is None:
        pytest.fail("modlunit not found (it ships with the neuron wheel)")
    for f in build.mod_dir().glob("*.inc"):
        shutil.copy(f, tmp_path)
    shutil.copy(mod, tmp_path)
    proc = subprocess.run([exe, mod.name], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    out = proc.stdout + proc.stderr
    # modlunit prints only "Checking units of ..." and INCLUDE notices when all is well
    problems = [line for line in out.splitlines()
                if line.strip() and not line.startswith(("Checking units", "INCLUDEing"))]
    assert proc.returncode == 0 and not problems, out


@pytest.mark.parametrize("mod", MODS, ids=lambda p: p.name)
def test_house_style(mod):
    text = mod.read_text()
    name = re.search(r"^\s*(?:SUFFIX|POINT_PROCESS)\s+(\w+)", text, re.M).group(1)
    assert mod.stem == name, "file named after its SUFFIX"
    assert re.search(r"^TITLE ", text, re.M)
    comment = re.search(r"^COMMENT\n(.*?)^ENDCOMMENT", text, re.M | re.S)
    assert comment and len(comment.group(1)) > 300, "a COMMENT block saying what it models"
    assert "Reads:" in comment.group(1) and "Writes:" in comment.group(1)
    assert "CoreNEURON" in comment.group(1)
    assert "THREADSAFE" in text and "VERBATIM" not in text
    assert re.search(r"^UNITS\s*\{", text, re.M)
    for block in ("PARAMETER", "ASSIGNED", "STATE"):
        m = re.search(rf"^{block}\s*\{{(.*?)^\}}", text, re.M | re.S)
        if not m:
            continue
        for line in m.group(1).splitlines():
            code = line.split(":")[0].strip()
            if code:
                assert "(" in code, f"{block} entry without units: {code!r}"


def test_one_faraday_convention_and_one_include_per_helper():
    """Every mod file that names the Faraday constant has it in 1e4 C/mol (the
    scaling the includes assume), and the shared helpers (pos, rtf, efun, ghk,
    poolcur) are defined once, in their include, never again in a mod file."""
    import re

    helpers = {"pos": "pos.inc", "rtf": "thermo.inc", "efun": "ghk.inc", "ghk": "ghk.inc",
               "poolcur": "calcium.inc"}
    for mod in MODS:
        text = mod.read_text()
        for line in re.findall(r"^\s*FARADAY\s*=.*$", text, re.M):
            assert "(10000 coulomb)" in line, (mod.name, line)
        defined = re.findall(r"^FUNCTION\s+(\w+)", text, re.M)
        assert not set(defined) & set(helpers), (mod.name, defined)
        for name, inc in helpers.items():
            if re.search(rf"\b{name}\(", text):
                assert f'INCLUDE "{inc}"' in text, (mod.name, name, inc)
    for inc in set(helpers.values()):
        defined = re.findall(r"^FUNCTION\s+(\w+)", (build.mod_dir() / inc).read_text(), re.M)
        assert set(defined) == {n for n, i in helpers.items() if i == inc}, (inc, defined)
