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

from . import calcium

#: ions whose concentrations ionhomeo sets: name -> valence
VALENCES = {"na": 1, "k": 1, "cl": -1, "hco3": -1, "ca": 2, "caer": 2, "camt": 2}

#: organelle pools represented as ions (er.mod, mito.mod): their "inside"
#: concentration is the free luminal / matrix Ca; they have no outside.
ORGANELLE_IONS = ("caer", "camt")


def sides(ion: str) -> tuple:
    """The concentrations ionhomeo sets for ``ion``: ("i", "o"), or ("i",) for a pool."""
    return ("i",) if ion in ORGANELLE_IONS else ("i", "o")

class DefaultsError(ValueError):
    """A default concentration or temperature that is not valid, or defaults
    given as something that is not a :class:`Defaults`."""

    __str__ = ValueError.__str__  # the message as written (KeyError would quote it)


class DefaultsTypeError(DefaultsError, TypeError):
    """A default that is not a number (also a TypeError, as before)."""


class UnknownDefaultError(DefaultsError, KeyError):
    """A default that does not exist (also a KeyError, as before)."""


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
                raise DefaultsTypeError(f"Defaults.{f.name} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise DefaultsError(f"Defaults.{f.name} must be finite, got {value!r}")
            if f.name == "celsius":
                if not 0.0 <= value <= 50.0:
                    raise DefaultsError(
                        f"Defaults.celsius = {value} degC is outside 0..50 degC; "
                        "give the temperature in degrees Celsius (not kelvin)")
            elif value <= 0:
                raise DefaultsError(
                    f"Defaults.{f.name} = {value} mM: concentrations must be > 0 mM "
                    "(a zero concentration makes the Nernst potential infinite)")

    def replace(self, **changes) -> "Defaults":
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise UnknownDefaultError(
                f"unknown default(s) {sorted(unknown)}; known: "
                f"{[f.name for f in dataclasses.fields(self)]}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Defaults":
        if not isinstance(d, dict) or not all(isinstance(k, str) for k in d):
            raise DefaultsError(f"Defaults.from_dict takes a dict {{name: value}} such as "
                                f"{{'cli': 25.0}}, got {type(d).__name__} {d!r}")
        return cls().replace(**d)

    def concentrations(self) -> dict:
        """{(ion, 'i'|'o'): mM} for every ion."""
        return {(ion, side): getattr(self, f"{ion}{side}")
                for ion in VALENCES for side in sides(ion)}


def apply(defaults: Defaults | None = None, h=None) -> Defaults:
    """Make ``defaults`` the temperature and initial concentrations of every section.

    Loads the ionhomeo mechanisms and ``ionhomeo_defaults.hoc`` (the file hoc
    users load), sets NEURON's globals (``celsius``, ``nai0_na_ion``, ...) to
    these values and sets every concentration of every existing segment to
    them (so call it before setting per-segment values: ``seg.cli = 20`` or
    NetPyNE's ``ions``). At every ``finitialize`` the file's handler then
    starts each concentration that an ionhomeo owner writes at the segment's
    own initial value (``seg.cldyn.cli0``) where one is set, else at the
    global, and gives the owners NEURON's segment areas (``afac``); see the
    handler's comment in the file. An initial-state handler created later
    (such as ionhomeo's steady state) may then change the concentrations.
    """
    from . import build

    if defaults is None:
        defaults = Defaults()
    if not isinstance(defaults, Defaults):
        raise DefaultsError(
            f"apply() takes a Defaults instance, such as Defaults(cli=25.0), or None for the "
            f"standard ones; got {type(defaults).__name__} {defaults!r}")
    build.ensure_loaded()
    if h is None:
        from neuron import h
    if not h.load_file(str(build.mod_dir() / HOC_FILE)):
        raise RuntimeError(f"NEURON could not load {build.mod_dir() / HOC_FILE}")
    h.celsius = defaults.celsius
    for (ion, side), value in defaults.concentrations().items():
        setattr(h, f"{ion}{side}0_{ion}_ion", value)
    h.ionhomeo_set_all_concentrations()
    return defaults


#: the concentration owners of each ion (``mod/*.mod``): the mechanisms that WRITE
#: its intracellular concentration (one per section), each with a RANGE initial
#: value ``<ion>i0``; Ca has the full cadyn and the lean cabuf (one buffer)
OWNERS = {"na": ("nadyn",), "k": ("kdyn",), "cl": ("cldyn",), "ca": calcium.OWNERS,
          "caer": ("er",), "camt": ("mito",)}

def _area_factor(owners: bool) -> tuple:
    """The mechanisms whose mod files declare ``afac``: the owners of OWNERS
    among them (in OWNERS' order), or the others (kext, which owns ko, has
    lines of its own in the handler)."""
    from . import mechanisms

    declared = mechanisms.with_parameter("afac")
    ordered = [m for ms in OWNERS.values() for m in ms]
    if owners:
        return tuple(m for m in ordered if m in declared)
    return tuple(m for m in declared if m not in ordered and m != "kext")


#: owners whose membrane flux uses NEURON's segment area through ``afac``
#: (nadyn, kdyn, cldyn, cadyn, cabuf; the organelle pools er and mito convert
#: with the cylinder area, as cadyn does for them)
AREA_FACTOR_OWNERS = _area_factor(owners=True)

#: other mechanisms with ``afac``, set by the same handler (caentry)
AREA_FACTOR_ONLY = _area_factor(owners=False)

HANDLER_INTRO = [
    "// At every finitialize, before the INITIAL blocks, this handler starts the",
    "// concentrations that ionhomeo's owners write (nadyn, kdyn, cldyn, cadyn or cabuf, er,",
    "// mito; ko under kext) and gives the owners NEURON's segment geometry:",
    "//  - inside: the segment's own initial value (nai0_nadyn(x), ... ) where it is",
    "//    >= 0, else the global (nai0_na_ion, ...); a value set on the segment",
    "//    (nai(x) = ..., as NetPyNE's per-section ions do) before its first",
    "//    finitialize, different from the global and from the value NEURON gives a",
    "//    new segment (nai 10, ki 54.4, cai 5e-5, others 1 mM), is adopted as its",
    "//    own initial value (printed once). Outside: the global, as NEURON would.",
    "//  - afac = NEURON's segment area / the cylinder's, so that each owner turns",
    "//    exactly the charge NEURON computed into ions (tapered 3-D segments).",
    "// NEURON's own reset of written concentrations (ion_style cinit) is turned off",
    "// where ionhomeo owns the ion: it would run after this handler and after any",
    "// other type-0 handler. NEURON turns it back on in one segment when a mechanism",
    "// using the ion is placed there (a point process such as GabaA), which ion_style",
    "// cannot see (it reads a section's first segment): after any change of the model's",
    "// structure the style is set again in every section and segment where ionhomeo",
    "// owns the ion. Concentrations no ionhomeo owner writes are per-segment",
    "// constants, as in NEURON: where one still holds the value NEURON allocated (nai",
    "// 10, ki 54.4, cai 5e-5, others 1 mM; outside nao 140, ko 2.5, cao 2, others 1)",
    "// it starts at the global, any other value is kept. To start elsewhere, set the per-segment",
    "// initial values or the globals, or set values in a type-0 FInitializeHandler",
    "// created after this one (ionhomeo's steady state does): INITIAL blocks",
    "// (buffers, gates) then see those values.",
]


#: the intracellular concentration (mM) NEURON gives a segment when an ion is
#: first used there, whatever the globals then are (NEURON 9; checked by the tests)
#: {(ion, side): mM}
NEURON_ALLOCATION_MM = {("na", "i"): 10.0, ("na", "o"): 140.0, ("k", "i"): 54.4,
                        ("k", "o"): 2.5, ("ca", "i"): 5e-5, ("ca", "o"): 2.0,
                        ("cl", "i"): 1.0, ("cl", "o"): 1.0, ("hco3", "i"): 1.0,
                        ("hco3", "o"): 1.0, ("caer", "i"): 1.0, ("camt", "i"): 1.0}


def _unowned_lines(ion: str, owners: tuple) -> list:
    """hoc lines for an ion in a section without any of its ionhomeo owners: a
    value still at NEURON's allocation value starts at the global; others are kept."""
    sets = "  ".join(
        f"if ({ion}{s}(x) == {NEURON_ALLOCATION_MM[ion, s]!r}) {{ {ion}{s}(x) = {ion}{s}0_{ion}_ion }}"
        for s in sides(ion))
    absent = "".join(f" && !ismembrane(\"{owner}\")" for owner in owners)
    return [f"        if (ismembrane(\"{ion}_ion\"){absent}) {{ for (x, 0) {{ {sets} }} }}"]


def _owner_lines(ion: str, owner: str) -> list:
    """hoc lines of the initialisation handler for one owner (see HANDLER_INTRO)."""
    c, c0, glob = f"{ion}i", f"{ion}i0_{owner}", f"{ion}i0_{ion}_ion"
    # NEURON turns an ion's cinit back on whenever any mechanism using the ion
    # is inserted where a concentration is written (a GabaA synapse on a segment
    # with cldyn, say), in that segment only: see ionhomeo_keep_concentrations
    lines = [f"        if (ismembrane(\"{owner}\")) {{",
             f"            ionhomeo_keep_concentrations(\"{ion}_ion\")",
             "            for (x, 0) {"]
    if owner in AREA_FACTOR_OWNERS:
        # afac is 0 until this handler first runs in the segment: its first finitialize
        # a value neither the global nor what NEURON allocated was set on the segment
        lines.append(f"                if (afac_{owner}(x) == 0 && {c0}(x) < 0 && {c}(x) != {glob} "
                     f"&& {c}(x) != {NEURON_ALLOCATION_MM[ion, 'i']!r}) "
                     f"{{ ionhomeo_adopt(\"{c}\", {c}(x), x)  {c0}(x) = {c}(x) }}")
    lines.append(f"                if ({c0}(x) >= 0) {{ {c}(x) = {c0}(x) }} else {{ {c}(x) = {glob}  "
                 f"if ({glob} != ionhomeo_set_{c}) {{ ionhomeo_on_changed(\"{c}\", x) }} }}")
    if "o" in sides(ion):
        lines.append(f"                {ion}o(x) = {ion}o0_{ion}_ion")
    if owner in AREA_FACTOR_OWNERS:
        lines.append(f"                afac_{owner}(x) = ionhomeo_afac(x)")
    lines += ["            }", "        }"]
    return lines


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
    lines += [""] + HANDLER_INTRO + [
        "// NEURON's structure_change_count when ionhomeo_init_concentrations last set",
        "// the ion styles in every section (-1: never)",
        "ionhomeo_styled_structure = -1",
        "ionhomeo_restyle = 0",
        "objref ionhomeo_cvode",
        "ionhomeo_cvode = new CVode()",
        "proc ionhomeo_keep_concentrations() { local s",
        "    // $s1 an ion name such as \"ca_ion\", in the accessed section. The style is",
        "    // c_style + 4 cinit + 8 e_style + 32 einit + 64 eadvance: keep all but cinit.",
        "    // ion_style($s1) reads the section's first segment only; setting it sets every",
        "    // segment. NEURON turns cinit on again in the one segment where a mechanism",
        "    // using the ion is allocated (a point process placed there), always with a",
        "    // change of structure: then (ionhomeo_restyle) it is set whatever the first",
        "    // segment shows; otherwise only a section-wide ion_style() call can have",
        "    // turned it on, which the first segment shows.",
        "    s = ion_style($s1)",
        "    if (ionhomeo_restyle || int(s/4) % 2) {",
        "        // arguments: c_style, e_style, einit, eadvance, cinit",
        "        ion_style($s1, s % 4, int(s/8) % 4, int(s/32) % 2, int(s/64) % 2, 0)",
        "    }",
        "}",
        "func ionhomeo_afac() {",
        "    // NEURON's area of segment $1 of the accessed section / its cylinder's",
        "    if (diam($1) <= 0) { return 1 }",
        "    return area($1)/(PI*diam($1)*L/nseg)",
        "}",
        "ionhomeo_adopted = 0",
        "strdef ionhomeo_first_adopted",
        "// the owned globals (nai0_na_ion, ...) as this file or apply() last set them",
        "ionhomeo_changed = 0",
        "ionhomeo_noted_changed = 0",
        "strdef ionhomeo_first_changed",
    ] + [f"ionhomeo_set_{ion}i = {ion}i0_{ion}_ion" for ion in OWNERS] + [
        "proc ionhomeo_adopt() {",
        "    // $s1 concentration name, $2 value (mM), $3 x: one adopted per-segment value",
        "    if (ionhomeo_adopted == 0) {",
        "        sprint(ionhomeo_first_adopted, \"%s %g mM in %s(%g)\", $s1, $2, secname(), $3)",
        "    }",
        "    ionhomeo_adopted += 1",
        "}",
        "// ionhomeo.steady sets ionhomeo_init_skip while it solves a steady state: its",
        "// own handler then sets every state it varies, and what this handler set",
        "// (areas, ion styles, other concentrations) persists between its finitialize calls",
        "ionhomeo_init_skip = 0",
        "proc ionhomeo_init_concentrations() { local x, structure",
        "    if (ionhomeo_init_skip) { return }",
        "    ionhomeo_adopted = 0",
        "    ionhomeo_changed = 0",
        "    structure = ionhomeo_cvode.structure_change_count()",
        "    ionhomeo_restyle = (structure != ionhomeo_styled_structure)",
        "    forall {",
    ]
    for ion, owners in OWNERS.items():
        for owner in owners:
            lines += _owner_lines(ion, owner)
    lines.append("        // concentrations no ionhomeo owner writes (hco3 has none)")
    for ion in VALENCES:
        lines += _unowned_lines(ion, OWNERS.get(ion, ()))
    for owner in AREA_FACTOR_ONLY:
        lines.append(f"        if (ismembrane(\"{owner}\")) {{ for (x, 0) {{ afac_{owner}(x) = "
                     "ionhomeo_afac(x) } }")
    lines += [
        "        if (ismembrane(\"kext\")) {",
        "            ionhomeo_keep_concentrations(\"k_ion\")",
        "            for (x, 0) { ko(x) = ko0_k_ion  afac_kext(x) = ionhomeo_afac(x) }",
        "        }",
        "    }",
        "    ionhomeo_styled_structure = structure",
        "    ionhomeo_restyle = 0",
        "    if (ionhomeo_adopted > 0) {",
        "        printf(\"ionhomeo: %d segment(s) start at concentrations set on them before their "
        "first finitialize, not at the globals (first: %s); kept as their initial values "
        "(nai0_nadyn, ki0_kdyn, cli0_cldyn, cai0_cadyn or cai0_cabuf; -1 restores the global)\\n\", "
        "ionhomeo_adopted, ionhomeo_first_adopted)",
        "    }",
        "    ionhomeo_note_changed_globals()",
        "}",
        "proc ionhomeo_set_all_concentrations() { local x",
        "    // every existing segment's concentrations to the globals (run when this file",
        "    // is loaded and by ionhomeo.defaults.apply(): sections created before then",
        "    // hold NEURON's built-in values); the globals are remembered as ionhomeo's",
        "    forall {",
    ]
    for ion in VALENCES:
        sets = "  ".join(f"{ion}{side}(x) = {ion}{side}0_{ion}_ion" for side in sides(ion))
        lines.append(f"        if (ismembrane(\"{ion}_ion\")) {{ for (x, 0) {{ {sets} }} }}")
    lines += ["    }"]
    lines += [f"    ionhomeo_set_{ion}i = {ion}i0_{ion}_ion" for ion in OWNERS]
    lines += ["    ionhomeo_noted_changed = 0"]
    lines += [
        "}",
        "proc ionhomeo_on_changed() {",
        "    // $s1 concentration name, $2 x: a segment starts at a global that no longer holds",
        "    // what this file (or apply()) set; the first is named",
        "    if (ionhomeo_changed == 0) {",
        "        sprint(ionhomeo_first_changed, \"%s(%g), %s\", secname(), $2, $s1)",
        "    }",
        "    ionhomeo_changed += 1",
        "}",
        "proc ionhomeo_note_changed_globals() {",
        "    // said once per process: NetPyNE's per-section ions, for example, set the",
        "    // global to the last value they applied",
        "    if (ionhomeo_changed > 0 && ionhomeo_noted_changed == 0) {",
        "        ionhomeo_noted_changed = 1",
        "        printf(\"ionhomeo: %d segment(s) start at a global initial concentration changed "
        "since ionhomeo's defaults were set (first: %s; NetPyNE's per-section ions, for example, "
        "set the global to the last value they applied); set per-section values everywhere, or "
        "the owner's initial value (cli0_cldyn, ...)\\n\", ionhomeo_changed, ionhomeo_first_changed)",
        "    }",
        "}",
        "ionhomeo_set_all_concentrations()",
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
