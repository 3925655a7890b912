"""The calibrated presets: their values are the recorded fit's, the record
says how to reproduce it, and the fit's pieces behave."""

import json
import math

import pytest

from ionhomeo import calibration, presets, scorecard
from ionhomeo.calibration import Parameter, current_value, with_value


@pytest.mark.parametrize("name", presets.NAMES)
def test_preset_values_are_those_of_its_recorded_fit(name):
    """Every fitted value (and every value taken from another preset's fit) is
    in the preset's TOML as the record has it, to the 4 significant digits
    the TOML is written with."""
    rec = presets.load(name)
    assert rec.name == name and rec.calibrated
    record = json.loads((calibration.RECORD_DIR / f"{name}.json").read_text())
    assert rec.calibration["command"] == record["command"]
    # every block names the command that fitted it; the record lists those
    # commands in the order they ran, the last being this record's, and the
    # preset lists the same
    assert record["commands"][-1] == record["command"]
    assert {b["command"] for b in record["blocks"].values()} == set(record["commands"])
    assert list(rec.calibration["commands"]) == record["commands"]
    # the preset's target lists: what its blocks (and the blocks it takes
    # from another preset) were fitted to, and every validation target
    own = {t for b in calibration.BLOCKS[name] for t in b[2]}
    shared = set()
    if name in calibration.SHARED:
        source, blocks = calibration.SHARED[name]
        shared = {t for b in calibration.BLOCKS[source] if b[0] in blocks for t in b[2]}
    assert set(rec.calibration["fitted_to"]) in (own, own | shared)
    assert set(rec.calibration["held_out"]) == {t.id for t in scorecard.targets(name, "validation")}
    assert record["seed"].startswith("none")
    fitted = {p["key"]: p for b in record["blocks"].values() for p in b["parameters"]}
    assert set(b[0] for b in calibration.BLOCKS[name]) <= set(record["blocks"])
    for key, p in fitted.items():
        param = Parameter(p["mechanism"], p["name"], p["region"], p["low"], p["high"])
        assert current_value(rec, param) == pytest.approx(p["fitted"], rel=5e-4), key
    for key, value in record.get("shared", {}).items():
        mech, rest = key.split(".", 1)
        pname, region = rest.split(" [")
        param = Parameter(mech, pname, region.rstrip("]"), 0, 1)
        assert current_value(rec, param) == pytest.approx(value, rel=5e-4), key
    # the fit used only targets marked fit, and those of this preset
    fit_ids = {t.id for t in scorecard.targets(name, "fit")}
    for block in record["blocks"].values():
        assert set(block["targets"]) <= fit_ids
        assert len(block["history"]) >= block["nfev"]  # nfev leaves out the Jacobian's


def test_with_value_edits_the_rule_of_that_region_only():
    rec = presets.load("mature")
    kcc2_all = Parameter("kcc2", "imax", "all", 1e-4, 1.0)
    changed = with_value(rec, kcc2_all, 0.123)
    assert current_value(changed, kcc2_all) == 0.123
    ais = [r for r in changed.rules if r.mechanism == "kcc2" and str(r.region) == "ais"]
    assert ais and ais[0].values["imax"] == 0.0  # the AIS rule keeps KCC2 out
    assert len(changed.rules) == len(rec.rules)
    new = with_value(rec, Parameter("kcc2", "kwnk", "soma", 0, 1), 0.5)
    assert len(new.rules) == len(rec.rules) + 1
    glob = with_value(rec, Parameter("nakpump", "kmna", None, 1, 100), 12.0)
    assert current_value(glob, Parameter("nakpump", "kmna", None, 1, 100)) == 12.0


def test_residuals_are_in_units_of_the_measured_half_range():
    [t] = [t for t in scorecard.targets() if t.id == "vm-rest"]
    mid, half = 0.5 * (t.low + t.high), 0.5 * (t.high - t.low)
    r = calibration._residuals([t], {"vm-rest": mid + half})
    assert r[0] == pytest.approx(1.0)
    assert calibration._residuals([t], {"vm-rest": math.nan})[0] >= 1e3


def test_an_unknown_block_is_refused(capsys):
    assert calibration.main(["immature", "--block", "terminal"]) == 2
    err = capsys.readouterr().err
    assert "immature has no block terminal" in err and "chloride" in err


def test_a_block_refitted_alone_keeps_the_others_and_their_commands(tmp_path, monkeypatch):
    """Two runs into one record (no simulation: the fit is replaced by one
    that moves nothing): the second, of one block, keeps the first run's
    other blocks with their command, orders the blocks as they are fitted,
    and lists only the commands that fitted a block; a third, full run
    leaves only its own command."""
    monkeypatch.setattr(calibration, "RECORD_DIR", tmp_path)

    def fake_fit(recipe, params, target_ids, morphology, max_nfev, log=print):
        return recipe, {"parameters": [], "targets": list(target_ids), "history": []}

    monkeypatch.setattr(calibration, "fit_block", fake_fit)
    record = lambda: json.loads((tmp_path / "mature.json").read_text())  # noqa: E731
    order = [b[0] for b in calibration.BLOCKS["mature"]]
    assert calibration.main(["mature"]) == 0
    assert calibration.main(["mature", "--block", "terminal"]) == 0
    r = record()
    assert list(r["blocks"]) == order
    assert r["commands"] == ["python -m ionhomeo.calibration mature",
                             "python -m ionhomeo.calibration mature --block terminal"]
    assert r["blocks"]["terminal"]["command"].endswith("--block terminal")
    assert r["blocks"]["calcium"]["command"] == "python -m ionhomeo.calibration mature"
    assert all("provenance" in b for b in r["blocks"].values())
    assert calibration.main(["mature"]) == 0
    assert record()["commands"] == ["python -m ionhomeo.calibration mature"]
