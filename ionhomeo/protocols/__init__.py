"""Simulation protocols: named, reproducible experiments with saved results.

Every protocol is an :class:`ionhomeo.experiment.Protocol`: a validated spec
of options (units, ranges), a model (its own geometry with a preset, or any
reconstruction), a measurement, a report with :mod:`ionhomeo.checks` and a
figure. Calling it, ``protocol(out_dir=None, **options)``, returns a
:class:`~ionhomeo.experiment.Result` (summary, tables, checks,
metadata) and writes ``<name>.csv``, ``<name>_summary.csv``,
``<name>_checks.csv``, ``<name>.json`` and ``<name>.png`` to ``out_dir`` as one
set. :data:`PROTOCOLS` maps each name to its registration (called like the
protocol, with a one-line ``description``); ``ionhomeo run NAME`` runs one
from the command line, ``--set name=value`` sets any option.

To add a protocol, write ``ionhomeo/protocols/<name>.py`` on the skeleton (the
README's developer guide has a complete example) and register it below.
"""

from __future__ import annotations

import dataclasses
import gc
from typing import Callable

from . import (added_buffer, cl_accumulation, egaba, egaba_development, energy_failure,
               er_release, extrusion_division, homeostatic_plasticity, kcc2_phosphorylation,
               na_leak, pump_ahp, rest, scorecard, spike_train, terminal_vs_soma)


class UnknownProtocolError(LookupError):
    """A protocol name that is not registered."""


@dataclasses.dataclass(frozen=True)
class Protocol:
    """A registered protocol: ``protocol(out_dir=..., duration_s=...)`` runs it."""

    name: str
    run: Callable
    description: str

    def __call__(self, *args, **kwargs):
        out_dir = kwargs.get("out_dir", args[0] if args else None)
        if out_dir is not None:
            # a folder that cannot take the results is said before computing
            from ..results import check_output_dir

            check_output_dir(out_dir)
        try:
            return self.run(*args, **kwargs)
        finally:
            # A written figure can leave cyclic garbage that holds the run's
            # frame, and with it NEURON sections, until the next collection
            # (measured: 1-2 sections alive after cl-accumulation,
            # added-buffer, homeostatic-plasticity). Collect now, so that they
            # do not vanish in the middle of the next model's solve or run.
            gc.collect()


#: name -> Protocol
PROTOCOLS: dict[str, Protocol] = {}


def register(name: str, run: Callable, description: str | None = None) -> Protocol:
    """Add protocol ``name``; ``description`` defaults to the first docstring line."""
    if name in PROTOCOLS:
        raise ValueError(f"protocol {name!r} is already registered")
    if description is None:
        description = ((run.__doc__ or "").strip().splitlines() or [""])[0]
    PROTOCOLS[name] = Protocol(name=name, run=run, description=description)
    return PROTOCOLS[name]


def get(name: str) -> Protocol:
    """The protocol called ``name``, in any case and with ``_`` for ``-``
    (``Spike_Train`` is ``spike-train``); UnknownProtocolError suggests the
    closest and lists the known ones."""
    from ..names import match, suggestion

    found = match(name, PROTOCOLS)
    if found is not None:
        return PROTOCOLS[found]
    hint = suggestion(name, PROTOCOLS).strip()
    hint = f" ({hint[0].lower()}{hint[1:-1]}?)" if hint else ""
    raise UnknownProtocolError(
        f"unknown protocol {name!r}{hint}; known protocols: {', '.join(sorted(PROTOCOLS))}")


register(rest.NAME, rest.run, rest.DESCRIPTION)
register(egaba.NAME, egaba.run, egaba.DESCRIPTION)
register(egaba_development.NAME, egaba_development.run, egaba_development.DESCRIPTION)
register(cl_accumulation.NAME, cl_accumulation.run, cl_accumulation.DESCRIPTION)
for _module in (kcc2_phosphorylation, added_buffer, terminal_vs_soma, extrusion_division,
                er_release, na_leak, energy_failure, pump_ahp, homeostatic_plasticity):
    register(_module.NAME, _module.run, _module.DESCRIPTION)
register(spike_train.NAME, spike_train.run, spike_train.DESCRIPTION)
register(scorecard.NAME, scorecard.run, scorecard.DESCRIPTION)
