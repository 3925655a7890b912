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
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import math
import os
import platform
import tempfile
from pathlib import Path

__all__ = ["provenance", "write_csv", "write_json", "save_figure", "jsonable"]


def _neuron_version() -> str:
    try:
        from importlib import metadata

        return metadata.version("neuron")
    except Exception:  # NEURON built from source, or nightly wheels
        try:
            import neuron

            return str(neuron.__version__)
        except Exception:
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
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
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

