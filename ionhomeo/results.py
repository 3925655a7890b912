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

__all__ = ["provenance", "write_csv", "write_json", "save_figure", "jsonable", "save_run", "write_text",
           "write_parquet", "RUN_FORMATS"]


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


def _sha256(path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_run(out_dir, name: str, dataframe, metadata=None, format: str = "csv") -> tuple:
    """Write a run's table and metadata: ``<name>.csv`` (or ``.parquet``) and ``<name>.json``.

    out_dir: directory (created if missing).
    name: file stem, a plain file name (no directory separators).
    dataframe: the table, e.g. :meth:`ionhomeo.recording.Recorder.dataframe`.
    metadata: dict of what produced it (``cell.to_dict()``: recipe,
        morphology and its hash; parameters; the recordings; the RunInfo).
    format: "csv", or "parquet" (needs pyarrow or fastparquet; ImportError
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
