TITLE ihtestleak (alternative build): same SUFFIX, different source, for conflict tests

COMMENT
A passive nonspecific leak i = g*(v - e).  Test fixture: small enough to
compile in a few seconds; the SUFFIX is unique to the tests.
ENDCOMMENT

NEURON {
    SUFFIX ihtestleak
    NONSPECIFIC_CURRENT i
    RANGE g, e
    THREADSAFE
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S) = (siemens)
}

PARAMETER {
    g = 0.001 (S/cm2)
    e = -50 (mV) : different default than leak/ihtestleak.mod
}

ASSIGNED {
    v (mV)
    i (mA/cm2)
}

BREAKPOINT {
    i = g*(v - e)
}
