"""ionhomeo: neuronal ion homeostasis for the NEURON simulator.

Mechanisms (``mod/``) are compiled and loaded on first use by
:func:`ionhomeo.build.load`; :mod:`ionhomeo.defaults` holds the default
concentrations and temperature; :mod:`ionhomeo.thermo` the thermodynamics;
:mod:`ionhomeo.mechanisms` the catalogue of mechanisms and validated
insertion; :mod:`ionhomeo.steady` the steady-state start.
"""

__version__ = "0.1.0"

# a damaged ./x86_64/libnrnmech.so would crash `import neuron` ("Bus error"):
# said as an ImportError naming the file instead
from ._guard import DamagedLibraryError, install as _install_guard  # noqa: E402

__all__ = ["DamagedLibraryError", "__version__"]

_install_guard()
