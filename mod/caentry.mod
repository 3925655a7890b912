TITLE caentry: running integral of the plasma-membrane Ca current (Ca load meter)

COMMENT
Integrates the net plasma-membrane Ca current into the amount of Ca that
has entered the cytosol since initialisation, per cytosolic volume:

    d(entered)/dt = -ica (area/volume)/(2F),   area/volume = 4/diam

with the cylinder geometry that cadyn uses, so in a sealed cell

    sum over segments of vol * (catot + fer caertot + fmt camttot - entered)

(vol = PI diam^2 L/4) stays at its initial value to round-off: the check of
calcium conservation. entered is negative when more Ca has been extruded
than has entered. It is also the Ca load of a stimulus (for example the
Ca entry of one action potential). It changes nothing else.

The integral is a DERIVATIVE STATE (cnexp; the right-hand side does not
depend on the state, so each fixed step adds exactly dt times the flux
computed from the same ica that cadyn uses), and under CVODE it is
integrated by the same solver as the concentrations.

Membrane area: NEURON turns a current density into charge with the
segment's own area, which for a tapered or 3-D segment differs from the
cylinder's PI diam L/nseg used here (by 28 % in the neck of the bundled
boutons). afac (the ratio of the two, 1 for a cylinder) scales the membrane
flux so that the ions that arrive are exactly the charge that crossed;
ionhomeo.cell.Cell sets it in every segment.

Reads: ica.  Writes: nothing (entered is its own STATE).
CoreNEURON: compatible.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX caentry
    USEION ca READ ica VALENCE 2
    RANGE afac
}

UNITS {
    (mM) = (milli/liter)
    (um) = (micron)
    (mA) = (milliamp)
    : 1e4 coulomb per mole: with diam in um and ica in mA/cm2,
    : 4 ica/(2 FARADAY diam) is in mM/ms
    FARADAY = (faraday) (10000 coulomb)
}

PARAMETER {
    afac = 1 (1) <1e-3, 1e3>   : segment area / cylinder area (set by ionhomeo.cell)
}

ASSIGNED {
    diam (um)
    ica (mA/cm2)
}

STATE {
    entered (mM) <1e-9>  : net Ca entry per cytosolic volume since init
}

INITIAL {
    entered = 0
}

BREAKPOINT {
    SOLVE integrate METHOD cnexp
}

DERIVATIVE integrate {
    entered' = -4*ica*afac/(2*FARADAY*diam)
}
