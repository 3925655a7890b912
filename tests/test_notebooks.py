"""The example notebooks (notebooks/*.ipynb) run from top to bottom, and are
stored without outputs.

Each notebook asserts the numbers it shows, so executing it checks the
physics as well as the code. They run in a fresh kernel in a temporary
working directory; the kernel inherits the environment (IONHOMEO_CACHE, the
compiled-mechanism cache, in particular) and gets MPLBACKEND=Agg: there is
no display.
"""

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOKS = sorted(Path(__file__).parents[1].glob("notebooks/*.ipynb"))
REQUIRED = {"chloride.ipynb", "calcium.ipynb", "sodium_energy.ipynb", "your_own_cell.ipynb"}

# Per-cell limit (s). The slowest cell (egaba-development on the ball-and-stick
# cell) takes about 20 s on a 2-core machine, a whole notebook under 60 s; the
# first cell that loads the mechanisms may also have to compile them
# (nrnivmodl, a minute or two) when the cache is cold. 600 s leaves room for a
# slow CI machine while still stopping a hung kernel.
CELL_TIMEOUT_S = 600


def _ids(path):
    return path.stem


def test_the_notebooks_are_there():
    assert len(NOTEBOOKS) >= 4
    assert REQUIRED <= {p.name for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        assert cell.outputs == [], f"{path.name}: code cell {i} has stored outputs"
        assert cell.execution_count is None, f"{path.name}: code cell {i} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_notebook_runs(path, tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # the notebooks write their results to tempfile.mkdtemp(): keep them in tmp_path
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute()
    except CellExecutionError as err:
        # the message holds the failing cell's source and its traceback
        # (without the terminal colour codes of IPython's traceback)
        message = re.sub(r"\x1b\[[0-9;]*m", "", str(err))
        pytest.fail(f"{path.name} failed:\n{message}", pytrace=False)
    errors = [out for cell in nb.cells if cell.cell_type == "code"
              for out in cell.outputs if out.output_type == "error"]
    assert not errors, f"{path.name}: error outputs: " + "; ".join(
        f"{e.ename}: {e.evalue}" for e in errors)
