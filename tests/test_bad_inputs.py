"""Bad inputs and misuse, table-driven: each case asserts the exact kind of
error and that its message names the problem and the fix (no raw traceback,
no crash, no silent result)."""

import os
import signal
import subprocess
import sys
import time

import pytest

from ionhomeo import cli, morphology, recipe, recording, regions


def _binary_recipe(tmp_path):
    path = tmp_path / "picture.toml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    return lambda: recipe.load(path)


def _directory_recipe(tmp_path):
    return lambda: recipe.load(tmp_path)


def _missing_recipe(tmp_path):
    return lambda: recipe.load(tmp_path / "nowhere.toml")


def _unreadable_recipe(tmp_path):
    path = tmp_path / "secret.toml"
    path.write_text('name = "x"\n')
    path.chmod(0)
    if os.access(path, os.R_OK):  # root reads anything: nothing to test here
        pytest.skip("running as root: a file without permissions is still readable")
    return lambda: recipe.load(path)


#: (case, factory(tmp_path) -> callable, exception type, message pattern)
CASES = [
    ("binary recipe", _binary_recipe, recipe.RecipeError,
     r"picture\.toml is not a text \(UTF-8\) TOML file: byte \d+"),
    ("recipe is a directory", _directory_recipe, recipe.RecipeError,
     r"is a directory, not a TOML file"),
    ("recipe file missing", _missing_recipe, recipe.RecipeError, r"nowhere\.toml does not exist"),
    ("recipe file unreadable", _unreadable_recipe, recipe.RecipeError, r"permission denied"),
    ("region nested 5000 deep with ~", lambda _: lambda: regions.parse("~" * 5000 + "soma"),
     regions.RegionError, r"nested too deeply .* fewer levels"),
    ("region nested 5000 deep with ()",
     lambda _: lambda: regions.parse("(" * 5000 + "soma" + ")" * 5000),
     regions.RegionError, r"nested too deeply"),
    ("region not a string", lambda _: lambda: regions.parse(3), regions.RegionError,
     r"must be a string, got int"),
    ("region empty", lambda _: lambda: regions.parse("  "), regions.RegionError,
     r"expression is empty"),
]


def _image_as_swc(tmp_path):
    path = tmp_path / "neuron.swc"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    return lambda: morphology.load(path)


def _directory_as_asc(tmp_path):
    folder = tmp_path / "cells.asc"
    folder.mkdir()
    return lambda: morphology.load(folder)


CASES += [
    ("image renamed .swc", _image_as_swc, morphology.MorphologyError,
     r"neuron\.swc: not an SWC file: it holds binary data"),
    ("directory named .asc", _directory_as_asc, morphology.MorphologyError,
     r"cells\.asc: a directory, not an ASC file"),
    ("recording interval below NEURON's", lambda _: lambda: recording.Recorder(dt_ms=1e-12),
     recording.RecordingError, r"outside the sampling intervals NEURON records at"),
    ("recording interval above NEURON's", lambda _: lambda: recording.Recorder(dt_ms=5e12),
     recording.RecordingError, r"\(1e-9 to 1e9 ms\)"),
]


@pytest.mark.parametrize("duration", ["1e-12", "1e12", "0", "-5", "nan", "ten"])
def test_impossible_durations_are_refused_by_the_command_line(duration, capsys):
    """NEURON's own "Arg out of range" from deep in a run became an argument error."""
    with pytest.raises(SystemExit) as info:
        cli.main(["run", "rest", "--duration", duration, "--out", "unused"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --duration: " in err and "Traceback" not in err
    assert ("outside 0.001..1e+07 s" in err or "positive number of seconds" in err
            or "not a number" in err), err


@pytest.mark.parametrize("case, factory, kind, pattern", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_a_clear_error(tmp_path, case, factory, kind, pattern):
    call = factory(tmp_path)
    with pytest.raises(kind, match=pattern):
        call()


def test_ctrl_c_ends_the_command_line_with_a_message_not_a_traceback(tmp_path):
    """SIGINT during a run: exit status 130, one line, no Python traceback."""
    # every protocol in turn takes minutes: interrupted well inside it
    proc = subprocess.Popen([sys.executable, "-m", "ionhomeo", "run", "all", "--out",
                             str(tmp_path / "out")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    time.sleep(8)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err)
    assert "ionhomeo run: interrupted (Ctrl-C)" in err
    assert "Traceback" not in err


def test_an_unwritable_cache_names_the_variable_that_chose_it(tmp_path, monkeypatch):
    from ionhomeo import build

    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("IONHOMEO_CACHE", str(blocker / "cache"))
    with pytest.raises(build.BuildError, match=r"compile cache .*a_file/cache \(from "
                                               r"\$IONHOMEO_CACHE\) cannot be created or "
                                               r"written: .*Set IONHOMEO_CACHE to a writable"):
        build.compile_mechanisms()


def _unbranched_swc(path, n):
    lines = ["1 1 0 0 0 5 -1"] + [f"{i + 2} 3 0 {5 + 0.1 * i:.3f} 0 0.5 {i + 1}" for i in range(n)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_section_longer_than_neuron_can_hold_is_refused_before_neuron_sees_it(tmp_path):
    """NEURON keeps a section's 3-D point count in 16 bits: 40000 unbranched
    points collapsed the section (n3d -32768, L 1e-9 um) or crashed Import3d."""
    from ionhomeo import morphology

    with pytest.raises(morphology.MorphologyError,
                       match=r"long\.swc line 2: the unbranched run of points starting here has "
                             r"more than 32767 points.*resample it"):
        morphology.load(_unbranched_swc(tmp_path / "long.swc", 40000))
    # just below the limit is a morphology like any other
    assert morphology.load(_unbranched_swc(tmp_path / "ok.swc", 32000)).n_points == 32001
