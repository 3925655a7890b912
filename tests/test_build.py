"""Tests for ionhomeo.build: cache key, caching, locking, errors and loading.

These use real nrnivmodl and real NEURON with the tiny mod files in
tests/data/.  Mechanisms can be loaded only once per process, so everything
that loads a library runs in a subprocess with IONHOMEO_CACHE pointing at a
temporary directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ionhomeo import build

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
LEAK = DATA / "leak"          # SUFFIX ihtestleak
LEAK_ALT = DATA / "leak_alt"  # same SUFFIX, different source
BROKEN = DATA / "broken"      # invalid NMODL


def run_python(code: str, cache: Path, cwd: Path, **popen) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter using ``cache`` as IONHOMEO_CACHE."""
    env = dict(os.environ, IONHOMEO_CACHE=str(cache),
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=180, **popen)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A cache holding builds of LEAK and LEAK_ALT (compiled once for this module)."""
    root = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IONHOMEO_CACHE", str(root))
        build.compile_mechanisms(LEAK)
        build.compile_mechanisms(LEAK_ALT)
    return root


# ---------------------------------------------------------------- cache key


def test_source_hash_tracks_file_names_and_contents(tmp_path):
    a = tmp_path / "a"
    shutil.copytree(LEAK, a)
    original = build.source_hash(a)
    assert len(original) == 16 and int(original, 16) >= 0

    b = tmp_path / "b"  # same files elsewhere: same key (content, not location)
    shutil.copytree(LEAK, b)
    assert build.source_hash(b) == original

    mod = a / "ihtestleak.mod"
    mod.write_text(mod.read_text().replace("e = -70", "e = -71"))
    assert build.source_hash(a) != original

    mod.write_bytes((LEAK / "ihtestleak.mod").read_bytes())
    assert build.source_hash(a) == original
    mod.rename(a / "renamed.mod")
    assert build.source_hash(a) != original

    (b / "helper.inc").write_text(": included file\n")
    assert build.source_hash(b) != original


def test_mechanism_names_ignore_comments(tmp_path):
    (tmp_path / "x.mod").write_text(
        "COMMENT\nSUFFIX notreal\nENDCOMMENT\n"
        "NEURON { SUFFIX real_one : SUFFIX alsonotreal\n}\n"
    )
    (tmp_path / "y.mod").write_text("NEURON {\n  POINT_PROCESS RealPP\n}\n")
    (tmp_path / "z.mod").write_text("NEURON {\n  SUFFIX nothing\n}\n")
    assert build.mechanism_names(tmp_path) == ["RealPP", "real_one"]


def test_cache_root_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("IONHOMEO_CACHE", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert build.cache_root() == tmp_path / "explicit"
    monkeypatch.delenv("IONHOMEO_CACHE")
    assert build.cache_root() == tmp_path / "xdg" / "ionhomeo"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert build.cache_root() == tmp_path / "home" / ".cache" / "ionhomeo"


# ---------------------------------------------------------------- compiling


def test_build_lands_in_cache_outside_source_tree(cache, monkeypatch):
    monkeypatch.setenv("IONHOMEO_CACHE", str(cache))
    build_dir = build.compile_mechanisms(LEAK)
    assert build_dir == cache / build.source_hash(LEAK)
    library = build.library_path(build_dir)
    assert library is not None and library.is_file()
    assert (build_dir / build.MARKER).is_file()
    # nothing was written next to the sources
    assert sorted(p.name for p in LEAK.iterdir()) == ["ihtestleak.mod"]
    # and no temporary directories were left behind
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]


def test_second_call_reuses_build(cache, monkeypatch):
    monkeypatch.setenv("IONHOMEO_CACHE", str(cache))
    build_dir = build.compile_mechanisms(LEAK)
    marker_mtime = (build_dir / build.MARKER).stat().st_mtime_ns
    # With nrnivmodl made unavailable, only a cache hit can succeed.
    monkeypatch.setenv("IONHOMEO_NRNIVMODL", str(cache / "no-such-nrnivmodl"))
    assert build.compile_mechanisms(LEAK) == build_dir
    assert (build_dir / build.MARKER).stat().st_mtime_ns == marker_mtime


def test_concurrent_compiles_of_fresh_cache(tmp_path):
    fresh = tmp_path / "fresh-cache"
    # an nrnivmodl that logs each run, to see that only one process compiled
    log = tmp_path / "nrnivmodl-runs"
    counting = tmp_path / "counting-nrnivmodl"
    counting.write_text(f'#!/bin/sh\necho run >> "{log}"\nexec "{build._find_nrnivmodl()}" "$@"\n')
    counting.chmod(0o755)
    code = f"from ionhomeo.build import compile_mechanisms; print(compile_mechanisms({str(LEAK)!r}))"
    env = dict(os.environ, IONHOMEO_CACHE=str(fresh), IONHOMEO_NRNIVMODL=str(counting),
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [(*p.communicate(timeout=180), p.returncode) for p in procs]
    assert [rc for _, _, rc in results] == [0, 0], results
    assert log.read_text().split() == ["run"]
    paths = {out.strip() for out, _, _ in results}
    assert len(paths) == 1
    build_dir = Path(paths.pop())
    assert build.library_path(build_dir).is_file()
    assert sorted(p.name for p in fresh.iterdir()) == [build_dir.name, f"{build_dir.name}.lock"]

    # the library loads and the mechanism computes i = g*(v - e)
    check = run_python(f"""
        from ionhomeo.build import load
        load({str(LEAK)!r})
        from neuron import h
        sec = h.Section()
        sec.insert("ihtestleak")
        h.finitialize(-65)
        print(sec(0.5).ihtestleak.i)
    """, fresh, tmp_path)
    assert check.returncode == 0, check.stderr
    assert float(check.stdout.split()[-1]) == pytest.approx(0.001 * (-65 + 70))


def test_missing_nrnivmodl(tmp_path, monkeypatch):
    monkeypatch.setenv("IONHOMEO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path))
    missing = tmp_path / "no-such-nrnivmodl"
    monkeypatch.setenv("IONHOMEO_NRNIVMODL", str(missing))
    with pytest.raises(build.CompilerNotFoundError) as err:
        build.compile_mechanisms(LEAK)
    message = str(err.value)
    assert "nrnivmodl" in message and str(missing) in message
    assert 'pip install "neuron' in message
    assert not (tmp_path / "cache" / build.source_hash(LEAK)).exists()


def test_missing_cxx_compiler(tmp_path, monkeypatch):
    monkeypatch.setenv("IONHOMEO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CXX", str(tmp_path / "no-such-c++"))
    with pytest.raises(build.CompilerNotFoundError) as err:
        build.compile_mechanisms(LEAK)
    assert "C++ compiler" in str(err.value) and "no-such-c++" in str(err.value)
    assert "build-essential" in str(err.value)


def test_broken_mod_raises_compile_error(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("IONHOMEO_CACHE", str(cache))
    with pytest.raises(build.CompileError) as err:
        build.compile_mechanisms(BROKEN)
    message = str(err.value)
    assert "Illegal" in message                   # nocmodl's own complaint
    assert str(BROKEN) in message and "nrnivmodl" in message
    # nothing half-built: only the lock file remains
    assert [p.name for p in cache.iterdir()] == [f"{build.source_hash(BROKEN)}.lock"]


# ---------------------------------------------------------------- loading


def test_load_twice_is_a_noop(cache, tmp_path):
    result = run_python(f"""
        from ionhomeo.build import load
        first = load({str(LEAK)!r})
        second = load({str(LEAK)!r})  # a real second nrn_load_dll would raise
        assert first == second, (first, second)
        from neuron import h
        print(first, h.name_declared("ihtestleak"))
    """, cache, tmp_path)
    assert result.returncode == 0, result.stderr
    path, declared = result.stdout.split()[-2:]
    assert Path(path) == build.library_path(cache / build.source_hash(LEAK)).resolve()
    assert float(declared) > 0


def test_conflict_with_other_library_defining_same_suffix(cache, tmp_path):
    other = build.library_path(cache / build.source_hash(LEAK_ALT))
    result = run_python(f"""
        from neuron import h
        assert h.nrn_load_dll({str(other)!r})
        from ionhomeo.build import load, MechanismConflictError
        try:
            load({str(LEAK)!r})
        except MechanismConflictError as err:
            print("CONFLICT:", err)
    """, cache, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "CONFLICT:" in result.stdout
    message = result.stdout.split("CONFLICT:", 1)[1]
    assert "ihtestleak" in message
    assert str(cache / build.source_hash(LEAK)) in message  # where ours comes from
    assert "restart Python" in message


def test_conflict_with_stray_build_in_working_directory(cache, tmp_path):
    library = build.library_path(cache / build.source_hash(LEAK))
    shutil.copytree(library.parent, tmp_path / library.parent.name)
    result = run_python(f"""
        import neuron  # auto-loads ./{library.parent.name}/ from the working directory
        from ionhomeo.build import load, MechanismConflictError
        try:
            load({str(LEAK)!r})
        except MechanismConflictError as err:
            print("CONFLICT:", err)
    """, cache, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "CONFLICT:" in result.stdout
    message = result.stdout.split("CONFLICT:", 1)[1]
    assert "ihtestleak" in message and str(tmp_path / library.parent.name) in message


def test_loading_a_different_build_later_raises(cache, tmp_path):
    result = run_python(f"""
        from ionhomeo.build import load, MechanismConflictError
        load({str(LEAK)!r})
        try:
            load({str(LEAK_ALT)!r})  # e.g. sources edited mid-session
        except MechanismConflictError as err:
            print("CONFLICT:", err)
        from neuron import h
        sec = h.Section(); sec.insert("ihtestleak")
        print("E", sec(0.5).ihtestleak.e)
    """, cache, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "CONFLICT:" in result.stdout and "Restart Python" in result.stdout
    assert result.stdout.split()[-1] == "-70.0"  # the first build is still the one in use


def test_a_damaged_cached_library_is_rebuilt_with_a_message(tmp_path, monkeypatch, capsys):
    """A truncated cached libnrnmech killed every run with 'Bus error' while the
    marker said the build was complete: the marker now records the library's
    size and checksum, a mismatch is said and compiled again, and the folders
    a killed compile left behind are removed then."""
    monkeypatch.setenv("IONHOMEO_CACHE", str(tmp_path / "cache"))
    build_dir = build.compile_mechanisms(LEAK)
    library = build.library_path(build_dir)
    good = library.read_bytes()
    marker = (build_dir / build.MARKER).read_text()
    assert f"library_size: {len(good)}" in marker and "library_sha256: " in marker
    leftovers = [build_dir.parent / f".tmp-{build_dir.name}-killed",
                 build_dir.parent / f".old-{build_dir.name}-killed"]
    for folder in leftovers:
        folder.mkdir()
    library.write_bytes(good[: len(good) // 2])          # truncated
    capsys.readouterr()
    assert build.compile_mechanisms(LEAK) == build_dir
    err = capsys.readouterr().err
    assert f"the cached build {build_dir} cannot be trusted (its library is {len(good) // 2} " \
           f"bytes, {len(good)} when it was built); compiling it again" in err
    assert build.library_path(build_dir).stat().st_size == len(good)
    assert not any(folder.exists() for folder in leftovers)
    # same size, different bytes: the checksum catches it
    library = build.library_path(build_dir)
    data = bytearray(library.read_bytes())
    data[len(data) // 2] ^= 0xFF
    library.write_bytes(bytes(data))
    assert build.compile_mechanisms(LEAK) == build_dir
    assert "checksum differs" in capsys.readouterr().err
    # an intact build is a cache hit without a word
    assert build.compile_mechanisms(LEAK) == build_dir
    assert capsys.readouterr().err == ""
