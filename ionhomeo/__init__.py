"""ionhomeo: neuronal ion homeostasis for the NEURON simulator.

Mechanisms (``mod/``) are compiled and loaded on first use by
:func:`ionhomeo.build.load`; :mod:`ionhomeo.defaults` holds the default
concentrations and temperature; :mod:`ionhomeo.thermo` the thermodynamics;
:mod:`ionhomeo.mechanisms` the catalogue of mechanisms and validated
insertion; :mod:`ionhomeo.steady` the steady-state start.
"""

__version__ = "0.1.0"
