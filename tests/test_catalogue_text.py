"""The catalogue's text of each mechanism (what the documentation's mechanism
pages are generated from): the COMMENT block and the ASSIGNED and STATE
variables, read from the mod files and checked against them and NEURON."""

import re

import pytest

from ionhomeo import mechanisms

CATALOG = mechanisms.catalog()
NAMES = sorted(CATALOG, key=str.lower)


def _ions_named(text: str) -> set:
    """The ion variables in a "Reads: ..." or "Writes: ..." list (v, the
    nonspecific current i and remarks in parentheses left out)."""
    text = re.sub(r"\([^)]*\)", "", text)
    words = {w.strip() for w in text.split(",")}
    return words - {"", "nothing", "v", "i"}


@pytest.mark.parametrize("name", NAMES)
def test_the_comment_states_what_the_neuron_block_reads_and_writes(name):
    """Each COMMENT ends its prose with "Reads: ...  Writes: ...": the same
    ion variables as the USEION lines (what the mechanism pages list)."""
    mech = CATALOG[name]
    assert mech.comment.strip(), f"{name}: no COMMENT block"
    assert "ENDCOMMENT" not in mech.comment and not mech.comment.lstrip().startswith("COMMENT")
    words = " ".join(mech.comment.split())
    m = re.search(r"Reads: (.*?)\.\s+Writes: (.*?)(?:\.\s|\.$|$)", words)
    assert m, f"{name}: its COMMENT has no 'Reads: ... Writes: ...' line"
    assert _ions_named(m.group(1)) == set(mech.reads), (name, m.group(1), mech.reads)
    assert _ions_named(m.group(2)) == set(mech.writes), (name, m.group(2), mech.writes)


def test_variables_are_parsed_with_units_kind_and_comment():
    kcc2 = {v.name: v for v in CATALOG["kcc2"].variables}
    assert set(kcc2) == {"icc", "a", "p"}  # ki, ik, ... belong to the ions
    assert (kcc2["icc"].units, kcc2["icc"].kind, kcc2["icc"].scope) == ("mA/cm2", "assigned",
                                                                         "range")
    assert kcc2["icc"].doc.startswith("net extrusion")
    assert (kcc2["p"].kind, kcc2["p"].units) == ("state", "1")
    nav = {v.name: v for v in CATALOG["nav"].variables}
    assert nav["minf"].scope == "internal" and nav["m"].scope == "range"
    # the units agree with the table the recorder uses
    for mech in CATALOG.values():
        for var in mech.variables:
            if var.scope == "range":
                assert mechanisms.units(f"{var.name}_{mech.name}") == var.units


def test_variable_scopes_are_what_neuron_shows(h):
    """A "range" variable is an attribute of each instance, a "global" one of
    h, an "internal" one of neither (NEURON 9 keeps it per thread)."""
    def has(obj, attr):
        try:
            getattr(obj, attr)
        except (AttributeError, LookupError, TypeError):
            return False
        return True

    checked = 0
    for mech in CATALOG.values():
        sec = h.Section(name=f"scope_{mech.name}")
        try:
            if mech.kind == "point":
                obj = getattr(h, mech.name)(sec(0.5))
            else:
                sec.insert(mech.name)
                obj = getattr(sec(0.5), mech.name)
            for var in mech.variables:
                on_instance, on_h = has(obj, var.name), has(h, f"{var.name}_{mech.name}")
                assert (on_instance, on_h) == {"range": (True, False), "global": (False, True),
                                               "internal": (False, False)}[var.scope], \
                    (mech.name, var)
                checked += 1
        finally:
            obj = None
            h.delete_section(sec=sec)
    assert checked > 50
