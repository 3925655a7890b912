TITLE nav: fast transient Na channel for spiking (Traub-Miles kinetics, Pospischil et al. 2008)

COMMENT
Hodgkin-Huxley type transient sodium current that writes ina, so that each
spike loads the cell with Na through nadyn:

    ina = gbar m^3 h (v - ena)

ena is the dynamic Nernst potential of the current nai and nao. Rate
functions are those of Traub & Miles (1991) as used in the regular-spiking
cortical model of Pospischil et al. 2008 (Biol Cybern 99:427), with
threshold parameter vt = -56.2 mV, written for 36 C and scaled by
Q10 = 3 to the simulation temperature. Default gbar 0.056 S/cm2 (their RS cell).

Reads: ena.  Writes: ina.  CoreNEURON: compatible.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX nav
    USEION na READ ena WRITE ina
    RANGE gbar, g, i
    GLOBAL vt, q10
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S) = (siemens)
}

PARAMETER {
    gbar = 0.056 (S/cm2) <0, 1e3>  : maximal conductance
    vt = -56.2 (mV) <-100, 0>      : threshold shift of the rate functions
    q10 = 3 (1) <1, 10>            : temperature coefficient, from 36 C
}

ASSIGNED {
    v (mV)
    celsius (degC)
    ena (mV)
    ina (mA/cm2)
    g (S/cm2)
    i (mA/cm2)
    minf (1)
    hinf (1)
    mtau (ms)
    htau (ms)
}

STATE {
    m (1)
    h (1)
}

INITIAL {
    rates(v)
    m = minf
    h = hinf
}

BREAKPOINT {
    SOLVE states METHOD cnexp
    g = gbar*m*m*m*h
    i = g*(v - ena)
    ina = i
}

DERIVATIVE states {
    rates(v)
    m' = (minf - m)/mtau
    h' = (hinf - h)/htau
}

PROCEDURE rates(v (mV)) {
    LOCAL u, am, bm, ah, bh, tadj
    UNITSOFF
    tadj = q10^((celsius - 36)/10)
    u = v - vt
    am = 0.32*vtrap(13 - u, 4)
    bm = 0.28*vtrap(u - 40, 5)
    ah = 0.128*exp((17 - u)/18)
    bh = 4/(1 + exp((40 - u)/5))
    minf = am/(am + bm)
    mtau = 1/(tadj*(am + bm))
    hinf = ah/(ah + bh)
    htau = 1/(tadj*(ah + bh))
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
