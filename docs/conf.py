"""Sphinx configuration of ionhomeo's documentation.

Build (from the repository root, with the ``docs`` extra installed)::

    sphinx-build -W --keep-going -b html docs docs/_build/html

``-W`` turns every warning into an error. The notebooks of the gallery are
executed at every build (a few minutes); ``-D nb_execution_mode=off`` builds
without executing them (their pages then show the code without outputs).
The mechanism pages, the API pages and the gallery's copies of the
notebooks are generated at build time by ``_ext/ionhomeo_pages.py`` into
``docs/mechanisms/``, ``docs/api/`` and ``docs/gallery/`` (git-ignored).
"""

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))
# the package of this checkout (ahead of an installed copy)
sys.path.insert(0, str(DOCS.parent))
# the notebooks' kernels inherit the environment: they import this checkout's
# package too, and matplotlib draws off-screen (no display)
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(DOCS.parent)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
os.environ.setdefault("MPLBACKEND", "Agg")
# no "no DISPLAY" notice from NEURON in every notebook's first output
os.environ.setdefault("NEURON_MODULE_OPTIONS", "-nogui")

import ionhomeo  # noqa: E402

project = "ionhomeo"
author = "the ionhomeo developers"
copyright = "the ionhomeo developers"
version = release = ionhomeo.__version__

extensions = [
    "myst_nb",  # Markdown (MyST) pages and executed Jupyter notebooks
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    # mechanism, API and gallery pages generated at build time; napoleon's parser
    # for the NumPy-style sections of some docstrings (not as an extension: see there)
    "ionhomeo_pages",
]

source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"
# text as written: the mechanism pages quote the mod files' prose (no curly quotes, dashes)
smartquotes = False
exclude_patterns = ["_build", "_ext", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]

# MyST: anchors for headings down to level 3, so [text](page.md#heading) links resolve
myst_heading_anchors = 3
# deflist: the mechanism pages' "term / : definition" lists. Equations are
# written as plain text, as in the mod files: they read the same offline
myst_enable_extensions = ["deflist"]

# MyST-NB: the gallery's notebooks run at every build, top to bottom, in a
# fresh kernel; a cell that raises fails the build (with -W)
nb_execution_mode = "force"
nb_execution_timeout = 600  # s per cell: a cold cache compiles the mechanisms first
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_execution_in_temp = True  # the notebooks' working directory: a fresh temporary one
nb_merge_streams = True

# autodoc: members in source order; the package's docstrings are reST
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True

# every cross-reference to ionhomeo's own objects must resolve (nitpicky):
# a renamed function named in a docstring or a page fails the build. Names
# outside the package (numpy, NEURON, the standard library) are not checked
# here (no intersphinx: the build needs no network).
nitpicky = True
nitpick_ignore_regex = [(r"py:.*", r"(?!ionhomeo\b).*")]

html_theme = "furo"
html_title = f"ionhomeo {release}"
html_static_path = []
html_theme_options = {
    "source_repository": "https://github.com/ionhomeo/ionhomeo",
    "source_branch": "main",
    "source_directory": "docs/",
}
