"""Tests for the ``ionhomeo build`` and ``ionhomeo mod-path`` commands (real nrnivmodl)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ionhomeo import build
from ionhomeo.cli import main

REPO = Path(__file__).resolve().parents[1]
LEAK = Path(__file__).resolve().parent / "data" / "leak"


def run_cli(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """Run ``python -m ionhomeo ARGS`` in a fresh interpreter."""
    full_env = dict(os.environ, **env,
                    PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-m", "ionhomeo", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=300)


def test_mod_path_prints_only_the_mod_directory(tmp_path):
    result = run_cli("mod-path", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    path = Path(lines[0])
    assert path.is_dir() and sorted(path.glob("*.mod"))
    # the subprocess imports the checkout (PYTHONPATH) and this process may
    # import an installed copy: either way the same mod sources must be there
    def sources(d):
        return {p.name: p.read_bytes() for p in sorted(d.glob("*.mod"))}

    assert sources(path) == sources(build.mod_dir())


def test_build_prints_build_directory_and_force_rebuilds(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IONHOMEO_CACHE", str(tmp_path / "cache"))
    assert main(["build", "--mod-dir", str(LEAK)]) == 0
    build_dir = Path(capsys.readouterr().out.strip())
    assert build_dir.parent == tmp_path / "cache"
    assert build.library_path(build_dir).is_file()
    marker = build_dir / build.MARKER
    first = marker.stat().st_mtime_ns

    assert main(["build", "--mod-dir", str(LEAK)]) == 0  # cached
    assert capsys.readouterr().out.strip() == str(build_dir)
    assert marker.stat().st_mtime_ns == first

    assert main(["build", "--force", "--mod-dir", str(LEAK)]) == 0
    assert capsys.readouterr().out.strip() == str(build_dir)
    assert marker.stat().st_mtime_ns > first
    assert build.library_path(build_dir).is_file()
    assert not [p for p in (tmp_path / "cache").iterdir() if p.name.startswith(".")]


def test_build_error_exits_2_with_message_and_no_traceback(tmp_path):
    missing = str(tmp_path / "no-such-nrnivmodl")
    result = run_cli("build", "--mod-dir", str(LEAK), cwd=tmp_path,
                     IONHOMEO_CACHE=str(tmp_path / "cache"), IONHOMEO_NRNIVMODL=missing)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "error" in result.stderr and missing in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow  # compiles all of ionhomeo's mechanisms (~30 s on 2 cores)
def test_build_real_mod_directory(tmp_path):
    result = run_cli("build", cwd=tmp_path, IONHOMEO_CACHE=str(tmp_path / "cache"))
    assert result.returncode == 0, result.stderr
    build_dir = Path(result.stdout.strip())
    assert build_dir.parent == tmp_path / "cache"
    assert build.library_path(build_dir).is_file()
    assert build_dir.name == build.source_hash(build.mod_dir())
