"""The README's own text runs as written: its commands and code blocks are
extracted from README.md, not copied into the tests."""

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def section(title: str) -> str:
    """The text of the README section headed ``## title`` (up to the next ``## ``)."""
    text = README.read_text()
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None]


def code_blocks(text: str, language: str) -> list:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


def test_the_hoc_section_runs_as_written(tmp_path):
    """Its shell commands, pasted into a shell in a fresh directory holding its
    hoc snippet as my_model.hoc: compile with nrnivmodl, run with plain nrniv."""
    text = section("Using the mechanisms from plain hoc")
    [commands] = code_blocks(text, "bash")
    [model, rest_line] = code_blocks(text, "hoc")
    assert "my_model.hoc" in commands
    (tmp_path / "my_model.hoc").write_text(model)
    # the user's shell: the installed package's commands (ionhomeo, nrnivmodl,
    # nrniv) on PATH, as after activating the virtual environment
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    env.pop("HOC_LIBRARY_PATH", None)
    proc = subprocess.run(["bash", "-e", "-c", commands], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    m = re.search(r"dend\(0\.95\) cli (\S+) -> (\S+) mM, E_GABA (\S+) mV; soma v (\S+) mV", out)
    assert m, out
    cl_start, cl_end, egaba, v = map(float, m.groups())
    assert cl_start == 8.0  # the segment's own initial value survived finitialize
    assert 0 < cl_end < cl_start  # KCC2 and diffusion pull it towards the others' 5 mM
    assert -90 < egaba < -50 and -90 < v < -50
    assert "was not loaded" not in out and "celsius is 6.3" not in out


def test_the_hoc_steady_state_line_is_the_tested_one():
    """The README's one line is steady.HOC_LINE, which tests/test_steady_any.py
    runs through nrniv (a hoc cell then starts at rest and does not drift)."""
    from ionhomeo import steady

    [_, rest_line] = code_blocks(section("Using the mechanisms from plain hoc"), "hoc")
    assert rest_line.strip() == steady.HOC_LINE


def test_the_python_examples_run_as_written(tmp_path):
    """Each python block of the README's usage sections, in a fresh interpreter."""
    blocks = (code_blocks(section("Cells, regions and recipes"), "python")
              + code_blocks(section("With BluePyOpt and NetPyNE"), "python")
              + code_blocks(section("Using it from Python"), "python"))
    assert len(blocks) == 3
    outputs = []
    for code in blocks:
        proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                              text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "was not loaded" not in proc.stdout
        assert "celsius is 6.3" not in proc.stdout
        outputs.append(proc.stdout)
    # the NetPyNE network: the dendrite started at its per-section Cl (15 mM,
    # not the 5 mM default); the dendrite rests below E_Cl at 15 mM (about
    # -62 mV at 37 C), so its GABA-A inputs and leak carry Cl out
    m = re.search(r"dend\(0\.9\) cli (\S+) -> (\S+) mM after 25 GABA-A inputs", outputs[1])
    assert m, outputs[1]
    start, end = map(float, m.groups())
    assert start == 15.0 and 5 < end < start
    # the second prints the rest it held for 10 s
    m = re.search(r"soma (\S+) mV, dend\(0\.9\) cli (\S+) mM after 10 s at rest", proc.stdout)
    assert m, proc.stdout
    v, cli = map(float, m.groups())
    assert -90 < v < -60 and 0 < cli < 10


def test_the_protocol_template_runs_as_written_in_under_100_lines(tmp_path):
    """The developer guide's complete protocol: under 100 lines, run in a fresh
    interpreter; its check (dV/dt = I_pump/C_m at the block) passes."""
    [code] = code_blocks(section("Development").split("### Writing a protocol")[1], "python")
    assert len(code.splitlines()) < 100
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"^PASS  dVdt: \S+ mV/ms, expected \S+ mV/ms \+/- 1 % \(physics: ",
                     proc.stdout, re.M), proc.stdout
    files = {p.name for p in (tmp_path / "pump-block-out").iterdir()}
    assert files == {"pump-block.csv", "pump-block_summary.csv", "pump-block_checks.csv",
                     "pump-block.json", "pump-block.png"}


def test_the_sweep_section_runs_as_written(tmp_path):
    """The README's sweep spec, saved under the name its comment gives, and
    its commands in a shell: the points listed, then run on every core into
    one table with a row per point and quantity, and the figure."""
    import json

    text = section("Parameter sweeps")
    [spec] = code_blocks(text, "toml")
    [commands] = code_blocks(text, "bash")
    name = re.match(r"# (\S+\.toml)\n", spec).group(1)
    (tmp_path / name).write_text(spec)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               MPLBACKEND="Agg")
    proc = subprocess.run(["bash", "-e", "-c", commands], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "nakpump.imax[all] (mA/cm2)" in proc.stdout and "0005" in proc.stdout  # --points
    assert "sweep pump-sweep: 6 points of spike-train, 0 failed" in proc.stdout
    out = tmp_path / "sweeps" / "pump"
    meta = json.loads((out / "results.json").read_text())
    assert meta["completed"] == 6 and meta["failed"] == []
    assert len(list(out.glob("points/*/point.json"))) == 6
    assert (out / "results.png").stat().st_size > 0


def test_every_option_the_command_line_section_names_exists():
    """Each --option the README's command-line section documents is one the
    command line has (in the help of ionhomeo or of one of its commands),
    and the ones of the first hour are documented."""
    from ionhomeo import cli

    text = section("Command line")
    documented = set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", text))
    assert {"--quiet", "--format", "--version", "--set", "--options"} <= documented
    parser = cli.build_parser()
    helps = [parser.format_help()]
    for action in parser._subparsers._group_actions:
        helps += [sub.format_help() for sub in action.choices.values()]
    known = set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", "\n".join(helps)))
    assert documented <= known, sorted(documented - known)
