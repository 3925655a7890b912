"""A damaged compiled-mechanism library in the working directory, caught
before NEURON loads it.

``import neuron`` loads ``./<arch>/libnrnmech.so`` (and the folders named in
``NRN_NMODL_PATH``) on its own. A truncated library there (a copy or a
compile that was interrupted) kills the process with "Bus error" inside that
import, before any Python code can say why. :func:`install` puts a finder in
front of Python's import system that checks those files when ``neuron`` is
first imported and raises :class:`DamagedLibraryError` naming the file and
the fix instead. It imports nothing heavy and never imports NEURON.

The same finder imports NEURON with ``-nogui`` when there is no X display
(:func:`neuron_options`), so that NEURON's "no DISPLAY" warning does not
appear with every command and script.
"""

from __future__ import annotations

import importlib.abc
import os
import platform
import struct
import sys
from pathlib import Path

#: the folder names NEURON tries for a compiled library (neuron/__init__.py)
_ARCHES = (platform.machine(), "i686", "x86_64", "powerpc", "umac")


class DamagedLibraryError(ImportError):
    """A compiled-mechanism library that NEURON would load automatically is damaged."""


def elf_problem(path) -> str | None:
    """Why the ELF shared library ``path`` would crash the process that loads
    it (shorter than its own headers say), or None: complete, or not ELF at
    all (which dlopen refuses with a message, without a crash)."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(64)
        if len(head) < 52 or head[:4] != b"\x7fELF":
            return None  # not ELF: dlopen refuses it with a message and NEURON goes on
        wide, order = head[4] == 2, "<" if head[5] == 1 else ">"
        if wide:
            if len(head) < 64:
                return f"it is truncated: {size} bytes, shorter than an ELF header"
            phoff, shoff = struct.unpack_from(order + "QQ", head, 32)
            phentsize, phnum, shentsize, shnum = struct.unpack_from(order + "HHHH", head, 54)
        else:
            phoff, shoff = struct.unpack_from(order + "II", head, 28)
            phentsize, phnum, shentsize, shnum = struct.unpack_from(order + "HHHH", head, 42)
        need = max(phoff + phnum * phentsize, shoff + shnum * shentsize)
        if phoff + phnum * phentsize <= size:
            f.seek(phoff)
            table = f.read(phnum * phentsize)
            for i in range(phnum):
                if wide:  # p_offset at 8, p_filesz at 32 of a 64-bit program header
                    offset, = struct.unpack_from(order + "Q", table, i * phentsize + 8)
                    filesz, = struct.unpack_from(order + "Q", table, i * phentsize + 32)
                else:     # p_offset at 4, p_filesz at 16 of a 32-bit one
                    offset, = struct.unpack_from(order + "I", table, i * phentsize + 4)
                    filesz, = struct.unpack_from(order + "I", table, i * phentsize + 16)
                need = max(need, offset + filesz)
    if size < need:
        return f"it is truncated: {size} bytes where its ELF headers need {need}"
    return None


def candidates(cwd=None) -> list:
    """The libraries ``import neuron`` loads by itself: ``<machine>/libnrnmech.so``
    in the working directory (NEURON 9 looks for no other name there), and in
    each ``NRN_NMODL_PATH`` folder the first ``<arch>/libnrnmech.so`` in
    neuron.load_mechanisms' order of architectures."""
    found = []
    try:
        here = Path(cwd) if cwd is not None else Path.cwd()
    except OSError:  # the working directory was removed: nothing there to load
        here = None
    try:
        if here is not None and (here / platform.machine() / "libnrnmech.so").is_file():
            found.append(here / platform.machine() / "libnrnmech.so")
        for folder in [Path(p) for p in os.environ.get("NRN_NMODL_PATH", "").split(":") if p]:
            for arch in _ARCHES:
                path = folder / arch / "libnrnmech.so"
                if path.is_file():
                    if path not in found:
                        found.append(path)
                    break
    except OSError:  # an unreadable folder: NEURON cannot load from it either
        pass
    return found


def damaged_library(cwd=None) -> str | None:
    """A message naming a damaged library that ``import neuron`` would load, or None."""
    if not sys.platform.startswith("linux"):
        return None  # the check reads ELF; other systems' libraries are not checked
    for path in candidates(cwd):
        try:
            problem = elf_problem(path)
        except OSError as err:
            problem = f"it cannot be read ({err.strerror})"
        except struct.error:
            problem = "its ELF headers are malformed"
        if problem:
            folder = path.parent
            return (f"{path} is damaged: {problem}. `import neuron` loads every compiled "
                    "mechanism library in the working directory by itself and would crash "
                    f"on this one (\"Bus error\"). Remove its folder (rm -r {folder}), "
                    "rebuild it with nrnivmodl, or run from another directory.")
    return None


#: NEURON's options for ``import neuron`` (read once, when its hoc module starts)
OPTIONS_ENV = "NEURON_MODULE_OPTIONS"


def neuron_options(environ, always: bool = False):
    """The ``NEURON_MODULE_OPTIONS`` to import NEURON with, or None to leave
    the environment as it is.

    NEURON prints "Warning: no DISPLAY environment variable. --No graphics
    will be displayed." on stderr when it starts its GUI without an X
    display (its ivocmain.cpp checks ``getenv("DISPLAY")`` unless ``-nogui``
    was given). Without a display nothing can be drawn anyway, so ``-nogui``
    is added then (to the user's own options, which come first), and the
    warning goes. With a DISPLAY NEURON keeps its GUI, unless ``always``
    (the command line, which never draws with NEURON: an unreachable
    DISPLAY would otherwise stop it with "can't open DISPLAY"). Windows
    has no DISPLAY and is left alone.
    """
    options = environ.get(OPTIONS_ENV, "")
    if "-nogui" in options.split() or sys.platform == "win32":
        return None
    if not always and environ.get("DISPLAY"):
        return None
    return f"{options} -nogui".strip()


#: set by the command line: -nogui even with a DISPLAY
nogui_always = False


class _Finder(importlib.abc.MetaPathFinder):
    """Checks the auto-loaded libraries when ``neuron`` is first imported, and
    imports it with ``-nogui`` where it could not show graphics
    (:func:`neuron_options`), the environment put back afterwards."""

    checked = False

    def find_spec(self, name, path=None, target=None):
        if name == "neuron" and not self.checked:
            problem = damaged_library()
            if problem:
                raise DamagedLibraryError(problem)
            # checked once; sys.meta_path is not changed while Python walks it
            self.checked = True
            return _spec_without_gui(name, path)
        return None  # the regular finders import it


def _spec_without_gui(name, path):
    """NEURON's own module spec, its loader run with NEURON_MODULE_OPTIONS
    holding ``-nogui`` (and then restored: a child process with a DISPLAY
    is not affected), or None (the regular finders then import it as it is)."""
    options = neuron_options(os.environ, always=nogui_always)
    if options is None:
        return None
    from importlib.machinery import PathFinder

    spec = PathFinder.find_spec(name, path)
    loader = getattr(spec, "loader", None)
    if loader is None or not hasattr(loader, "exec_module"):
        return None
    exec_module = loader.exec_module

    def exec_without_gui(module):
        before = os.environ.get(OPTIONS_ENV)
        os.environ[OPTIONS_ENV] = options
        try:
            exec_module(module)
        finally:
            if before is None:
                os.environ.pop(OPTIONS_ENV, None)
            else:
                os.environ[OPTIONS_ENV] = before

    loader.exec_module = exec_without_gui  # this spec's own loader object only
    return spec


_finder = _Finder()


def install() -> None:
    """Check before NEURON's first import (nothing to do once it is imported)."""
    if "neuron" not in sys.modules and _finder not in sys.meta_path and not _finder.checked:
        sys.meta_path.insert(0, _finder)


def uninstall() -> None:
    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
