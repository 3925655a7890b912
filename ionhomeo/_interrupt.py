"""Ctrl-C that NEURON cannot swallow.

Python handles SIGINT by raising KeyboardInterrupt in whatever Python code
runs next. While NEURON integrates, the Python code that runs next is often a
callback NEURON called (an ``FInitializeHandler``, a ``CVode.event``): NEURON
prints the interrupt's traceback there and carries on, as if nothing had
happened, so a Ctrl-C during a long run was lost.

:func:`guard` installs, for the span of a ``with`` block, a SIGINT handler
that notes the interrupt before raising it the usual way (through the handler
it replaces, so an outer handler still sees it). ``check()`` and the end of
the block raise KeyboardInterrupt if an interrupt was noted and lost.
Outside the main thread, where Python delivers no signals, it does nothing.
"""

from __future__ import annotations

import contextlib
import functools
import signal
import sys
import threading
from typing import Callable, Iterator


class _Noted:
    """One guard's flags: ``hit`` when its handler saw SIGINT (until it is
    raised), ``stopped`` when the handler set NEURON's stoprun (compared by
    identity)."""
    __slots__ = ("hit", "stopped")

    def __init__(self):
        self.hit = self.stopped = False


#: the active guards' flags, innermost last
_noted: list[_Noted] = []


@contextlib.contextmanager
def guard() -> Iterator[Callable[[], None]]:
    """``with guard():`` ... :func:`check` (or the end of the block) raises
    KeyboardInterrupt if a SIGINT arrived since the block began and was
    swallowed on its way. Guards nest; the block yields :func:`check`."""
    if threading.current_thread() is not threading.main_thread():
        yield check
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous in (signal.SIG_IGN, None):  # ignored (or set outside Python): leave it so
        yield check
        return
    noted = _Noted()

    def handler(signum, frame):
        noted.hit = noted.stopped = True
        _stop_neuron_run()
        if _inside_callback(frame):
            # inside a callback NEURON called: raised there, NEURON would print
            # its traceback and carry on. Noted in every active guard (one
            # opened inside the callback ends there, without raising), so
            # check() or the end of the guard around the NEURON call raises it
            for other in _noted:
                other.hit = other.stopped = True
            return
        if callable(previous):
            previous(signum, frame)  # Python's own raises KeyboardInterrupt here
        else:  # SIG_DFL: the process would end; end the work instead
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    _noted.append(noted)
    try:
        yield check
    finally:
        _noted.remove(noted)
        signal.signal(signal.SIGINT, previous)
        if noted.stopped:  # the run it stopped is over: a later run must not stop at once
            _stop_neuron_run(0)
    # reached only when the block ended normally: the interrupt was lost. Not
    # raised inside a callback NEURON called: the guard around that NEURON
    # call, noted as well, raises it when NEURON returns
    if noted.hit and not _inside_callback(sys._getframe()):
        raise KeyboardInterrupt


def _call_from_neuron(func, args, kwargs):
    """The frame every :func:`neuron_callback` runs under (found by its code)."""
    return func(*args, **kwargs)


def _inside_callback(frame) -> bool:
    """Whether ``frame`` runs under a :func:`neuron_callback` (the frames of
    Python code NEURON calls link back to the Python code that called
    NEURON, so the callback's frame is on the chain)."""
    while frame is not None:
        if frame.f_code is _call_from_neuron.__code__:
            return True
        frame = frame.f_back
    return False


def neuron_callback(func):
    """``func`` as a callback for NEURON to call (an ``FInitializeHandler``):
    a Ctrl-C during it is noted, not raised inside NEURON (which would print
    the KeyboardInterrupt's traceback and carry on); the guard around the
    NEURON call raises it when NEURON returns. Read off the call stack, so
    nothing is left behind however the callback ends."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return _call_from_neuron(func, args, kwargs)
    return wrapper


def _stop_neuron_run(value: int = 1) -> None:
    """Ask a fixed-step ``continuerun`` in progress to stop at its next step
    (stdrun's ``stoprun``; ``continuerun`` clears it when it starts). CVODE's
    ``CVode.solve`` has no such flag: it ends at its chunk's end. ``value``
    0 clears it again when the guarded block ends: left set, it made the next
    ``simulate.run`` under CVODE end at once as an interrupt."""
    neuron = sys.modules.get("neuron")
    h = getattr(neuron, "h", None)
    if h is not None and hasattr(h, "stoprun"):
        h.stoprun = value


def check() -> None:
    """Raise KeyboardInterrupt if an active guard saw a SIGINT that did not
    arrive as one (it is then cleared, so it is raised once)."""
    if any(noted.hit for noted in _noted):
        for noted in _noted:
            noted.hit = False
        raise KeyboardInterrupt


def guarded(func):
    """Run ``func`` inside a :func:`guard`: a Ctrl-C that NEURON swallowed
    during the call ends it as KeyboardInterrupt."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with guard():
            return func(*args, **kwargs)
    return wrapper
