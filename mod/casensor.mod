TITLE casensor: time integral of free cytosolic Ca (the sensor of activity-dependent regulation)

COMMENT
Integrates the free cytosolic Ca concentration over time:

    d(caint)/dt = cai

so that the mean Ca over any interval [t1, t2] is exactly
(caint(t2) - caint(t1)) / (t2 - t1), integrated by the same solver as cai
itself (fixed step or CVODE), whatever happens between the two readings.
Homeostatic rules that act on mean Ca (integral control of channel
densities, O'Leary et al. 2014, Neuron 82:809) read it at their update
times: ionhomeo.homeostasis does so. It changes nothing else.

Reads: cai.  Writes: nothing (caint is its own STATE).
CoreNEURON: compatible.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX casensor
    USEION ca READ cai VALENCE 2
}

UNITS {
    (mM) = (milli/liter)
}

ASSIGNED {
    cai (mM)
}

STATE {
    caint (mM ms) <1e-6>  : time integral of cai since initialisation
}

INITIAL {
    caint = 0
}

BREAKPOINT {
    SOLVE integrate METHOD cnexp
}

DERIVATIVE integrate {
    caint' = cai
}
