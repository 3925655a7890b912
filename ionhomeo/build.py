"""Compile the ionhomeo NMODL mechanisms into a cache and load them into NEURON.

NEURON can load a mechanism library only once per process, and ``import neuron``
silently loads ``./x86_64`` (or ``./arm64`` ...) from the current directory if
one exists.  To stay out of that trap this module:

* never compiles into the source tree: builds go to ``<cache_root>/<hash>/``,
  where the hash covers the mod sources, the NEURON version and the platform;
* builds in a temporary directory under an exclusive file lock, writes a marker
  file last and renames the directory into place atomically, so concurrent
  processes never see a half-built library;
* loads the library at most once per process and refuses (with a clear
  :class:`MechanismConflictError`) to load over mechanisms of the same name.

Typical use::

    from ionhomeo.build import load
    load()          # compiles on first use, then loads into this process
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
from pathlib import Path

__all__ = [
    "BuildError",
    "CompilerNotFoundError",
    "CompileError",
    "MechanismConflictError",
    "ensure_loaded",
    "mod_dir",
    "cache_root",
    "source_hash",
    "mechanism_names",
    "library_path",
    "neuron_executable",
    "compile_mechanisms",
    "load",
]

#: File written into a build directory after a successful compile.  A build
#: directory is only trusted if it holds this marker and the library.
MARKER = "ionhomeo-build-complete"

#: Files copied into the build and covered by the cache key.  ``*.inc`` files
#: can be pulled in by an NMODL ``INCLUDE`` statement, so they count too.
_SOURCE_PATTERNS = ("*.mod", "*.inc")

#: Where nrnivmodl puts the library, relative to the directory it ran in.
#: NEURON 9 writes ``<arch>/libnrnmech.so`` (``.dylib`` on macOS); older
#: autotools builds used ``<arch>/.libs/``.
_LIBRARY_GLOBS = (
    "*/libnrnmech.so",
    "*/libnrnmech.dylib",
    "*/.libs/libnrnmech.so",
    "*/.libs/libnrnmech.dylib",
)

_INSTALL_NEURON = 'pip install "neuron>=9,<10"'
_INSTALL_COMPILER = (
    "install a C/C++ compiler and make "
    "(Debian/Ubuntu: apt-get install build-essential; macOS: xcode-select --install)"
)

#: Library loaded into this process by :func:`load` (the only mutable state).
_loaded: Path | None = None


class BuildError(RuntimeError):
    """Base class for problems compiling or loading the ionhomeo mechanisms."""


class CompilerNotFoundError(BuildError):
    """nrnivmodl, the C++ compiler or make could not be found."""


class CompileError(BuildError):
    """nrnivmodl ran but failed to produce a mechanism library."""


class MechanismConflictError(BuildError):
    """NEURON already knows a mechanism that the ionhomeo library would define."""


# --------------------------------------------------------------------------
# Locations and cache key
# --------------------------------------------------------------------------


def mod_dir() -> Path:
    """Return the directory holding the ionhomeo ``*.mod`` sources.

    In an installed wheel they live in ``ionhomeo/mod``; in a source checkout
    (or editable install) they are in ``<repo>/mod``.
    """
    package = Path(__file__).resolve().parent
    candidates = (package / "mod", package.parent / "mod")
    for candidate in candidates:
        if candidate.is_dir() and any(candidate.glob("*.mod")):
            return candidate
    raise BuildError(
        "cannot find the ionhomeo NMODL sources: none of "
        + ", ".join(str(c) for c in candidates)
        + " contains *.mod files. The installation looks incomplete; "
        "reinstall ionhomeo (pip install --force-reinstall ionhomeo)."
    )


def cache_root() -> Path:
    """Return the directory under which compiled builds are cached.

    ``$IONHOMEO_CACHE`` if set, else ``$XDG_CACHE_HOME/ionhomeo``, else
    ``~/.cache/ionhomeo``.
    """
    override = os.environ.get("IONHOMEO_CACHE")
    if override:
        return Path(override).expanduser().absolute()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return (base / "ionhomeo").absolute()


def _read_sources(mod_directory: Path) -> dict[str, bytes]:
    """Return ``{file name: bytes}`` for the mechanism sources, sorted by name."""
    mod_directory = Path(mod_directory)
    if not mod_directory.is_dir():
        what = "is a file" if mod_directory.exists() else "does not exist"
        raise BuildError(f"no *.mod files in {mod_directory}: it {what}; give the folder that "
                         "holds the NMODL files (ionhomeo mod-path prints ionhomeo's own)")
    paths = {p for pattern in _SOURCE_PATTERNS for p in mod_directory.glob(pattern)}
    if not any(p.suffix == ".mod" for p in paths):
        raise BuildError(f"no *.mod files in {mod_directory}; give the folder that holds the "
                         "NMODL files (ionhomeo mod-path prints ionhomeo's own)")
    return {p.name: p.read_bytes() for p in sorted(paths)}


def _neuron_version() -> str:
    """NEURON's version, read without importing (and initialising) NEURON."""
    from importlib import metadata

    try:
        return metadata.version("neuron")
    except metadata.PackageNotFoundError:
        import neuron  # e.g. NEURON built from source or neuron-nightly

        return neuron.__version__


def _hash_sources(sources: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name, data in sources.items():
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    for item in (_neuron_version(), platform.machine(), sys.platform):
        digest.update(f"{item}\0".encode())
    return digest.hexdigest()[:16]


def source_hash(mod_directory: str | os.PathLike) -> str:
    """Return the cache key (16 hex characters) for the sources in ``mod_directory``.

    It covers the sorted names and bytes of the ``*.mod`` (and ``*.inc``)
    files, the NEURON version, the machine architecture and the OS.
    """
    return _hash_sources(_read_sources(Path(mod_directory)))


_COMMENT_BLOCK = re.compile(r"^[ \t]*COMMENT\b.*?^[ \t]*ENDCOMMENT\b", re.S | re.M)
_LINE_COMMENT = re.compile(r"[:?].*$", re.M)
_MECHANISM_DECL = re.compile(r"\b(?:SUFFIX|POINT_PROCESS|ARTIFICIAL_CELL)\s+(\w+)")


def mechanism_names(mod_directory: str | os.PathLike) -> list[str]:
    """Return the SUFFIX / POINT_PROCESS / ARTIFICIAL_CELL names declared in ``*.mod`` files."""
    names = set()
    for path in Path(mod_directory).glob("*.mod"):
        text = path.read_text(errors="replace")
        text = _LINE_COMMENT.sub("", _COMMENT_BLOCK.sub("", text))
        names.update(_MECHANISM_DECL.findall(text))
    names.discard("nothing")  # "SUFFIX nothing" declares no mechanism
    return sorted(names)


def library_path(build_dir: str | os.PathLike) -> Path | None:
    """Return the mechanism library inside a build directory, or None if absent."""
    for pattern in _LIBRARY_GLOBS:
        found = sorted(Path(build_dir).glob(pattern))
        if found:
            return found[0]
    return None


def _is_complete(build_dir: Path) -> bool:
    return (build_dir / MARKER).is_file() and library_path(build_dir) is not None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _damage(build_dir: Path) -> str | None:
    """Why a complete-looking build cannot be trusted (its library is not the
    one compiled: truncated, overwritten), or None. The marker records the
    library's size and SHA-256 at build time; a marker without them (an older
    build) is not trusted either."""
    library = library_path(build_dir)
    fields = dict(line.split(": ", 1) for line in
                  (build_dir / MARKER).read_text().splitlines() if ": " in line)
    if "library_sha256" not in fields or "library_size" not in fields:
        return "it records no size and checksum of its library (an older build)"
    size = library.stat().st_size
    if size != int(fields["library_size"]):
        return f"its library is {size} bytes, {fields['library_size']} when it was built"
    if _sha256(library) != fields["library_sha256"]:
        return "its library's checksum differs from the one recorded when it was built"
    return None


def _remove_leftovers(root: Path, name: str) -> None:
    """Temporary and superseded folders of this build left by a killed compile
    (called with the build's lock held, so no other process is using them)."""
    for pattern in (f".tmp-{name}-*", f".old-{name}-*"):
        for leftover in root.glob(pattern):
            shutil.rmtree(leftover, ignore_errors=True)


# --------------------------------------------------------------------------
# Tools
# --------------------------------------------------------------------------


def _tidy(root: Path, name: str) -> None:
    """On a cache hit, remove what a killed compile of this build left, if no
    process is compiling it now (the build's lock is free)."""
    if not any(root.glob(f".tmp-{name}-*")) and not any(root.glob(f".old-{name}-*")):
        return
    try:
        with open(root / f"{name}.lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return  # a compile is under way: its folder is not a leftover
            _remove_leftovers(root, name)
    except OSError:
        return  # a read-only cache: nothing to tidy


def neuron_executable(name: str) -> str | None:
    """Path of a NEURON program (nrniv, nrnivmodl, modlunit), or None.

    The copy next to ``sys.executable`` is preferred over PATH because it
    belongs to the NEURON installed in this environment (which works even when
    the venv is not activated); one on PATH may come from another NEURON.
    """
    sibling = Path(sys.executable).parent / name
    if sibling.is_file() and os.access(sibling, os.X_OK):
        return str(sibling)
    return shutil.which(name)


def _find_nrnivmodl() -> str:
    """Locate nrnivmodl: ``$IONHOMEO_NRNIVMODL``, else :func:`neuron_executable`."""
    override = os.environ.get("IONHOMEO_NRNIVMODL")
    if override:
        found = shutil.which(override)
        if found is None:
            raise CompilerNotFoundError(
                f"nrnivmodl not found: IONHOMEO_NRNIVMODL is set to {override!r}, "
                "which is not an executable. Unset it or point it at NEURON's "
                f"nrnivmodl ({_INSTALL_NEURON} provides one)."
            )
        return found
    found = neuron_executable("nrnivmodl")
    if found is None:
        raise CompilerNotFoundError(
            f"nrnivmodl not found (looked next to {sys.executable} and on PATH). "
            f"It comes with NEURON: {_INSTALL_NEURON}, in the same environment "
            "as ionhomeo."
        )
    return found


def _find_cxx() -> str:
    """Return the C++ compiler command nrnivmodl will use, checking it exists.

    NEURON 9 translates NMODL to C++ and compiles it with ``$CXX``; its pip
    wrapper defaults ``CXX`` to Python's build-time compiler.  If that one is
    not installed here we fall back to ``c++``/``g++``/``clang++``.  ``make``
    is required as well.
    """
    if os.environ.get("CXX"):
        candidates = [os.environ["CXX"]]
    else:
        candidates = [sysconfig.get_config_var("CXX") or "", "c++", "g++", "clang++"]
    compiler = next(
        (c for c in candidates if shlex.split(c) and shutil.which(shlex.split(c)[0])),
        None,
    )
    if compiler is None:
        tried = ", ".join(repr(c) for c in candidates if c)
        raise CompilerNotFoundError(
            f"no C++ compiler found (tried {tried}); nrnivmodl needs one to build "
            f"the mechanisms: {_INSTALL_COMPILER}, or set CXX to your compiler."
        )
    if shutil.which("make") is None:
        raise CompilerNotFoundError(
            f"'make' not found; nrnivmodl needs it to build the mechanisms: {_INSTALL_COMPILER}."
        )
    return compiler


def _output_tail(output: str, lines: int = 25) -> str:
    """Last lines of nrnivmodl's output, without colour codes or the wrapper's traceback."""
    output = re.sub(r"\x1b\[[0-9;]*m", "", output)
    output = output.split("Traceback (most recent call last):")[0]
    kept = [line.rstrip() for line in output.splitlines() if line.strip()]
    return "\n".join("    " + line for line in kept[-lines:])


# --------------------------------------------------------------------------
# Compile
# --------------------------------------------------------------------------


def compile_mechanisms(
    mod_directory: str | os.PathLike | None = None, force: bool = False
) -> Path:
    """Compile the mechanisms (if not cached) and return the build directory.

    The build directory is ``<cache_root()>/<source hash>/`` and contains a
    copy of the sources, nrnivmodl's output (``<arch>/libnrnmech.*``), its
    log ``build.log`` and the marker file.  A complete build is returned
    immediately; ``force=True`` rebuilds it.  Builds are serialised by an
    exclusive lock on ``<cache_root>/<hash>.lock`` and moved into place with an
    atomic rename, so a build directory is either complete or absent.
    """
    source_dir = (Path(mod_directory) if mod_directory is not None else mod_dir()).absolute()
    sources = _read_sources(source_dir)
    root = cache_root()
    build_dir = root / _hash_sources(sources)
    if not force and _is_complete(build_dir):
        damage = _damage(build_dir)
        if damage is None:
            _tidy(root, build_dir.name)
            return build_dir
        print(f"ionhomeo: the cached build {build_dir} cannot be trusted ({damage}); "
              "compiling it again", file=sys.stderr)
        force = True

    nrnivmodl = _find_nrnivmodl()
    cxx = _find_cxx()
    try:
        root.mkdir(parents=True, exist_ok=True)
        lock = open(root / f"{build_dir.name}.lock", "w")
    except OSError as err:
        source = ("$IONHOMEO_CACHE" if os.environ.get("IONHOMEO_CACHE") else
                  "$XDG_CACHE_HOME" if os.environ.get("XDG_CACHE_HOME") else "your home directory")
        raise BuildError(
            f"the compile cache {root} (from {source}) cannot be created or written: "
            f"{err.strerror or err}. Set IONHOMEO_CACHE to a writable directory "
            "(export IONHOMEO_CACHE=/path/to/cache)") from None
    from . import progress

    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            progress.message(f"another process is compiling the mechanisms into {build_dir}; "
                             "waiting for it")
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        if not force and _is_complete(build_dir) and _damage(build_dir) is None:
            return build_dir  # another process built it while we waited
        _remove_leftovers(root, build_dir.name)
        count = sum(name.endswith(".mod") for name in sources)
        progress.message(f"compiling {count} NMODL mechanisms from {source_dir} with nrnivmodl "
                         f"into {build_dir} (once for these sources and this NEURON; a few "
                         "minutes)")
        started = time.perf_counter()
        _build(build_dir, source_dir, sources, nrnivmodl, cxx)
        progress.message(f"compiled the mechanisms in {time.perf_counter() - started:.0f} s "
                         f"into {build_dir}; later runs reuse them")
    return build_dir


def _build(build_dir: Path, source_dir: Path, sources: dict[str, bytes],
           nrnivmodl: str, cxx: str) -> None:
    """Run nrnivmodl in a temporary directory and rename it to ``build_dir``.

    Must be called with the build lock held.
    """
    root = build_dir.parent
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{build_dir.name}-", dir=root))
    os.chmod(tmp, 0o755)  # mkdtemp makes it private; the build itself is not secret
    try:
        for name, data in sources.items():
            (tmp / name).write_bytes(data)
        proc = subprocess.run(
            [nrnivmodl],
            cwd=tmp,
            env=dict(os.environ, CXX=cxx),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        library = library_path(tmp)
        if proc.returncode != 0 or library is None:
            what = (f"exit status {proc.returncode}" if proc.returncode
                    else "no libnrnmech library was produced")
            raise CompileError(
                f"compiling the NMODL mechanisms in {source_dir} failed ({what}). "
                f"Command: {nrnivmodl} (run in a temporary copy of the sources, "
                f"CXX={cxx}). Last lines of its output:\n{_output_tail(proc.stdout)}"
            )
        (tmp / "build.log").write_text(proc.stdout)
        (tmp / MARKER).write_text(  # written last: marks the build as complete
            f"sources: {source_dir}\nneuron: {_neuron_version()}\n"
            f"library: {library.relative_to(tmp)}\n"
            f"library_size: {library.stat().st_size}\nlibrary_sha256: {_sha256(library)}\n"
        )
        if build_dir.exists():  # stale/incomplete or forced rebuild: move it aside
            old = root / f".old-{build_dir.name}-{uuid.uuid4().hex[:8]}"
            os.rename(build_dir, old)
            shutil.rmtree(old, ignore_errors=True)
        os.replace(tmp, build_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# --------------------------------------------------------------------------
# Load
# --------------------------------------------------------------------------


def _known_to_neuron(h, names: list[str]) -> list[str]:
    """Return those of ``names`` that NEURON already defines.

    ``h.MechanismType(0/1)`` enumerates every density and point mechanism
    currently registered; ``h.name_declared`` also catches any other hoc name
    that would make NEURON reject the library.
    """
    known = set()
    name = h.ref("")
    for point in (0, 1):
        mechanisms = h.MechanismType(point)
        for i in range(int(mechanisms.count())):
            mechanisms.select(i)
            mechanisms.selected(name)
            known.add(name[0])
    return [n for n in names if n in known or h.name_declared(n)]


def _stray_build_dirs() -> list[Path]:
    """Compiled-mechanism folders in the current directory, which NEURON auto-loads."""
    arches = dict.fromkeys([platform.machine(), "x86_64", "arm64", "aarch64", "i686", "umac"])
    return [
        Path.cwd() / arch
        for arch in arches
        if any((Path.cwd() / arch).glob("libnrnmech.*"))
        or any((Path.cwd() / arch).glob(".libs/libnrnmech.*"))
    ]


def _missing_parameters(h) -> list[str]:
    """Range PARAMETERs of this package's mod files that the mechanisms NEURON
    has do not declare (a library compiled from older or other mod files)."""
    from . import mechanisms

    missing = []
    name = h.ref("")
    for mech in mechanisms.catalog().values():
        declared = set()
        standard = h.MechanismStandard(mech.name, 1)  # 1: PARAMETERs
        for i in range(int(standard.count())):
            standard.name(name, i)
            declared.add(name[0])
        suffix = f"_{mech.name}" if mech.kind == "density" else ""
        missing += [f"{p}{suffix}" for p, par in mech.parameters.items()
                    if par.scope == "range" and f"{p}{suffix}" not in declared]
    return missing


def ensure_loaded() -> Path | None:
    """Make sure NEURON has this package's mechanisms; return the library loaded, or None.

    Where a model loaded them itself (``nrniv -dll .../libnrnmech.so``, an
    ``x86_64/`` folder that ``nrnivmodl`` made from :func:`mod_dir`,
    ``neuron.load_mechanisms``, BluePyOpt's ``mechanisms_directory``), those
    are used as they are: NEURON cannot load a second library with the same
    names. They must come from the same mod files: if one of the catalogue's
    range parameters is missing, the library is an older build, and
    :class:`MechanismConflictError` says so. Otherwise this is :func:`load`.
    """
    if _loaded is None:
        from neuron import h

        names = mechanism_names(mod_dir())
        if len(_known_to_neuron(h, names)) == len(names):
            missing = _missing_parameters(h)
            if missing:
                raise MechanismConflictError(
                    "NEURON already has mechanisms with ionhomeo's names, loaded from another "
                    f"build that lacks {', '.join(missing[:5])}"
                    f"{' and more' if len(missing) > 5 else ''}: it was compiled from older mod "
                    f"files. Recompile with `nrnivmodl \"{mod_dir()}\"` (or `nrnivmodl "
                    "\"$(ionhomeo mod-path)\"`), load that build, and restart Python.")
            return None
    return load()


def load(mod_directory: str | os.PathLike | None = None) -> Path:
    """Compile if needed, load the mechanism library into NEURON and return its path.

    Loading happens at most once per process: calling again with the same
    build is a no-op.  Raises :class:`MechanismConflictError` instead of
    loading if NEURON already has a mechanism with one of our names (e.g. from
    a stray ``x86_64/`` folder auto-loaded by ``import neuron``) or if a
    different ionhomeo build was already loaded in this process.
    """
    global _loaded
    build_dir = compile_mechanisms(mod_directory)
    library = library_path(build_dir).resolve()
    if _loaded is not None:
        if library == _loaded:
            return library
        raise MechanismConflictError(
            f"a different ionhomeo build is already loaded in this process "
            f"({_loaded}); the build for {build_dir} (sources changed or another "
            "mod directory) cannot be loaded too, because NEURON cannot unload or "
            "replace mechanisms. Restart Python to use the new build."
        )

    from neuron import h

    taken = _known_to_neuron(h, mechanism_names(build_dir))
    if taken:
        strays = _stray_build_dirs()
        cause = (
            f"NEURON auto-loaded the compiled mechanisms in {', '.join(map(str, strays))} "
            "when it was imported from this directory"
            if strays
            else "another mechanism library defining the same names was loaded "
            "before (by neuron.load_mechanisms, h.nrn_load_dll, NRN_NMODL_PATH or "
            "an x86_64/ folder in the directory NEURON was imported from)"
        )
        raise MechanismConflictError(
            f"NEURON already has mechanism(s) {', '.join(taken)}, so the ionhomeo "
            f"library {library} (compiled from {build_dir}) cannot be loaded: "
            f"{cause}. Mechanisms cannot be unloaded; run Python from another "
            "directory or delete the stray x86_64/ (arm64/) folder, don't load "
            "other copies of these mechanisms, then restart Python."
        )
    if not h.nrn_load_dll(str(library)):
        raise BuildError(f"NEURON failed to load the mechanism library {library}")
    _loaded = library
    return library
