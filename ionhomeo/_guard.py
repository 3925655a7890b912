"""A damaged compiled-mechanism library in the working directory, caught
before NEURON loads it.

``import neuron`` loads ``./<arch>/libnrnmech.so`` (and the folders named in
``NRN_NMODL_PATH``) on its own. A truncated library there (a copy or a
compile that was interrupted) kills the process with "Bus error" inside that
import, before any Python code can say why. :func:`install` puts a finder in
front of Python's import system that checks those files when ``neuron`` is
first imported and raises :class:`DamagedLibraryError` naming the file and
the fix instead. It imports nothing heavy and never imports NEURON.
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
    """Why the ELF shared library ``path`` cannot be loaded (not ELF, or
    shorter than its own headers say), or None when it is complete."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(64)
        if len(head) < 52 or head[:4] != b"\x7fELF":
            return "it is not a shared library (no ELF header)"
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
    """The libraries ``import neuron`` would load by itself from ``cwd`` and
    ``NRN_NMODL_PATH``."""
    try:
        folders = [Path(cwd) if cwd is not None else Path.cwd()]
    except OSError:  # the working directory was removed: nothing there to load
        folders = []
    folders += [Path(p) for p in os.environ.get("NRN_NMODL_PATH", "").split(":") if p]
    found = []
    for folder in folders:
        for arch in dict.fromkeys(_ARCHES):
            for rel in (".libs/libnrnmech.so", "libnrnmech.so"):
                path = folder / arch / rel
                try:
                    present = path.is_file()
                except OSError:  # unreadable folder: NEURON will not load from it either
                    present = False
                if present and path not in found:
                    found.append(path)
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
        if problem:
            folder = path.parent.parent if path.parent.name == ".libs" else path.parent
            return (f"{path} is damaged: {problem}. `import neuron` loads every compiled "
                    "mechanism library in the working directory by itself and would crash "
                    f"on this one (\"Bus error\"). Remove its folder (rm -r {folder}), "
                    "rebuild it with nrnivmodl, or run from another directory.")
    return None


class _Finder(importlib.abc.MetaPathFinder):
    """Checks the auto-loaded libraries when ``neuron`` is first imported."""

    def find_spec(self, name, path=None, target=None):
        if name == "neuron":
            problem = damaged_library()
            if problem:
                raise DamagedLibraryError(problem)
            uninstall()
        return None  # the regular finders import it


_finder = _Finder()


def install() -> None:
    """Check before NEURON's first import (nothing to do once it is imported)."""
    if "neuron" not in sys.modules and _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)


def uninstall() -> None:
    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
