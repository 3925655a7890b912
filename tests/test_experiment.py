"""The protocol skeleton (ionhomeo.experiment) and checks (ionhomeo.checks)."""

import dataclasses
import inspect
import math

import pytest

from ionhomeo import checks, geometry
from ionhomeo.experiment import Protocol, Report, Session, Spec, param
from ionhomeo.mechanisms import ParameterError


@dataclasses.dataclass(frozen=True)
class ToySpec(Spec):
    diam_um: float = param(10.0, "um", "diameter", 0.0, 100.0)
    loads_uM: tuple = param((1.0, 2.0), "uM", "loads", 0.0)
    n: int = param(3, "", "count", 0)
    fast: bool = param(False, "", "a switch")
    kind: str = param("a", "", "a choice", choices=("a", "b"))
    cap_mV: float = param(None, "mV", "optional cap", -200.0, 100.0)
    ratio: float = param(None, "", "optional pure number", 0.0, 2.0)
    names: tuple = param(("a", "b"), "", "names")
    label: str = param("x", "", "a text")
    holds_mV: tuple = param((1.0, 2.0), "mV", "at least two", min_items=2)


class Toy(Protocol):
    name = "toy"
    description = "a cylinder at rest"
    Spec = ToySpec
    preset = "mature"

    def geometry(self, spec):
        return geometry.cylinder(spec.diam_um, spec.diam_um)

    def measure(self, spec, session):
        cell = session.cell(spec)
        state = cell.initialize()
        session.h.CVode().active(1)  # the session puts the solver back
        return {"v": state.v, "cells": len(session.cells)}

    def report(self, spec, data):
        return Report([("Vm", data["v"], "mV", "resting potential")],
                      checks=[checks.at_most("Vm", data["v"], -50.0, "mV",
                                             "protocol: a toy bound", "none needed")])


@pytest.mark.parametrize("options, message", [
    ({"diam_um": 0.0}, "diam_um must be > 0 um, got 0.0"),
    ({"diam_um": "10"}, "diam_um must be a finite number (um)"),
    ({"diam_um": math.nan}, "finite number"),
    ({"loads_uM": (1.0, -1.0)}, "loads_uM must be > 0 uM"),
    ({"loads_uM": "1,2"}, "loads_uM must be a list"),
    ({"n": 2.5}, "n must be a whole number"),
    ({"fast": 1}, "fast must be True or False"),
    ({"kind": "c"}, "kind must be one of 'a', 'b'"),
    ({"cap_mV": 500.0}, "cap_mV must be <= 100 mV"),
    ({"diam": 5.0}, "has no option 'diam'. Did you mean 'diam_um'?"),
    ({"ratio": 3.0}, "ratio must be <= 2, got 3.0"),
    ({"ratio": "1"}, "ratio must be a finite number"),
    ({"names": ("a", 5)}, "names is a list of names, got 5"),
    ({"label": 5}, "label must be text, got 5"),
    ({"holds_mV": (1.0,)}, "holds_mV needs at least 2 value(s), got 1"),
    ({"loads_uM": ()}, "loads_uM needs at least 1 value(s), got 0"),
])
def test_options_are_validated_with_the_name_the_unit_and_the_range(options, message):
    with pytest.raises(ParameterError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace(".", r"\.").replace("?", r"\?")):
        Toy().spec(**options)


def test_valid_options_are_converted_and_recorded():
    spec = Toy().spec(loads_uM=[5, 6], cap_mV=None, n=4)
    assert spec.loads_uM == (5.0, 6.0) and spec.n == 4 and spec.cap_mV is None
    assert spec.to_dict()["loads_uM"] == {"value": (5.0, 6.0), "unit": "uM"}
    params = inspect.signature(Toy()).parameters
    assert list(params)[:3] == ["out_dir", "morphology", "recipe"]
    assert params["diam_um"].default == 10.0 and "progress" in params


def test_a_run_writes_one_set_and_leaves_neuron_as_found(h, tmp_path):
    from ionhomeo import solver

    before = solver.save()
    result = Toy()(out_dir=tmp_path / "toy", diam_um=15.0)
    assert solver.save() == before  # CVODE switched on inside, put back
    assert list(h.allsec()) == []  # the session destroyed its cell
    assert result.passed is True and result.check("Vm").passed
    names = {p.name for p in (tmp_path / "toy").iterdir()}
    assert names == {"toy_summary.csv", "toy_checks.csv", "toy.json"}  # no timecourse, no figure
    import json

    meta = json.loads((tmp_path / "toy" / "toy.json").read_text())
    assert meta["spec"]["diam_um"] == {"value": 15.0, "unit": "um"}
    assert meta["checks"][0]["passed"] is True and meta["checks"][0]["source"].startswith("protocol")


def test_a_cell_can_be_dropped_before_the_session_ends(h):
    with Session() as session:
        cell = session.cell(geometry=geometry.cylinder(5.0, 5.0), preset="mature")
        session.drop(cell)
        assert list(h.allsec()) == [] and session.cells == []


def test_the_cli_turns_a_geometry_out_of_range_into_one_line(capsys):
    from ionhomeo import cli

    assert cli.main(["run", "added-buffer", "--set", "diam_um=2e7"]) == 2
    err = capsys.readouterr().err
    assert "must be a number > 0 and < 1e7 um, got 20000000.0" in err and "Traceback" not in err


def test_the_session_cleans_up_after_an_error(h):
    from ionhomeo import solver

    before = solver.save()
    with pytest.raises(RuntimeError, match="deliberate"):
        with Session() as session:
            session.cell(geometry=geometry.cylinder(5.0, 5.0), preset="mature")
            session.h.CVode().active(1)
            raise RuntimeError("deliberate")
    assert solver.save() == before and list(h.allsec()) == []


def test_checks_say_pass_or_fail_with_their_source():
    ok = checks.within("E", -71.98, -72.0, 1.0, "mV", "physics: GHK", "interpolation")
    assert ok.passed and ok.line() == "PASS  E: -71.98 mV, expected -72 mV +/- 1 (physics: GHK)"
    bad = checks.relative("tau", 11.5, 10.0, 0.1, "s", "model: tau_Na", "other fluxes")
    assert not bad.passed and bad.line().startswith("FAIL  tau: 11.5 s, expected 10 s +/- 10 %")
    assert not checks.within("x", math.nan, 0.0, 1.0, "1", "physics: x", "").passed
    assert not checks.at_least("x", math.nan, 0.0, "1", "physics: x", "").passed
    assert checks.holds("order", True, "a < b", "a < b", "paper: X 2001").passed
    with pytest.raises(ValueError, match="source must start with one of"):
        checks.at_most("x", 1.0, 2.0, "1", "my guess", "")
    table = checks.table([ok, bad])
    assert list(table["result"]) == ["PASS", "FAIL"]


def _recipe(calibrated):
    """The mature preset with a stand-in [calibration] table, or without any
    (a changed copy loses the preset's own: it is no longer the fitted model)."""
    from ionhomeo import presets

    rec = presets.load("mature")
    return dataclasses.replace(rec, calibration={
        "method": "test stand-in", "command": "none", "seed": 1, "fitted": ["Vm"]}
        if calibrated else {})


@pytest.mark.parametrize("calibrated", [True, False])
def test_a_run_says_whether_its_recipe_was_calibrated(h, tmp_path, capsys, calibrated):
    """The recipe's calibrated flag (a [calibration] table) reaches the JSON, the
    Result's metadata and the printed header."""
    import json

    from ionhomeo import cli

    result = Toy()(out_dir=tmp_path, recipe=_recipe(calibrated))
    meta = json.loads((tmp_path / "toy.json").read_text())
    for m in (meta, result.metadata):
        assert m["calibrated"] is calibrated
        assert m["recipes"] == [{"name": "mature", "calibrated": calibrated,
                                 "method": "test stand-in" if calibrated else None}]
        assert m["idealised"] is None  # Toy declares none
    line = cli.model_lines(meta)
    assert line == ["recipe: mature (calibrated: test stand-in)" if calibrated
                    else "recipe: mature (not calibrated)"]


def test_the_presets_are_calibrated_and_a_changed_copy_is_not(h, tmp_path):
    """The shipped presets carry their fit's [calibration] table; a copy whose
    model differs (one more rule) is no longer the fitted one and says so."""
    from ionhomeo import presets

    assert all(presets.load(name).calibrated for name in presets.NAMES)
    # (the Toy's cylinder: a soma alone with the immature preset fires, so no rest)
    result = Toy()(out_dir=tmp_path / "mature", recipe="mature")
    assert result.metadata["calibrated"] is True
    assert result.metadata["recipes"][0]["method"].startswith("scipy.optimize.least_squares")
    # any rule added drops the table, even one that repeats a value (the recipe
    # cannot tell which changes move the fitted quantities)
    changed = presets.load("mature").add("soma", "cabuf", kappab=79.0)
    assert not changed.calibrated
    assert Toy()(out_dir=tmp_path / "changed", recipe=changed).metadata["calibrated"] is False


def test_an_idealised_protocol_says_so(h, tmp_path):
    import json

    from ionhomeo import cli

    class Ideal(Toy):
        idealised = "the check holds in one isopotential compartment"

    result = Ideal()(out_dir=tmp_path)
    meta = json.loads((tmp_path / "toy.json").read_text())
    assert meta["idealised"] == result.metadata["idealised"] == Ideal.idealised
    assert cli.model_lines(meta)[-1] == f"idealised: {Ideal.idealised}"


def test_the_protocols_declare_their_idealised_geometry():
    """Every idealised note is a reason, written as a sentence; pump-ahp and
    added-buffer have one (their checks hold in their own compartment only)."""
    from ionhomeo.protocols import PROTOCOLS

    notes = {name: p.run.idealised for name, p in PROTOCOLS.items()}
    assert notes["pump-ahp"] and notes["added-buffer"]
    assert all(isinstance(n, str) and (not n or len(n) > 40) for n in notes.values())
