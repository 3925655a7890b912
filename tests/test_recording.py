"""Recording: traces equal the segment values, region averages are the documented
weighted means, units come from the mod files, errors name what is missing;
and results.save_run writes a run's table and metadata atomically."""

import json
import os
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from ionhomeo import mechanisms, recording, results, solver
from ionhomeo.recording import Recorder, RecordingError

from cells import RESTING, compartment

SPIKING_REST = RESTING + ("nav", "kdr")


def _fake_cell(regions):
    """Stands in for ionhomeo.cell.Cell: only segments(region) is needed."""
    return SimpleNamespace(segments=lambda region: list(regions[region]))


def _tapered_cell(h):
    """A soma and a tapering dendrite (5 segments, 4 to 0.8 um) with the resting system."""
    soma = compartment(h, SPIKING_REST, name="soma")
    dend = compartment(h, RESTING, name="dend", L=150.0, diam=2.0)
    dend.nseg = 5
    for seg, diam in zip(dend, (4.0, 3.0, 2.0, 1.2, 0.8)):
        seg.diam = diam
    dend.connect(soma(1))
    regions = {"soma": list(soma), "dendrite": list(dend), "all": list(soma) + list(dend)}
    return soma, dend, _fake_cell(regions)


# ---------------------------------------------------------------------------
# values


VARIABLES = ("v", "nai", "ina", "ek", "ipump_nakpump", "p_kcc2", "m_nav")


@pytest.mark.parametrize("use_cvode", [False, True])
def test_recorded_values_equal_segment_values_at_sampled_times(h, use_cvode):
    soma = compartment(h, SPIKING_REST)
    seg = soma(0.5)
    stim = h.IClamp(seg)
    stim.delay, stim.dur, stim.amp = 1.0, 1.0, 1.0  # nA: one spike
    rec = Recorder(_fake_cell({}))
    for name in VARIABLES:
        rec.record(name, at=seg)
    if use_cvode:
        solver.use_cvode()
    else:
        solver.use_fixed_step(0.025)
    h.finitialize(-65)
    initial = {name: getattr(seg, name) for name in VARIABLES}
    cvode = h.CVode()
    for t_stop in (1.5, 3.0, 7.25):
        if use_cvode:
            cvode.solve(t_stop)
        else:
            h.continuerun(t_stop)
        now = {name: getattr(seg, name) for name in VARIABLES}
        for name in VARIABLES:
            t, values = rec.trace(name, seg)
            # the Vectors hold the very doubles NEURON computed: exact equality
            assert t[-1] == h.t
            assert values[-1] == now[name], name
            assert values[0] == initial[name], name
    assert not use_cvode or h.t == 7.25  # CVode.solve stops exactly
    t, v = rec.trace("v", seg)
    assert v.max() > 0  # the pulse did fire a spike: the trace is not flat
    df = rec.dataframe()
    assert list(df.columns) == list(recording.COLUMNS)
    assert set(df["variable"]) == set(VARIABLES)
    assert (df.groupby("variable").size() == t.size).all()
    del stim


def test_sampling_interval_gives_the_values_at_those_times(h):
    soma = compartment(h, SPIKING_REST)
    seg = soma(0.5)
    stim = h.IClamp(seg)
    stim.delay, stim.dur, stim.amp = 1.0, 1.0, 1.0
    dense = Recorder(None)
    sparse = Recorder(None, dt_ms=0.5)
    for rec in (dense, sparse):
        rec.record("v", at=seg)
        rec.record("nai", at=seg)
    solver.use_fixed_step(0.025)
    h.finitialize(-65)
    h.continuerun(10.0)
    t_sparse, v_sparse = sparse.trace("v", seg)
    t_dense, v_dense = dense.trace("v", seg)
    # the sample due exactly at the end (10 ms) may be missing (see
    # ionhomeo.recording): NEURON's sample times accumulate rounding
    n = t_sparse.size
    assert n in (20, 21)
    np.testing.assert_allclose(t_sparse, np.arange(n) * 0.5, rtol=0, atol=1e-9)
    # every 20th step of 0.025 ms is a multiple of 0.5 ms: the same samples
    np.testing.assert_array_equal(v_sparse, v_dense[::20][:n])
    np.testing.assert_array_equal(sparse.trace("nai", seg)[1], dense.trace("nai", seg)[1][::20][:n])
    assert sparse.to_dict()["dt_ms"] == 0.5
    del stim


@pytest.mark.parametrize("use_cvode", [False, True])
def test_region_average_is_the_volume_or_area_weighted_mean(h, use_cvode):
    soma, dend, cell = _tapered_cell(h)
    stim = h.IClamp(dend(0.9))
    stim.delay, stim.dur, stim.amp = 1.0, 5.0, 0.3  # nA into the thin end: uneven v, nai
    rec = Recorder(cell)
    names = ("nai", "v", "ina", "ipump_nakpump")
    for name in names:
        rec.record(name, region="dendrite")
        for seg in dend:
            rec.record(name, at=seg)
    if use_cvode:
        solver.use_cvode()
    else:
        solver.use_fixed_step(0.025)
    h.finitialize(-65)
    h.CVode().solve(20.0) if use_cvode else h.continuerun(20.0)

    volume = np.array([seg.volume() for seg in dend])
    area = np.array([seg.area() for seg in dend])
    expected_weighting = {"nai": "volume", "v": "area", "ina": "area", "ipump_nakpump": "area"}
    df = rec.dataframe()
    for name in names:
        t, region = rec.trace(name, "dendrite")
        per_seg = np.array([rec.trace(name, seg)[1] for seg in dend])
        weights = volume if expected_weighting[name] == "volume" else area
        # same sums in another order: equal to rounding (1e-12 relative)
        np.testing.assert_allclose(region, np.average(per_seg, axis=0, weights=weights),
                                   rtol=1e-12, atol=0)
        [recd] = [r for r in rec.recordings if r.variable == name and r.where == "dendrite"]
        assert recd.weighting == expected_weighting[name] and recd.n_segments == 5
        # one time base for the region and its segments
        np.testing.assert_array_equal(df.loc[(df.variable == name) & (df["where"] == "dendrite"),
                                             "t_ms"].to_numpy(), rec.t_ms())
    # the test discriminates: the weightings give different means here
    nai = np.array([rec.trace("nai", seg)[1][-1] for seg in dend])
    by_volume, by_area = np.average(nai, weights=volume), np.average(nai, weights=area)
    assert abs(by_volume - by_area) > 1e-6 * abs(by_volume)
    assert np.ptp(nai) > 1e-4  # mM: the current made Nai uneven
    del stim


def test_units_in_the_table(h):
    soma = compartment(h, SPIKING_REST + ("cadyn",))
    rec = Recorder(_fake_cell({"soma": list(soma)}))
    expected = {"v": "mV", "nai": "mM", "cai": "mM", "ina": "mA/cm2", "ek": "mV",
                "ipump_nakpump": "mA/cm2", "cab_cadyn": "mM", "m_nav": "1", "g_nav": "S/cm2",
                "dgc_nakpump": "mV"}
    for name in expected:
        rec.record(name, region="soma")
    h.finitialize(-65)
    h.continuerun(0.1)
    units = rec.dataframe().groupby("variable")["unit"].unique()
    assert {name: list(u) for name, u in units.items()} == {k: [v] for k, v in expected.items()}
    weighting = {r.variable: r.weighting for r in rec.recordings}
    assert weighting["cab_cadyn"] == "volume" and weighting["cai"] == "volume"
    assert weighting["dgc_nakpump"] == "area" and weighting["v"] == "area"


def test_units_cover_every_variable_of_every_mechanism(h):
    """Every range variable NEURON has for ionhomeo's density mechanisms has units."""
    cat = mechanisms.catalog()
    sec = h.Section(name="everything")
    for name, mech in cat.items():
        if mech.kind == "density":
            sec.insert(name)
    seen = 0
    for mech in sec(0.5):
        for rv in mech:
            name = rv.name()
            if name.endswith("_dv_"):
                continue
            unit = mechanisms.units(name)
            if mech.is_ion():
                assert unit in ("mM", "mA/cm2", "mV"), name
            seen += 1
    assert seen > 100
    # PARAMETER units agree with the catalogue's
    for name, mech in cat.items():
        for p in mech.parameters.values():
            assert mechanisms.units(f"{p.name}_{name}") == p.units, (name, p.name)
    assert mechanisms.units("caeri") == "mM"     # caer's, not ca's
    assert mechanisms.units("icamt") == "mA/cm2"
    assert mechanisms.units("jorg_cadyn") == "mM um2/ms"
    assert mechanisms.units("i_GabaA") == "nA"   # a point process's own current
    assert mechanisms.units("g_pas") == "S/cm2"  # NEURON's built-ins
    del sec


def test_units_errors_name_the_variable_and_suggest():
    with pytest.raises(mechanisms.UnknownVariableError, match="'ipmp_nakpump'.*'ipump_nakpump'"):
        mechanisms.units("ipmp_nakpump")
    with pytest.raises(mechanisms.UnknownVariableError, match="'cai' itself"):
        mechanisms.units("cai_cadyn")
    with pytest.raises(mechanisms.UnknownVariableError, match="unknown variable 'voltage'"):
        mechanisms.units("voltage")


# ---------------------------------------------------------------------------
# errors


def test_unknown_or_absent_variables_name_what_is_there(h):
    soma = compartment(h, ("nadyn", "nakpump", "naleak", "kdyn"))
    seg = soma(0.5)
    rec = Recorder(_fake_cell({"soma": list(soma)}))
    cases = {
        "voltage": r"unknown variable 'voltage' at soma\(0.5\).*Recordable there: v;.*nai",
        "cai": r"'cai'.*no mechanism there uses the ion 'ca'.*Ions there: k, na",
        "icc_kcc2": r"mechanism 'kcc2' is not inserted there.*Mechanisms there: kdyn, nadyn, "
                    r"nakpump, naleak",
        "ipmp_nakpump": r"nakpump has no range variable 'ipmp'.*'ipump_nakpump'",
        "D_nadyn": r"GLOBAL parameter of nadyn",
        "i_GabaA": r"point process",
    }
    for variable, message in cases.items():
        with pytest.raises(RecordingError, match=message):
            rec.record(variable, at=seg)
    with pytest.raises(RecordingError, match=r"region 'soma' \(segment 1 of 1\).*'cai'"):
        rec.record("cai", region="soma")
    assert rec.recordings == ()


def test_misuse_errors(h):
    soma = compartment(h, ("nadyn",))
    dend = compartment(h, ("naleak",), name="dend")
    cell = _fake_cell({"empty": [], "both": list(soma) + list(dend), "junk": [soma]})
    rec = Recorder(cell)
    with pytest.raises(RecordingError, match="exactly one of at="):
        rec.record("v")
    with pytest.raises(RecordingError, match="exactly one of at="):
        rec.record("v", at=soma(0.5), region="both")
    with pytest.raises(RecordingError, match="must be a segment such as soma"):
        rec.record("v", at=soma)
    with pytest.raises(RecordingError, match="region 'empty' has no segments"):
        rec.record("v", region="empty")
    with pytest.raises(RecordingError, match="not a segment"):
        rec.record("v", region="junk")
    # nadyn only in the soma: the region's second segment lacks its... nothing (no
    # range variables), but naleak's current is absent from the soma
    with pytest.raises(RecordingError, match=r"region 'both' \(segment 1 of 2\).*'naleak' is "
                                             r"not inserted"):
        rec.record("i_naleak", region="both")
    with pytest.raises(RecordingError, match="needs a cell"):
        Recorder(None).record("v", region="soma")
    for bad in (0, -1.0, float("nan"), "1", True):
        with pytest.raises(RecordingError, match="dt_ms"):
            Recorder(None, dt_ms=bad)
    # the same recording twice is the same trace
    first = rec.record("v", at=soma(0.5))
    assert rec.record("v", at=soma(0.5)) is first and len(rec.recordings) == 1
    with pytest.raises(RecordingError, match="was not recorded"):
        rec.trace("nai", soma(0.5))


def test_recording_after_initialisation_is_reported(h):
    soma = compartment(h, ("nadyn", "naleak"))
    rec = Recorder(None)
    rec.record("v", at=soma(0.5))
    h.finitialize(-65)
    rec.record("nai", at=soma(0.5))  # too late: NEURON started recordings above
    h.continuerun(1.0)
    with pytest.raises(RecordingError, match="recorded after the simulation was initialised"):
        rec.dataframe()
    h.finitialize(-65)  # a new initialisation starts it
    h.continuerun(1.0)
    assert len(rec.dataframe()) == 2 * rec.t_ms().size


def test_empty_recorder_gives_the_columns(h):
    df = Recorder(None).dataframe()
    assert list(df.columns) == list(recording.COLUMNS) and df.empty


def test_stop_keeps_the_samples(h):
    soma = compartment(h, ("nadyn", "naleak"))
    rec = Recorder(None)
    rec.record("nai", at=soma(0.5))
    h.finitialize(-65)
    h.continuerun(1.0)
    n = rec.t_ms().size
    rec.stop()
    h.continuerun(2.0)
    assert rec.t_ms().size == n and len(rec.dataframe()) == n


# ---------------------------------------------------------------------------
# save_run


def _table():
    return pd.DataFrame({"t_ms": [0.0, 0.025, 0.05], "variable": "nai", "where": "soma",
                         "value": [12.0, 12.0001, 12.0002], "unit": "mM"})


def test_save_run_writes_table_and_metadata_that_round_trip(tmp_path):
    df = _table()
    metadata = {"cell": {"morphology": {"path": "x.swc", "sha256": "ab" * 32},
                         "recipe": {"name": "mature"}, "d_lambda": 0.1},
                "parameters": {"tstop_ms": 0.05, "method": "fixed"},
                "values": np.array([1.0, 2.0])}
    table, meta_path = results.save_run(tmp_path / "out", "run1", df, metadata)
    assert table == tmp_path / "out" / "run1.csv" and meta_path == tmp_path / "out" / "run1.json"
    pd.testing.assert_frame_equal(pd.read_csv(table), df)
    meta = json.loads(meta_path.read_text())
    for key in ("ionhomeo_version", "neuron_version", "timestamp_utc", "mod_source_hash"):
        assert key in meta
    assert {k: meta[k] for k in metadata} == results.jsonable(metadata)
    assert meta["data_file"]["file"] == "run1.csv" and meta["data_file"]["rows"] == 3
    assert meta["data_file"]["columns"] == list(df.columns)
    import hashlib
    assert meta["data_file"]["sha256"] == hashlib.sha256(table.read_bytes()).hexdigest()
    # only the two files: no temporary files left behind
    assert sorted(os.listdir(tmp_path / "out")) == ["run1.csv", "run1.json"]


def test_save_run_failure_leaves_previous_files(tmp_path):
    results.save_run(tmp_path, "run", _table(), {"a": 1})
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(TypeError, match="cannot write"):
        results.save_run(tmp_path, "run", _table().iloc[:1], {"a": object()})
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    for name in ("", "a/b", ".."):
        with pytest.raises(ValueError, match="plain file name"):
            results.save_run(tmp_path, name, _table())
    with pytest.raises(ValueError, match="format must be one of"):
        results.save_run(tmp_path, "run", _table(), format="xlsx")
    with pytest.raises(ValueError, match="data_file"):
        results.save_run(tmp_path, "run", _table(), {"data_file": 1})


def test_save_run_parquet_without_an_engine_names_the_fix(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("pyarrow", "fastparquet")
                        else real(name, *a))
    with pytest.raises(ImportError, match="pip install pyarrow"):
        results.save_run(tmp_path / "out", "run", _table(), {}, format="parquet")
    assert not (tmp_path / "out").exists()  # nothing written


def test_save_run_parquet_round_trip(tmp_path):
    pytest.importorskip("pyarrow")
    table, meta_path = results.save_run(tmp_path, "run", _table(), {}, format="parquet")
    assert table.suffix == ".parquet"
    pd.testing.assert_frame_equal(pd.read_parquet(table), _table())
    assert json.loads(meta_path.read_text())["data_file"]["format"] == "parquet"
