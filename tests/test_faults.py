"""Faults: a run's outputs appear together or not at all, a killed compile
leaves nothing behind, and a damaged library in the working directory is
said before NEURON crashes on it. The kills are real (SIGKILL to a child
process), placed at every step of the writing."""

import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from ionhomeo import build, results
from ionhomeo.experiment import finish, summary_table

DATA = Path(__file__).parent / "data"


def _hidden(folder: Path) -> list:
    """Hidden entries left in ``folder``, but for the commits' lock file (kept by design)."""
    return sorted(p.name for p in folder.iterdir()
                  if p.name.startswith(".") and p.name != results.LOCK_NAME)


def _set(folder: Path) -> dict:
    """name -> bytes of every entry of a folder."""
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def _write(out, run_id: str, figure: bool = True, extra: bool = True):
    """A protocol-like result set whose every file carries ``run_id``."""
    summary = summary_table([("run", 1.0, "1", run_id)])
    table = pd.DataFrame({"t_s": [0.0, 1.0], "run": [run_id, run_id]})
    tables = {"": table, "extra": table} if extra else {"": table}

    def draw():
        from matplotlib.figure import Figure

        fig = Figure()
        fig.subplots().set_title(run_id)
        return fig

    return finish(out, "demo", summary, {"protocol": "demo", "run": run_id}, time.perf_counter(),
                  table, figure=draw if figure else None, tables=tables)


def _assert_one_complete_set(out: Path, allowed: set):
    """``out`` holds exactly one run's set: its JSON's listing matches every
    file (size, SHA-256), every file names the same run, nothing else."""
    meta = json.loads((out / "demo.json").read_text())
    assert meta["run"] in allowed
    assert results.verify(out / "demo.json") == []
    names = {entry["file"] for entry in meta["files"]} | {"demo.json"}
    assert {p.name for p in out.iterdir()} - {"notes.txt", ".draft.tmp"} == names
    for name in names - {"demo.png", "demo.json"}:
        assert meta["run"] in (out / name).read_text()
    return meta["run"]


# -- the result set, in one process ---------------------------------------------


def test_a_new_run_replaces_the_previous_set_as_a_whole_and_keeps_other_files(tmp_path):
    out = tmp_path / "out"
    first = _write(out, "first")
    assert sorted(p.name for p in first.files) == sorted(os.listdir(out))
    (out / "notes.txt").write_text("mine")
    (out / ".draft.tmp").write_text("mine too")  # a hidden temporary of the user's
    inode = (out / "notes.txt").stat().st_ino
    # the second run writes no figure and no extra table: the first run's do not survive
    second = _write(out, "second", figure=False, extra=False)
    assert sorted(os.listdir(out)) == sorted([p.name for p in second.files]
                                             + ["notes.txt", ".draft.tmp"])
    assert (out / ".draft.tmp").read_text() == "mine too"
    assert _assert_one_complete_set(out, {"second"}) == "second"
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "notes.txt").stat().st_ino == inode  # the same file, not a copy
    assert not _hidden(tmp_path)  # no hidden leftovers


def test_an_error_while_writing_changes_nothing_and_keeps_the_result(tmp_path, monkeypatch):
    out = tmp_path / "out"
    _write(out, "first")
    before = _set(out)

    def full_disk(df, path):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(results, "write_csv", full_disk)
    with pytest.raises(results.OutputError, match=r"cannot write results to .*out: No space left "
                                                  r"on device while writing demo\.csv \(earlier "
                                                  r"results there are unchanged\); free some "
                                                  r"space or choose another --out") as info:
        _write(out, "second")
    assert info.value.result is not None  # computed, not lost
    assert info.value.result.summary["description"].iloc[0] == "second"
    assert _set(out) == before
    assert not _hidden(tmp_path)


def test_a_figure_that_fails_leaves_the_data_written_and_says_so(tmp_path):
    def broken():
        raise ValueError("no such colour")

    summary = summary_table([("x", 1.0, "1", "x")])
    table = pd.DataFrame({"t_s": [0.0]})
    with pytest.warns(RuntimeWarning, match="figure not written: ValueError: no such colour"):
        res = finish(tmp_path / "out", "demo", summary, {"protocol": "demo"}, time.perf_counter(),
                     table, figure=broken)
    assert res.figures == ()
    assert sorted(os.listdir(tmp_path / "out")) == ["demo.csv", "demo.json", "demo_summary.csv"]
    meta = json.loads((tmp_path / "out" / "demo.json").read_text())
    assert meta["warnings"] == ["figure not written: ValueError: no such colour"]


@pytest.mark.parametrize("where, pattern", [
    ("file", r"it is a file, not a folder"),
    ("subfolder", r"it holds folders \(keep\), and a run's results replace their folder"),
    ("cwd", r"cannot write results to the working directory"),
    ("root", r"the file system root"),
])
def test_an_output_folder_that_cannot_take_a_set_is_refused_before_computing(
        tmp_path, monkeypatch, where, pattern):
    target = {"file": tmp_path / "a_file", "subfolder": tmp_path / "busy",
              "cwd": tmp_path, "root": Path("/")}[where]
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "busy" / "keep").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(results.OutputError, match=pattern):
        results.check_output_dir(target)


def test_a_mount_point_or_another_users_folder_is_refused_before_computing(tmp_path,
                                                                           monkeypatch):
    """Replacing a mount point fails at the rename (EBUSY); replacing another
    user's folder would hand it to whoever ran ionhomeo."""
    mine = tmp_path / "mine"
    mine.mkdir()
    monkeypatch.setattr(os.path, "ismount", lambda path: Path(path) == mine)
    with pytest.raises(results.OutputError, match=r"it is a mount point.*choose a folder "
                                                  r"inside it \(--out .*mine/results\)"):
        results.check_output_dir(mine)
    monkeypatch.undo()
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    if os.geteuid() == 0:
        os.chown(theirs, 12345, -1)
    elif os.stat(theirs).st_uid == os.geteuid():
        pytest.skip("not root: cannot make a folder that belongs to another user")
    with pytest.raises(results.OutputError, match=r"it belongs to another user \(uid 12345\)"):
        results.check_output_dir(theirs)


def test_a_read_only_file_system_is_found_by_creating_a_file(tmp_path, monkeypatch):
    """Permission bits do not stop root; a real file is created to prove the
    folder writable (here its creation fails as on a read-only mount)."""
    import tempfile

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(results.OutputError, match=r"Read-only file system while creating a "
                                                  r"test file in .*; choose another --out"):
        results.check_output_dir(tmp_path / "out")


def test_the_command_line_refuses_an_unwritable_output_before_computing(
        tmp_path, capsys, monkeypatch):
    from ionhomeo import cli
    from ionhomeo.protocols import PROTOCOLS, Protocol

    ran = []

    def run(out_dir=None, duration_s=1.0):
        ran.append(out_dir)

    monkeypatch.setitem(PROTOCOLS, "rest", Protocol("rest", run, "stand-in"))
    (tmp_path / "a_file").write_text("x")
    assert cli.main(["run", "rest", "--out", str(tmp_path / "a_file")]) == 2
    assert ran == []  # refused before the protocol started
    err = capsys.readouterr().err
    assert "ionhomeo run rest: error: cannot write results to" in err
    assert "it is a file, not a folder" in err and "Traceback" not in err


def test_leftovers_of_dead_runs_are_removed_and_a_set_left_aside_comes_back(tmp_path):
    out = tmp_path / "out"
    _write(out, "first")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    staging = tmp_path / f".out.ionhomeo-staging-{dead}-abc"
    staging.mkdir()
    (staging / "demo.csv").write_text("half")
    # a run killed between its two renames (where the atomic swap is not
    # available) leaves the previous set aside and no folder in its place
    aside = tmp_path / f".out.ionhomeo-old-{dead}-xyz"
    os.rename(out, aside)
    alive = tmp_path / f".out.ionhomeo-staging-{os.getppid()}-live"  # a running process's
    alive.mkdir()
    _write(out, "second")
    assert _assert_one_complete_set(out, {"second"}) == "second"
    assert _hidden(tmp_path) == [alive.name]


def test_without_the_atomic_swap_the_two_renames_still_give_whole_sets(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "_exchange", lambda a, b: False)
    out = tmp_path / "out"
    _write(out, "first")
    _write(out, "second")
    assert _assert_one_complete_set(out, {"second"}) == "second"
    assert not _hidden(tmp_path)


def test_without_the_swap_an_error_between_the_renames_puts_the_previous_set_back(
        tmp_path, monkeypatch):
    monkeypatch.setattr(results, "_exchange", lambda a, b: False)
    out = tmp_path / "out"
    _write(out, "first")
    before = _set(out)
    real_rename = os.rename

    def failing(src, dst):
        if ".ionhomeo-staging-" in str(src) and Path(dst) == out.resolve():
            raise KeyboardInterrupt  # Ctrl-C right between the two renames
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", failing)
    with pytest.raises(KeyboardInterrupt):
        _write(out, "second")
    assert _set(out) == before
    assert _hidden(tmp_path) == []


def test_verify_finds_a_changed_or_missing_file(tmp_path):
    _write(tmp_path / "out", "first")
    (tmp_path / "out" / "demo_extra.csv").write_text("t_s,run\n0.0,other\n1.0,other\n")
    (tmp_path / "out" / "demo.png").unlink()
    problems = results.verify(tmp_path / "out" / "demo.json")
    assert "demo.png: missing" in problems
    assert any(p.startswith("demo_extra.csv: ") for p in problems)
    assert len(problems) == 2
    # a listing that points outside the folder is a problem, not a file read
    meta = json.loads((tmp_path / "out" / "demo.json").read_text())
    meta["files"].append({"file": "../../etc/passwd", "sha256": "0" * 64})
    (tmp_path / "out" / "demo.json").write_text(json.dumps(meta))
    assert "'../../etc/passwd': not a file name of this folder" in \
        results.verify(tmp_path / "out" / "demo.json")


# -- kill -9 while writing --------------------------------------------------------

#: a child that writes result sets and pauses (printing where) after each step
_WRITER = r"""
import sys, time
sys.path.insert(0, {tests!r})
from ionhomeo import results
import test_faults

def pausing(func, label):
    def wrapper(*args, **kwargs):
        out = func(*args, **kwargs)
        print(label, flush=True)
        time.sleep(0.3)
        return out
    return wrapper

for name in ("write_csv", "save_figure", "write_json", "_exchange", "_fsync_dir"):
    setattr(results, name, pausing(getattr(results, name), name))
print("start", flush=True)
test_faults._write({out!r}, {run!r})
print("done", flush=True)
"""


def _writer(out: Path, run: str):
    code = _WRITER.format(tests=str(Path(__file__).parent), out=str(out), run=run)
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_kill_9_at_every_step_of_writing_leaves_one_complete_set(tmp_path):
    """Before: 8 of 10 kills left folders mixing two runs. Each step of the
    writing (every file, the JSON, the swap, the syncs) is killed once."""
    out = tmp_path / "out"
    _write(out, "first")
    (out / "notes.txt").write_text("mine")
    # the steps, as the child prints them: 3 tables, the figure, the JSON,
    # then the folder syncs and the swap
    proc = _writer(out, "probe")
    steps = [line.strip() for line in proc.stdout]
    assert proc.wait() == 0, proc.stderr.read()
    assert steps[0] == "start" and steps[-1] == "done" and "_exchange" in steps
    steps = steps[1:-1]
    _write(out, "first")
    outcomes, left = [], []
    for k in range(len(steps)):
        proc = _writer(out, f"killed-after-{k}")
        done = 0  # steps completed, as the child prints them
        for line in proc.stdout:
            done += line.strip() != "start"
            if done == k + 1:
                break
        else:
            pytest.fail(f"the child ended before step {k} ({steps[k]}): {proc.stderr.read()}")
        proc.send_signal(signal.SIGKILL)  # in the pause after step k
        proc.wait()
        outcomes.append(_assert_one_complete_set(out, {"first", f"killed-after-{k}"}))
        left.append(any(p.name.startswith(".out.ionhomeo-") for p in tmp_path.iterdir()))
        assert (out / "notes.txt").read_text() == "mine"
        if outcomes[-1] != "first":
            _write(out, "first")
    # killed up to the swap: the previous set; from the swap on: the new one
    swap = steps.index("_exchange")
    assert outcomes == ["first"] * swap + [f"killed-after-{k}" for k in range(swap, len(steps))]
    assert left[0]  # the first kill left its hidden folder ...
    _write(out, "last")  # ... which the next run removes, with every other
    assert not _hidden(tmp_path)
    assert _assert_one_complete_set(out, {"last"}) == "last"


def test_kill_9_of_a_real_protocol_run_keeps_the_earlier_results(tmp_path):
    """`ionhomeo run rest` killed while it computes: the earlier complete set stays."""
    out = tmp_path / "rest"
    first = subprocess.run([sys.executable, "-m", "ionhomeo", "run", "rest", "--out", str(out)],
                           capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert first.returncode == 0, first.stderr
    before = _set(out)
    assert results.verify(out / "rest.json") == []
    # 300 s of simulated time: about 20 s here, killed well inside it
    proc = subprocess.Popen([sys.executable, "-m", "ionhomeo", "run", "rest", "--out", str(out),
                             "--duration", "300"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
    time.sleep(5)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, "the run ended before it could be killed"
    assert _set(out) == before
    # the next run into the same place writes its whole set
    again = subprocess.run([sys.executable, "-m", "ionhomeo", "run", "rest", "--out", str(out)],
                           capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert again.returncode == 0, again.stderr
    assert results.verify(out / "rest.json") == []
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".rest.")]


# -- kill -9 while compiling --------------------------------------------------------


def test_kill_9_during_a_compile_leaves_the_earlier_build_and_no_folder_behind(
        tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("IONHOMEO_CACHE", str(cache))
    build_dir = build.compile_mechanisms(DATA / "leak")
    library = build.library_path(build_dir)
    digest = hashlib.sha256(library.read_bytes()).hexdigest()
    # a forced rebuild, killed (with its compiler: the whole job, as a batch
    # system does) while nrnivmodl runs
    proc = subprocess.Popen(
        [sys.executable, "-c", "from ionhomeo import build; "
                               f"build.compile_mechanisms({str(DATA / 'leak')!r}, force=True)"],
        env=dict(os.environ, IONHOMEO_CACHE=str(cache)), start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(cache.glob(f".tmp-{build_dir.name}-*/*.mod")):
        assert proc.poll() is None and time.monotonic() < deadline, "the compile never started"
        time.sleep(0.05)
    time.sleep(0.5)  # inside nrnivmodl
    assert proc.poll() is None, "the compile ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert list(cache.glob(f".tmp-{build_dir.name}-*"))  # what the kill left
    # the earlier build is intact and used as it is; the leftover goes
    assert build.compile_mechanisms(DATA / "leak") == build_dir
    assert hashlib.sha256(build.library_path(build_dir).read_bytes()).hexdigest() == digest
    assert build._damage(build_dir) is None
    assert not list(cache.glob(".tmp-*")) and not list(cache.glob(".old-*"))


# -- a damaged library in the working directory -------------------------------------


def test_a_damaged_library_in_the_working_directory_is_said_not_crashed_on(tmp_path):
    """A truncated ./x86_64/libnrnmech.so killed `import neuron` with 'Bus error'."""
    from ionhomeo import _guard

    library = build.library_path(build.compile_mechanisms())
    assert _guard.elf_problem(library) is None  # an intact library passes
    arch = tmp_path / "x86_64"
    arch.mkdir()
    data = library.read_bytes()
    (arch / "libnrnmech.so").write_bytes(data[: len(data) // 3])
    run = subprocess.run([sys.executable, "-m", "ionhomeo", "run", "rest", "--out", "r"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert run.returncode == 2, (run.returncode, run.stderr)
    assert (f"ionhomeo run: error: {arch / 'libnrnmech.so'} is damaged: it is truncated: "
            f"{len(data) // 3} bytes where its ELF headers need") in run.stderr
    assert f"Remove its folder (rm -r {arch})" in run.stderr and "Traceback" not in run.stderr
    code = "import ionhomeo\ntry:\n    import neuron\nexcept ImportError as e:\n    print(type(e).__name__)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, timeout=300)
    assert run.returncode == 0 and run.stdout.strip() == "DamagedLibraryError", run.stderr
    # what NEURON does not load, or refuses without crashing, is left to it:
    # a file that is not ELF (dlopen says so), and a library under .libs
    (arch / "libnrnmech.so").write_bytes(b"not a library")
    assert _guard.damaged_library(tmp_path) is None
    (arch / "libnrnmech.so").unlink()
    (arch / ".libs").mkdir()
    (arch / ".libs" / "libnrnmech.so").write_bytes(data[: len(data) // 3])
    assert _guard.damaged_library(tmp_path) is None
    # a header whose tables cannot be read is damage, not a struct.error
    broken = bytearray(data[:4096])
    broken[54:56] = (0).to_bytes(2, "little")  # e_phentsize 0
    broken[56:58] = (9).to_bytes(2, "little")  # with 9 program headers
    (arch / "libnrnmech.so").write_bytes(bytes(broken))
    problem = _guard.damaged_library(tmp_path)
    assert problem is not None and "its ELF headers are malformed" in problem


def test_the_check_does_not_fail_in_a_removed_working_directory(tmp_path):
    """Path.cwd() raises there: the check must not turn that into a failed import."""
    gone = tmp_path / "gone"
    gone.mkdir()
    code = (f"import os; os.chdir({str(gone)!r}); os.rmdir({str(gone)!r})\n"
            "import ionhomeo, neuron\nprint('imported')")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0 and run.stdout.strip().endswith("imported"), run.stderr
