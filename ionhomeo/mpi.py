"""MPI for sweeps: finding the MPI library for NEURON and running points on
NEURON's ParallelContext bulletin board.

NEURON's PyPI wheel loads MPI at run time (``h.nrnmpi_init()``) from the
library named by ``MPI_LIB_NRN_PATH``, else ``libmpi.so`` on the loader's
path. The ``mpich`` wheel ships ``<prefix>/lib/libmpi.so`` as a linker
script (``INPUT(libmpi.so.12)``) that dlopen cannot load, so NEURON needs
the real file: :func:`find_library` finds it. When NEURON cannot load MPI it
goes on as one process of one rank, and every rank would then run every
point; :func:`init` refuses that with a message saying how to fix it.

Bulletin board (:func:`run_points`): every rank calls ``pc.runworker()``;
the workers stay there, running the jobs the master posts, and rank 0
returns from it, posts each point (``pc.submit``), and collects the records
(``pc.working``, ``pc.pyret``) until none is left; ``pc.done()`` then ends
the workers. Rank 0 runs jobs too while it waits. Each job is
``ionhomeo.sweep.run_point_json``: one point, in isolation, written to
its own folder (so the folder must be on a file system every rank sees).
"""

from __future__ import annotations

import glob
import os
import shutil
import sys
from pathlib import Path

__all__ = ["MPIError", "launched_size", "find_library", "init", "run_points"]

#: environment variables in which MPI launchers give the number of ranks
#: (SLURM_STEP_NUM_TASKS: inside an srun step, not in the batch script itself)
SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE",
                  "SLURM_STEP_NUM_TASKS")
#: ... and this process's rank
RANK_VARIABLES = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "MV2_COMM_WORLD_RANK", "PMIX_RANK",
                  "SLURM_PROCID")


class MPIError(RuntimeError):
    """MPI was asked for but NEURON cannot use it: the message says why and how
    to fix it."""


def launched_size() -> int | None:
    """The number of ranks an MPI launcher (mpiexec, srun) started, from its
    environment variables; None when not started by one."""
    for var in SIZE_VARIABLES:
        value = os.environ.get(var, "")
        if value.isdigit():
            return int(value)
    return None


def launched_rank() -> int | None:
    """This process's rank as the launcher set it (None without a launcher)."""
    for var in RANK_VARIABLES:
        value = os.environ.get(var, "")
        if value.isdigit():
            return int(value)
    return None


def _is_shared_library(path: Path) -> bool:
    """Is ``path`` a loadable library (ELF or Mach-O), not a linker script?"""
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError:
        return False
    return magic == b"\x7fELF" or magic in (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe")


def _search_dirs() -> list:
    """Where to look for libmpi: this Python's prefix (the mpich wheel puts it
    in <venv>/lib), beside the mpiexec on PATH, LD_LIBRARY_PATH, the system."""
    dirs = [Path(sys.prefix) / "lib"]
    mpiexec = shutil.which("mpiexec")
    if mpiexec:
        dirs.append(Path(mpiexec).resolve().parent.parent / "lib")
    for var in ("LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH"):
        dirs += [Path(d) for d in os.environ.get(var, "").split(os.pathsep) if d]
    dirs += [Path(d) for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib",
                               "/usr/local/lib", "/opt/homebrew/lib")]
    return list(dict.fromkeys(dirs))


def find_library() -> Path:
    """The MPI library NEURON should load: ``MPI_LIB_NRN_PATH`` if set (it must
    be a real library), else the first real ``libmpi`` (``libmpi.so.12``,
    ``libmpi.so.40``, ``libmpi.dylib`` ...) in :func:`_search_dirs`.
    MPIError if there is none."""
    given = os.environ.get("MPI_LIB_NRN_PATH")
    if given:
        if not _is_shared_library(Path(given)):
            raise MPIError(f"MPI_LIB_NRN_PATH={given} is not a shared library (missing, or a "
                           f"linker script such as the mpich wheel's libmpi.so): point it at "
                           f"the real file, e.g. .../lib/libmpi.so.12")
        return Path(given)
    for folder in _search_dirs():
        names = sorted(glob.glob(str(folder / "libmpi.so*")) + glob.glob(str(folder / "libmpi*.dylib"))
                       + glob.glob(str(folder / "libmpich.so*")))
        for name in names:
            if _is_shared_library(Path(name)):
                return Path(name)
    raise MPIError("no MPI library found for NEURON (looked for libmpi in "
                   f"{', '.join(str(d) for d in _search_dirs()[:3])}, LD_LIBRARY_PATH and the "
                   "system folders). Install one (pip install mpich mpi4py, or load your "
                   "cluster's MPI module) or set MPI_LIB_NRN_PATH to the real libmpi "
                   "(libmpi.so.12 for MPICH, libmpi.so.40 for Open MPI)")


def init(expected: int | None = None):
    """Start NEURON's MPI and return its ParallelContext.

    Sets ``MPI_LIB_NRN_PATH`` (:func:`find_library`; MPIError when no real
    libmpi is found), calls ``h.nrnmpi_init()`` and checks that NEURON sees the
    ``expected`` number of ranks (default: what the launcher says). MPIError
    otherwise (NEURON would run every rank alone, each doing all the work).
    """
    os.environ["MPI_LIB_NRN_PATH"] = str(find_library())
    from neuron import h

    h.nrnmpi_init()
    pc = h.ParallelContext()
    expected = expected if expected is not None else launched_size()
    nhost = int(pc.nhost())
    if expected is not None and nhost != expected:
        raise MPIError(f"NEURON started {nhost} rank(s) where the launcher started {expected}: "
                       f"it could not use the MPI library {os.environ['MPI_LIB_NRN_PATH']} "
                       f"(NEURON prints why above). The library must belong to the MPI whose "
                       f"mpiexec (or srun) started the ranks: set MPI_LIB_NRN_PATH to that "
                       f"MPI's libmpi, or start with that MPI's mpiexec")
    return pc


def run_points(todo: list, out, report) -> None:
    """Rank 0: post every point of ``todo`` on the bulletin board and pass each
    record to ``report`` as it comes back; the other ranks never get here
    (they run jobs inside ``pc.runworker()``, see :func:`worker`)."""
    import json

    from neuron import h

    from .sweep import run_point_json

    pc = h.ParallelContext()
    for point in todo:
        pc.submit(run_point_json, json.dumps(point), str(out))
    while pc.working():
        report(pc.pyret())


def worker(pc) -> bool:
    """Enter the bulletin board: returns True on rank 0 (the master), which
    must end it with ``pc.done()``; the other ranks run jobs there until the
    master is done, and then leave (NEURON ends their process)."""
    from .sweep import warm_up

    warm_up()  # the mechanisms: a rank that compiles holds the cache's lock, the others wait
    pc.runworker()
    return int(pc.id()) == 0
