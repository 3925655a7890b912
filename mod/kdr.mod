TITLE kdr: delayed-rectifier K channel for spiking (Traub-Miles kinetics, Pospischil et al. 2008)

COMMENT
Hodgkin-Huxley type delayed rectifier that writes ik, so that each spike
moves K out of the cell through kdyn (and into the extracellular space if
kext is inserted):

    ik = gbar n^4 (v - ek)

ek is the dynamic Nernst potential of the current ki and ko. Rate functions
of Traub & Miles (1991) as in Pospischil et al. 2008 (Biol Cybern 99:427),
vt = -56.2 mV, written for 36 C, scaled by Q10 = 3. Default gbar
0.006 S/cm2 (their RS cell).

Reads: ek.  Writes: ik.  CoreNEURON: compatible.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX kdr
    USEION k READ ek WRITE ik
    RANGE gbar, g, i
    GLOBAL vt, q10
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S) = (siemens)
}

PARAMETER {
    gbar = 0.006 (S/cm2) <0, 1e3>  : maximal conductance
    vt = -56.2 (mV) <-100, 0>      : threshold shift of the rate functions
    q10 = 3 (1) <1, 10>            : temperature coefficient, from 36 C
}

ASSIGNED {
    v (mV)
    celsius (degC)
    ek (mV)
    ik (mA/cm2)
    g (S/cm2)
    i (mA/cm2)
    ninf (1)
    ntau (ms)
}

STATE {
    n (1)
}

INITIAL {
    rates(v)
    n = ninf
}

BREAKPOINT {
    SOLVE states METHOD cnexp
    g = gbar*n*n*n*n
    i = g*(v - ek)
    ik = i
}

DERIVATIVE states {
    rates(v)
    n' = (ninf - n)/ntau
}

PROCEDURE rates(v (mV)) {
    LOCAL u, an, bn, tadj
    UNITSOFF
    tadj = q10^((celsius - 36)/10)
    u = v - vt
    an = 0.032*vtrap(15 - u, 5)
    bn = 0.5*exp((10 - u)/40)
    ninf = an/(an + bn)
    ntau = 1/(tadj*(an + bn))
    UNITSON
}

FUNCTION vtrap(x, y) {
    : x/(exp(x/y) - 1), with its limit y(1 - x/(2y)) where the quotient is 0/0
    if (fabs(x/y) < 1e-6) {
        vtrap = y*(1 - x/y/2)
    } else {
        vtrap = x/(exp(x/y) - 1)
    }
}
