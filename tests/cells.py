"""Small test cells built with ionhomeo's validated insertion."""

from ionhomeo import mechanisms

#: a resting cell: concentration owners, pump, leaks and KCC2
RESTING = ("nadyn", "kdyn", "cldyn", "nakpump", "naleak", "kleak", "clleak", "kcc2")
#: everything of the Na/K/Cl system except kext
ALL_NAKCL = RESTING + ("nkcc1", "nav", "kdr")


def compartment(h, mechs, diam=20.0, L=20.0, name="soma", **params):
    """One cylindrical section with ``mechs``; ``params`` as {mech: {param: value}}."""
    sec = h.Section(name=name)
    sec.L, sec.diam, sec.nseg = L, diam, 1
    for m in mechs:
        mechanisms.insert(sec, m, **params.get(m, {}))
    return sec


def ball_and_sticks(h, mechs, **params):
    """A soma with two unequal dendrites, several segments each (diffusion paths)."""
    soma = compartment(h, mechs, diam=20.0, L=20.0, name="soma", **params)
    dends = []
    for i, (L, d, nseg) in enumerate([(200.0, 2.0, 9), (100.0, 0.8, 5)]):
        dend = compartment(h, mechs, diam=d, L=L, name=f"dend{i}", **params)
        dend.nseg = nseg
        dend.connect(soma(1))
        dends.append(dend)
    return soma, dends

#: every mechanism of the calcium system (issue 3), plus the Ca load meter
CA_ALL = ("cadyn", "caentry", "er", "mito", "pmca", "ncx", "nckx", "caleak", "serca",
          "erleak", "ip3r", "ryr", "mcu", "nclx", "cahva", "sk")
#: what a cell needs to fire: Na and K owners, pump, leaks, spike channels
SPIKING = ("nadyn", "kdyn", "nakpump", "naleak", "kleak", "nav", "kdr")
