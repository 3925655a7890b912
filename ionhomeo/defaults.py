"""Default ion concentrations and temperature: the one place they are defined.

The defaults describe a mature mammalian central neuron in artificial
cerebrospinal fluid (ACSF) at 37 C. Python code applies them with
:func:`apply`; hoc users get the same values from ``ionhomeo_defaults.hoc``
(shipped next to the mod files), which is generated from this module by
``python -m ionhomeo.defaults`` and checked against it by the test suite.

Units: concentrations in mM, temperature in degC.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from pathlib import Path

#: ions whose concentrations ionhomeo sets: name -> valence
VALENCES = {"na": 1, "k": 1, "cl": -1, "hco3": -1, "ca": 2, "caer": 2, "camt": 2}

#: organelle pools represented as ions (er.mod, mito.mod): their "inside"
#: concentration is the free luminal / matrix Ca; they have no outside.
ORGANELLE_IONS = ("caer", "camt")


def sides(ion: str) -> tuple:
    """The concentrations ionhomeo sets for ``ion``: ("i", "o"), or ("i",) for a pool."""
    return ("i",) if ion in ORGANELLE_IONS else ("i", "o")

#: where each default comes from
SOURCES = {
    "celsius": "body temperature",
    "nai": "12 mM: mature neurons 10-15 mM (Rose & Konnerth 2001, Neuron 31:519)",
    "nao": "145 mM: ACSF / CSF Na (reference table oracles use 145 mM)",
    "ki": "140 mM: typical mammalian neuron (Hille 2001, table 1.1)",
    "ko": "4 mM: CSF K 3-4 mM (Somjen 2004, Ions in the Brain)",
    "cli": "5 mM: mature neurons with KCC2 (E_Cl near -87 mV; Kaila et al. 2014, Nat Rev Neurosci 15:637)",
    "clo": "130 mM: ACSF Cl 125-135 mM",
    "hco3i": "16 mM: intracellular HCO3 at pHi 7.2 (Kaila 1994, Prog Neurobiol 42:489)",
    "hco3o": "26 mM: ACSF HCO3 buffered with 5% CO2 (Kaila 1994)",
    "cai": "100 nM resting free Ca (Helmchen et al. 1996 and Maravall et al. 2000: 32-100 nM)",
    "cao": "2 mM: ACSF Ca",
    "caeri": "0.5 mM free ER luminal Ca (0.1-0.8 mM; Bygrave & Benedetti 1996, Cell Calcium 19:547)",
    "camti": "100 nM free mitochondrial matrix Ca, near cytosolic at rest (Babcock et al. 1997, J Cell Biol 136:833)",
}


@dataclasses.dataclass(frozen=True)
class Defaults:
    """Concentrations (mM) and temperature (degC) of a simulation.

    Validated when created: every concentration must be finite and > 0, the
    temperature between 0 and 50 degC. ``Defaults().replace(cli=25)`` gives a
    modified copy (also validated).
    """

    celsius: float = 37.0
    nai: float = 12.0
    nao: float = 145.0
    ki: float = 140.0
    ko: float = 4.0
    cli: float = 5.0
    clo: float = 130.0
    hco3i: float = 16.0
    hco3o: float = 26.0
    cai: float = 1e-4
    cao: float = 2.0
    caeri: float = 0.5
    camti: float = 1e-4

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"Defaults.{f.name} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"Defaults.{f.name} must be finite, got {value!r}")
            if f.name == "celsius":
                if not 0.0 <= value <= 50.0:
                    raise ValueError(
                        f"Defaults.celsius = {value} degC is outside 0..50 degC; "
                        "give the temperature in degrees Celsius (not kelvin)")
            elif value <= 0:
                raise ValueError(
                    f"Defaults.{f.name} = {value} mM: concentrations must be > 0 mM "
                    "(a zero concentration makes the Nernst potential infinite)")

    def replace(self, **changes) -> "Defaults":
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise KeyError(
                f"unknown default(s) {sorted(unknown)}; known: "
                f"{[f.name for f in dataclasses.fields(self)]}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Defaults":
        return cls().replace(**d)

    def concentrations(self) -> dict:
        """{(ion, 'i'|'o'): mM} for every ion."""
        return {(ion, side): getattr(self, f"{ion}{side}")
                for ion in VALENCES for side in sides(ion)}


def apply(defaults: Defaults | None = None, h=None) -> Defaults:
    """Make ``defaults`` the temperature and initial concentrations of every section.

    Loads the ionhomeo mechanisms and ``ionhomeo_defaults.hoc`` (the file hoc
    users load), then sets NEURON's globals (``celsius``, ``nai0_na_ion``, ...)
    to these values. Takes effect at the next ``finitialize``, where every
    concentration of every section starts at these values; an initial-state
    handler created later (such as ionhomeo's steady state) may then change them.
    """
    from . import build

    defaults = defaults or Defaults()
    build.load()
    if h is None:
        from neuron import h
    if not h.load_file(str(build.mod_dir() / HOC_FILE)):
        raise RuntimeError(f"NEURON could not load {build.mod_dir() / HOC_FILE}")
    h.celsius = defaults.celsius
    for (ion, side), value in defaults.concentrations().items():
        setattr(h, f"{ion}{side}0_{ion}_ion", value)
    return defaults


HOC_FILE = "ionhomeo_defaults.hoc"


def hoc_text(defaults: Defaults | None = None) -> str:
    """The text of ionhomeo_defaults.hoc for these defaults."""
    d = defaults or Defaults()
    lines = [
        "// ionhomeo default temperature and ion concentrations for hoc users.",
        "// GENERATED by `python -m ionhomeo.defaults` from ionhomeo/defaults.py:",
        "// edit that file and regenerate; the test suite checks the two agree.",
        "// Usage (after nrnivmodl on this directory):  load_file(\"ionhomeo_defaults.hoc\")",
        "// Units mM and degC. Python's ionhomeo.defaults.apply() loads this same file.",
        "",
        f"celsius = {d.celsius!r}  // {SOURCES['celsius']}",
    ]
    for ion, z in VALENCES.items():
        lines.append(f"{{ion_register(\"{ion}\", {z})}}")
        for side in sides(ion):
            key = f"{ion}{side}"
            lines.append(f"{key}0_{ion}_ion = {getattr(d, key)!r}  // {SOURCES[key]}")
    lines += [
        "",
        "// NEURON reads the globals above at finitialize only for concentrations that",
        "// some mechanism WRITEs; a concentration nobody writes keeps NEURON's",
        "// built-in value (ki 54.4 mM, ...). So at every finitialize, before the",
        "// INITIAL blocks, this handler starts every concentration of every section",
        "// from the globals, and turns off NEURON's own reset of written",
        "// concentrations (ion_style cinit = 0; it would run after this handler and",
        "// after any other type-0 handler). To start elsewhere, change the globals",
        "// or set per-segment values in a type-0 FInitializeHandler created after",
        "// this one: the INITIAL blocks (buffers, gates) then see those values.",
        "proc ionhomeo_keep_concentrations() { local s",
        "    // $s1 an ion name such as \"ca_ion\", in the accessed section. The style is",
        "    // c_style + 4 cinit + 8 e_style + 32 einit + 64 eadvance: keep all but cinit.",
        "    s = ion_style($s1)",
        "    // arguments: c_style, e_style, einit, eadvance, cinit",
        "    ion_style($s1, s % 4, int(s/8) % 4, int(s/32) % 2, int(s/64) % 2, 0)",
        "}",
        "proc ionhomeo_init_concentrations() {",
        "    forall {",
    ]
    for ion in VALENCES:
        sets = "  ".join(f"{ion}{side}(x) = {ion}{side}0_{ion}_ion" for side in sides(ion))
        lines.append(f"        if (ismembrane(\"{ion}_ion\")) {{ ionhomeo_keep_concentrations("
                     f"\"{ion}_ion\")  for (x, 0) {{ {sets} }} }}")
    lines += [
        "    }",
        "}",
        "objref ionhomeo_init_handler",
        "ionhomeo_init_handler = new FInitializeHandler(0, \"ionhomeo_init_concentrations()\")",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    """Regenerate mod/ionhomeo_defaults.hoc (or print it with --print)."""
    from .build import mod_dir

    argv = sys.argv[1:] if argv is None else argv
    text = hoc_text()
    if "--print" in argv:
        sys.stdout.write(text)
        return 0
    target = Path(mod_dir()) / HOC_FILE
    tmp = target.with_suffix(".hoc.tmp")
    tmp.write_text(text)
    tmp.replace(target)
    print(target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
