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

Geometry: as cadyn (same volume convention, the cylinder PI diam^2/4
L/nseg, and NEURON's own segment area through afac = area/(PI diam
L/nseg), set at every finitialize by ionhomeo_defaults.hoc's handler; 0
until then, when INITIAL uses the cylinder's 1; cadyn warns about it).

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
    afac = 0 (1) <0, 1e3>      : NEURON's segment area / cylinder area (set by ionhomeo_defaults.hoc)
}

ASSIGNED {
    diam (um)
    ica (mA/cm2)
}

STATE {
    entered (mM) <1e-9>  : net Ca entry per cytosolic volume since init
}

INITIAL {
    if (afac <= 0) {
        afac = 1  : no defaults handler: the cylinder
    }
    entered = 0
}

BREAKPOINT {
    SOLVE integrate METHOD cnexp
}

DERIVATIVE integrate {
    entered' = -4*ica*afac/(2*FARADAY*diam)
}
