"""Writing results: provenance, and atomic CSV, JSON and figure files.

A protocol's results directory holds, for a protocol called ``<name>``:

* ``<name>.csv``: a tidy (long) table, one observation per row, units in the
  column names (``t_s``) or in a ``unit`` column;
* ``<name>.json``: :func:`provenance` (versions, mod source hash, time),
  the parameters and the summary numbers;
* ``<name>.png``: the figure.

Every writer is atomic: the data go to a temporary file in the target
directory, which then replaces the target with :func:`os.replace`. A reader
therefore sees the old file or the complete new one, never a partial file,
even if the run is interrupted. Missing directories are created.

A protocol's files are also atomic *as a set* (:func:`result_set`): they are
written into a hidden folder beside the output folder, which then takes the
output folder's place in one rename. A run killed at any moment (even with
``kill -9``) leaves the output folder holding the previous run's complete set
or the new complete set, never a mixture; the hidden folder it leaves behind
is removed by the next run into the same place. The JSON lists every other
file of the set with its size and SHA-256 (:func:`verify` checks them).
"""

from __future__ import annotations

import contextlib
import errno
import dataclasses
import datetime
import json
import math
import os
import platform
import re
import shutil
import tempfile
from pathlib import Path

from .build import _sha256  # one file checksum for the compile cache and result sets

__all__ = ["provenance", "write_csv", "write_json", "save_figure", "jsonable", "save_run", "write_text",
           "write_parquet", "RUN_FORMATS", "OutputError", "check_output_dir", "result_set",
           "file_entry", "verify"]


def _neuron_version() -> str:
    from .build import _neuron_version as version  # the one the compile cache records

    try:
        return str(version())
    except Exception:  # noqa: BLE001 - a provenance field, never a reason to fail
        return "unknown"


def provenance(**extra) -> dict:
    """Where a result comes from: versions, platform, time and mechanism sources.

    Returns a dict with ``ionhomeo_version``, ``neuron_version``,
    ``python_version``, ``platform``, ``timestamp_utc`` (ISO 8601) and
    ``mod_source_hash`` (the cache key of the compiled mechanisms, from
    :func:`ionhomeo.build.source_hash`), followed by the ``extra`` items
    (parameters, defaults, morphology, ...).
    """
    from . import __version__, build

    try:
        mod_hash = build.source_hash(build.mod_dir())
    except build.BuildError:
        mod_hash = None
    out = {
        "ionhomeo_version": __version__,
        "neuron_version": _neuron_version(),
        "python_version": platform.python_version(),
        "platform": platform.platform(),
        "timestamp_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "mod_source_hash": mod_hash,
    }
    out.update(extra)
    return out


def jsonable(obj):
    """``obj`` converted to plain JSON types.

    numpy scalars and arrays, paths, dataclasses, tuples, sets and mappings
    with non-string keys are converted; non-finite floats become ``None``
    (strict JSON has no NaN or infinity).
    """
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return jsonable(dataclasses.asdict(obj))
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, int):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    # numpy (and pandas) scalars and arrays, without importing numpy here
    if hasattr(obj, "tolist"):
        return jsonable(obj.tolist())
    if hasattr(obj, "item"):
        return jsonable(obj.item())
    raise TypeError(f"cannot write {type(obj).__name__} {obj!r} as JSON")


@contextlib.contextmanager
def _atomic(path, mode="w"):
    """Open a temporary file next to ``path``; on success it replaces ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": ""})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file private (0600); give it the usual permissions
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_csv(df, path) -> Path:
    """Write DataFrame ``df`` (without its index) to ``path`` atomically."""
    path = Path(path)
    with _atomic(path) as f:
        df.to_csv(f, index=False)
    return path


def write_text(text: str, path) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    path = Path(path)
    with _atomic(path) as f:
        f.write(text)
    return path


def write_json(obj, path) -> Path:
    """Write ``obj`` (see :func:`jsonable`) as indented JSON to ``path`` atomically."""
    path = Path(path)
    text = json.dumps(jsonable(obj), indent=2, allow_nan=False) + "\n"
    with _atomic(path) as f:
        f.write(text)
    return path


def save_figure(fig, path, dpi: int = 120) -> Path:
    """Save a matplotlib figure to ``path`` atomically; the format follows the suffix."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    with _atomic(path, "wb") as f:
        fig.savefig(f, format=fmt, dpi=dpi)
    return path



#: table formats of :func:`save_run`
RUN_FORMATS = ("csv", "parquet")


def _parquet_engine() -> str:
    """The installed Parquet engine for pandas (pyarrow preferred); ImportError if none."""
    import importlib.util

    for engine in ("pyarrow", "fastparquet"):
        if importlib.util.find_spec(engine) is not None:
            return engine
    raise ImportError("writing Parquet needs pyarrow (or fastparquet), which ionhomeo does not "
                      "install: pip install pyarrow  (or save as CSV: format='csv')")


def write_parquet(df, path) -> Path:
    """Write DataFrame ``df`` (without its index) to ``path`` as Parquet, atomically.

    Needs pyarrow (or fastparquet), which ionhomeo does not depend on; an
    ImportError says how to install it.
    """
    engine = _parquet_engine()
    path = Path(path)
    with _atomic(path, "wb") as f:
        df.to_parquet(f, index=False, engine=engine)
    return path


def save_run(out_dir, name: str, dataframe, metadata=None, format: str = "csv") -> tuple:
    """Write a run's table and metadata: ``<name>.csv`` (or ``.parquet``) and ``<name>.json``.

    :out_dir: directory (created if missing).
    :name: file stem, a plain file name (no directory separators).
    :dataframe: the table, e.g. :meth:`ionhomeo.recording.Recorder.dataframe`.
    :metadata: dict of what produced it (``cell.to_dict()``: recipe,
        morphology and its hash; parameters; the recordings; the RunInfo).
    :format: "csv", or "parquet" (needs pyarrow or fastparquet; ImportError
        naming the fix otherwise, before anything is written).

    The JSON holds :func:`provenance` followed by the ``metadata`` items and
    ``data_file``: the table's file name, format, rows, columns and sha256. Both
    files are written atomically (the table first, then the JSON that
    describes it). Metadata that cannot be written as JSON raises TypeError
    before anything is written. Returns (table path, JSON path).
    """
    if format not in RUN_FORMATS:
        raise ValueError(f"format must be one of {', '.join(map(repr, RUN_FORMATS))}, got {format!r}")
    if not isinstance(name, str) or not name or name in (".", "..") \
            or any(sep in name for sep in ("/", "\\", os.sep)):
        raise ValueError(f"name must be a plain file name without directories, got {name!r}")
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}")
    for key in metadata:
        if not isinstance(key, str):
            raise TypeError(f"metadata keys must be strings, got {key!r}")
    for column in dataframe.columns:
        if not isinstance(column, str):
            raise TypeError(f"column names must be strings, got {column!r}")
    if format == "parquet":
        _parquet_engine()  # ImportError naming the fix, before anything is written
    if "data_file" in metadata:
        raise ValueError("metadata must not have a 'data_file' item: save_run writes it "
                         "(the table's name, format, rows, columns and sha256)")
    meta = provenance(**metadata)
    jsonable(meta)  # fail before writing anything
    out = Path(out_dir)
    table = out / f"{name}.{format}"
    if format == "csv":
        write_csv(dataframe, table)
    else:
        write_parquet(dataframe, table)
    meta["data_file"] = {"file": table.name, "format": format, "rows": int(len(dataframe)),
                         "columns": [str(c) for c in dataframe.columns], "sha256": _sha256(table)}
    json_path = write_json(meta, out / f"{name}.json")
    return table, json_path


# --------------------------------------------------------------------------
# result sets: a run's files appear together or not at all


class OutputError(OSError):
    """The results cannot be written where asked (the message names the
    folder, the reason and what to do). ``result`` holds what was computed,
    when there was something, so that nothing is lost."""

    result = None

    def __str__(self):
        return self.strerror if self.strerror else super().__str__()


#: the lock file of commits into a folder's sub-folders (one, hidden, per parent
#: folder; kept: removing a lock file others may wait on would break the lock)
LOCK_NAME = ".ionhomeo-lock"

#: the process's umask, read once (reading it means setting it, briefly, for
#: every thread)
_UMASK = os.umask(0)
os.umask(_UMASK)

#: the hidden sibling folders a result set uses: ``.<folder><marker><pid>-<random>``
_STAGING = ".ionhomeo-staging-"
_OLD = ".ionhomeo-old-"


def _named(target: Path, err: OSError, doing: str) -> OutputError:
    reason = err.strerror or str(err)
    hint = ("free some space or choose another --out" if err.errno in (errno.ENOSPC, errno.EDQUOT)
            else "choose another --out (or out_dir)")
    return OutputError(err.errno, f"cannot write results to {target}: {reason} while {doing}; "
                                  f"{hint}")


def check_output_dir(out_dir, create: bool = False) -> Path:
    """Prove that a result set can be written to folder ``out_dir`` before
    anything is computed; returns its resolved path.

    A real file is created (and removed) beside the folder (or in the
    nearest folder that exists above it) and in it, so that a read-only
    file system, a full disk or missing permissions show up now (also for
    root, whom permission bits do not stop). Missing parent folders are
    created only with ``create``. Refused with OutputError: a path that is a file, the
    working directory or a file system root, and a folder holding
    sub-folders (the folder is replaced as a whole when the results are
    committed; its plain files are kept).
    """
    if out_dir is None or (isinstance(out_dir, str) and not out_dir.strip()):
        raise OutputError(errno.EINVAL, "no output folder given: pass a folder path (--out DIR)")
    target = Path(out_dir).expanduser().resolve()
    if target == Path(target.anchor):
        raise OutputError(errno.EINVAL, f"cannot write results to the file system root {target}; "
                                        "choose a folder for them (--out DIR)")
    if target.exists():
        if not target.is_dir():
            raise OutputError(errno.ENOTDIR, f"cannot write results to {target}: it is a file, "
                                             "not a folder; choose a folder (--out DIR)")
        if os.path.ismount(target):
            raise OutputError(errno.EBUSY, f"cannot write results to {target}: it is a mount "
                                           "point, and a run's results replace their folder as "
                                           "a whole; choose a folder inside it (--out "
                                           f"{target / 'results'})")
        owner = os.stat(target).st_uid
        if owner != os.geteuid():
            raise OutputError(errno.EPERM, f"cannot write results to {target}: it belongs to "
                                           f"another user (uid {owner}), and a run's results "
                                           "replace their folder with one of yours; choose a "
                                           "folder of your own (--out DIR)")
        try:
            cwd = Path.cwd().resolve()
        except OSError:  # the working directory was removed
            cwd = None
        if target == cwd:
            raise OutputError(errno.EINVAL, f"cannot write results to the working directory "
                                            f"{target}: a run's results replace their folder as "
                                            "a whole; choose a folder of their own (--out DIR)")
        try:
            subfolders = sorted(e.name for e in os.scandir(target)
                                if e.is_dir(follow_symlinks=False))
        except OSError as err:
            raise _named(target, err, "reading the folder") from None
        if subfolders:
            shown = ", ".join(subfolders[:3]) + (", ..." if len(subfolders) > 3 else "")
            raise OutputError(errno.EISDIR, f"cannot write results to {target}: it holds "
                                            f"folders ({shown}), and a run's results replace "
                                            "their folder as a whole (its plain files are "
                                            "kept); choose a new or empty folder (--out DIR)")
    above = target.parent
    if create:
        try:
            above.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise _named(target, err, f"creating {above}") from None
    while not above.is_dir():
        if above.exists():
            raise OutputError(errno.ENOTDIR, f"cannot write results to {target}: {above} is a "
                                             "file, not a folder; choose another --out")
        above = above.parent
    for where in (above, target) if target.is_dir() else (above,):
        try:
            fd, probe = tempfile.mkstemp(dir=where, prefix=f".{target.name}.ionhomeo-probe-")
            try:
                os.write(fd, b"ionhomeo\n")
                os.fsync(fd)
            finally:
                os.close(fd)
                os.unlink(probe)
        except OSError as err:
            raise _named(target, err, f"creating a test file in {where}") from None
    return target


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _leftovers(target: Path):
    """(path, kind, pid) of the hidden folders earlier runs into ``target`` left."""
    prefix = f".{target.name}"
    for entry in os.scandir(target.parent):
        for kind in (_STAGING, _OLD):
            head = prefix + kind
            if entry.name.startswith(head):
                pid = entry.name[len(head):].split("-", 1)[0]
                if pid.isdigit():
                    yield Path(entry.path), kind, int(pid)


def _clean_leftovers(target: Path) -> None:
    """Remove what killed runs left beside ``target``; a previous set that a
    run killed between its two renames left aside is put back first."""
    for path, kind, pid in list(_leftovers(target)):
        if _alive(pid):
            continue
        if kind == _OLD and not target.exists():
            os.rename(path, target)  # the previous complete set comes back
        else:
            shutil.rmtree(path, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap the paths ``a`` and ``b`` in one atomic step (Linux renameat2,
    macOS renamex_np); False where the system or file system cannot."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return False
    if hasattr(libc, "renameat2"):  # Linux, glibc >= 2.28
        call = libc.renameat2
        call.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                         ctypes.c_uint]
        at_fdcwd, rename_exchange = -100, 2
        status = call(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    elif hasattr(libc, "renamex_np"):  # macOS
        call = libc.renamex_np
        call.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint]
        status = call(os.fsencode(a), os.fsencode(b), 0x2)  # RENAME_SWAP
    else:
        return False
    if status == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot sync a directory; nothing to do then
        pass
    finally:
        os.close(fd)


def _own_files(target: Path, json_name: str) -> set:
    """Names in ``target`` that belong to the previous run of the same set:
    its JSON, the files that JSON lists, and writers' temporary files."""
    own = {json_name}
    with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
        listed = json.loads((target / json_name).read_text(encoding="utf-8")).get("files", [])
        for item in listed:
            name = item.get("file") if isinstance(item, dict) else item
            if isinstance(name, str) and os.sep not in name:
                own.add(name)
    return own


def _commit(staging: Path, target: Path, json_name: str) -> None:
    """Put the staged set in ``target``'s place in one step, keeping the
    plain files of ``target`` that are not the previous run of this set."""
    import fcntl

    # one commit at a time into this place: a POSIX lock on a small hidden file
    # (flock on the folder itself fails on NFS; Lustre may have no locks at all,
    # and then commits go on unlocked, as any writer there would)
    lock = os.open(target.parent / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.lockf(lock, fcntl.LOCK_EX)
        except OSError as err:
            if err.errno not in (errno.ENOLCK, errno.ENOSYS, errno.EOPNOTSUPP, errno.EBADF,
                                 errno.EINVAL):
                raise
        _clean_leftovers(target)
        if target.exists():
            own = _own_files(target, json_name)
            staged = set(os.listdir(staging))
            for entry in os.scandir(target):
                name = entry.name
                temporary = re.fullmatch(r"\.(.+)\.[A-Za-z0-9_]{8}\.tmp", name)
                if (name in staged or name in own
                        or (temporary and temporary.group(1) in staged | own)):
                    continue  # replaced, the previous run's, or a killed writer's temporary
                if entry.is_dir(follow_symlinks=False):
                    raise OutputError(errno.EISDIR, f"cannot replace {target}: a folder {name} "
                                                    "appeared in it during the run; move it "
                                                    "away and run again")
                try:  # kept as it is: the same file under the new folder
                    os.link(entry.path, staging / name, follow_symlinks=False)
                except OSError:
                    shutil.copy2(entry.path, staging / name, follow_symlinks=False)
            os.chmod(staging, os.stat(target).st_mode & 0o7777)
            _fsync_dir(staging)
            if _exchange(staging, target):
                shutil.rmtree(staging, ignore_errors=True)  # now the previous set
            else:
                old = Path(tempfile.mkdtemp(dir=target.parent,
                                            prefix=f".{target.name}{_OLD}{os.getpid()}-"))
                os.rmdir(old)
                os.rename(target, old)      # a kill here: the next run puts it back
                try:
                    os.rename(staging, target)
                except BaseException:
                    os.rename(old, target)  # an error or Ctrl-C: the previous set stays
                    raise
                shutil.rmtree(old, ignore_errors=True)
        else:
            os.chmod(staging, 0o777 & ~_UMASK)
            _fsync_dir(staging)
            os.rename(staging, target)
        _fsync_dir(target.parent)
    finally:
        os.close(lock)


@contextlib.contextmanager
def result_set(out_dir, json_name: str):
    """Write a run's files together: ``with result_set(out, "rest.json") as
    folder:`` write every file into ``folder``; when the block ends without
    an error, the folder replaces ``out`` in one atomic rename.

    The plain files already in ``out`` that are not the previous run of the
    same set (the JSON ``json_name`` and the files it lists) are kept;
    the previous run's files are replaced as a whole, so a file the new run
    does not write (say a figure) does not survive from the old one. On an
    error or a kill nothing in ``out`` changes, and the next run removes the
    hidden folder left beside it. OutputError names the folder and the fix.
    """
    target = check_output_dir(out_dir, create=True)
    try:
        staging = Path(tempfile.mkdtemp(dir=target.parent,
                                        prefix=f".{target.name}{_STAGING}{os.getpid()}-"))
    except OSError as err:
        raise _named(target, err, "creating a folder beside it") from None
    try:
        try:
            yield staging
            _commit(staging, target, json_name)
        except OutputError:
            raise
        except OSError as err:
            if err.filename and not str(err.filename).startswith((str(staging), str(target))):
                raise  # not the writing of the results: the caller's own error
            name = Path(err.filename).name if err.filename else "the results"
            raise _named(target, err, f"writing {name} (earlier results there are "
                                      "unchanged)") from err
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def file_entry(path) -> dict:
    """``{"file", "bytes", "sha256"}`` of a written file, for a set's JSON."""
    path = Path(path)
    return {"file": path.name, "bytes": path.stat().st_size, "sha256": _sha256(path)}


def verify(json_path) -> list:
    """Check a result set against its JSON: the list of problems (a file
    missing, or its size or SHA-256 not the listed one); empty when every
    listed file is the one the run wrote."""
    json_path = Path(json_path)
    meta = json.loads(json_path.read_text(encoding="utf-8"))
    problems = []
    entries = list(meta.get("files", []))
    if isinstance(meta.get("data_file"), dict):
        entries.append(meta["data_file"])
    for item in entries:
        if not isinstance(item, dict) or "sha256" not in item:
            continue
        name = item.get("file")
        if not isinstance(name, str) or Path(name).name != name or name in ("", ".", ".."):
            problems.append(f"{name!r}: not a file name of this folder")
            continue
        path = json_path.parent / name
        if not path.is_file():
            problems.append(f"{item['file']}: missing")
        elif "bytes" in item and path.stat().st_size != item["bytes"]:
            problems.append(f"{item['file']}: {path.stat().st_size} bytes, listed "
                            f"{item['bytes']}")
        elif _sha256(path) != item["sha256"]:
            problems.append(f"{item['file']}: SHA-256 differs from the listed one")
    return problems
