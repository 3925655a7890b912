"""``ionhomeo run PROTOCOL --set NAME=VALUE``: every keyword option of a
protocol settable from the command line, in the unit its name carries, with a
clear error for anything else."""

import pytest

from ionhomeo import cli
from ionhomeo.protocols import PROTOCOLS, Protocol


def _standin(**options):
    """A protocol recording what it was called with (the real ones validate
    their values themselves and are run by their own tests)."""
    calls = []

    def run(out_dir=None, morphology=None, recipe=None, duration_s: float = 10.0,
            onset_s: float = 0.0, diam_um: float = 20.0, hold_mV: float = -70.0,
            dye_uM=(0.0, 50.0), recipes=("mature", "immature"), kext: bool = True,
            pulse_nA=None, seed=1, modulated: str = "naleak.pna", weight_us: float = 0.05,
            gaba_hz: float = 40.0, n_ions: float = 1.2e5, progress=None, defaults=None):
        calls.append(dict(duration_s=duration_s, onset_s=onset_s, diam_um=diam_um, hold_mV=hold_mV, dye_uM=dye_uM,
                          recipes=recipes, kext=kext, pulse_nA=pulse_nA, seed=seed,
                          modulated=modulated, weight_us=weight_us, gaba_hz=gaba_hz,
                          n_ions=n_ions))
        raise KeyboardInterrupt  # stop here: the call is what is tested

    return Protocol("standin", run, "a stand-in"), calls


@pytest.mark.parametrize("setting, name, value", [
    ("onset_s=30", "onset_s", 30.0),
    ("onset_s=500 ms", "onset_s", 0.5),          # converted to the option's unit
    ("onset_s=2 min", "onset_s", 120.0),
    ("diam_um=5 um", "diam_um", 5.0),
    ("diam_um=0.01 mm", "diam_um", 10.0),
    ("diam_um=5 µm", "diam_um", 5.0),
    ("hold_mV=-0.06 V", "hold_mV", -60.0),
    ("dye_uM=0, 25,100", "dye_uM", (0.0, 25.0, 100.0)),
    ("dye_uM=0.1 mM,200", "dye_uM", (100.0, 200.0)),
    ("recipes=mature", "recipes", ("mature",)),
    ("kext=false", "kext", False),
    ("kext=yes", "kext", True),
    ("pulse_nA=500 pA", "pulse_nA", 0.5),
    ("pulse_nA=none", "pulse_nA", None),
    ("seed=7", "seed", 7),
    ("modulated=kleak.pk", "modulated", "kleak.pk"),
    ("weight_us=0.01", "weight_us", 0.01),
    ("gaba_hz=0.02 kHz", "gaba_hz", 20.0),
    ("gaba_hz=0.02 khz", "gaba_hz", 20.0),       # the one unit spelled so in any case
    ("gaba_hz=40 1/s", "gaba_hz", 40.0),
    ("gaba_hz=40 /s", "gaba_hz", 40.0),
    ("gaba_hz=40 s-1", "gaba_hz", 40.0),
    ("gaba_hz=2400 /min", "gaba_hz", 40.0),
    ("n_ions=2e5", "n_ions", 2e5),
])
def test_a_setting_reaches_the_protocol_in_the_unit_of_its_name(monkeypatch, setting, name,
                                                                  value):
    proto, calls = _standin()
    monkeypatch.setitem(PROTOCOLS, "standin", proto)
    assert cli.main(["run", "standin", "--set", setting, "--out", "unused"]) == 130
    assert calls[0][name] == (pytest.approx(value) if isinstance(value, float) else value)


@pytest.mark.parametrize("setting, message", [
    ("onset=30", r"standin has no option 'onset'\. Did you mean 'onset_s'\? Its options: "),
    ("onset_s", r"--set takes NAME=VALUE, got 'onset_s'"),
    ("onset_s=soon", r"onset_s='soon' is not a number"),
    ("onset_s=5 mV", r"onset_s is in s; 'mV' is not a unit of that kind"),
    ("n_ions=5 mM", r"n_ions is a pure number; '5 mM' has a unit"),
    ("kext=maybe", r"kext is true or false, got 'maybe'"),
    ("seed=1.5", r"seed is a whole number, got '1\.5'"),
    ("duration_s=5", r"duration_s is set with --duration, not --set"),
    ("recipe=mature", r"recipe is set with --recipe, not --set"),
    ("defaults=1", r"defaults is not an option"),
    ("format=parquet", r"format is set with --format, not --set"),
])
def test_a_bad_setting_is_refused_before_the_run(monkeypatch, capsys, setting, message):
    import re

    proto, calls = _standin()
    monkeypatch.setitem(PROTOCOLS, "standin", proto)
    assert cli.main(["run", "standin", "--set", setting, "--out", "unused"]) == 2
    assert calls == []
    err = capsys.readouterr().err
    assert re.search(r"ionhomeo run standin: error: " + message, err), err
    assert "Traceback" not in err


@pytest.mark.parametrize("text, seconds", [("30", 30.0), ("500 ms", 0.5), ("2 min", 120.0),
                                           ("1 h", 3600.0)])
def test_duration_takes_a_unit_of_time(monkeypatch, text, seconds):
    proto, calls = _standin()
    monkeypatch.setitem(PROTOCOLS, "standin", proto)
    assert cli.main(["run", "standin", "--duration", text, "--out", "unused"]) == 130
    assert calls[0]["duration_s"] == pytest.approx(seconds)


def test_duration_in_another_kind_is_refused(monkeypatch, capsys):
    proto, calls = _standin()
    monkeypatch.setitem(PROTOCOLS, "standin", proto)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["run", "standin", "--duration", "5 mV", "--out", "unused"])
    assert exit_.value.code == 2 and calls == []
    assert ("not a number of seconds, nor a number with a unit of time: '5 mV' (units: s, ms"
            in capsys.readouterr().err)


def test_the_same_option_twice_is_refused(monkeypatch, capsys):
    proto, calls = _standin()
    monkeypatch.setitem(PROTOCOLS, "standin", proto)
    assert cli.main(["run", "standin", "--set", "onset_s=1", "--set", "onset_s=2",
                     "--out", "unused"]) == 2
    assert "onset_s is set twice" in capsys.readouterr().err and calls == []


def test_options_lists_every_option_of_every_protocol_with_unit_and_default(capsys):
    assert cli.main(["run", "energy-failure", "--options"]) == 0
    out = capsys.readouterr().out
    assert "energy-failure: options for --set NAME=VALUE" in out
    for line in ("onset_s          s       default 0.0", "diam_um          um      default 20.0",
                 "kext                     default True"):
        assert line in out
    assert "defaults" not in out.split("\n", 1)[1]  # a Python object, not a CLI option
    assert "format" not in out.split("\n", 1)[1]  # --format, not --set
    # every protocol's options parse at their own defaults (lists, none, strings)
    for name, proto in PROTOCOLS.items():
        import inspect

        params = inspect.signature(proto.run).parameters
        settings = []
        for option, param in params.items():
            if option in cli._FLAGGED:
                continue
            default = param.default
            text = (",".join(map(str, default)) if isinstance(default, tuple)
                    else "none" if default is None else str(default))
            settings.append(f"{option}={text}")
        parsed = cli.parse_settings(proto, settings)
        for option, value in parsed.items():
            default = params[option].default
            assert value == (tuple(default) if isinstance(default, tuple) else default), \
                (name, option, value, default)


def test_run_all_refuses_set(capsys):
    assert cli.main(["run", "all", "--set", "onset_s=1", "--out", "unused"]) == 2
    assert "apply to one protocol at a time" in capsys.readouterr().err
