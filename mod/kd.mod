TITLE kd: slowly inactivating, low-threshold D-type K channel (Kv1)

COMMENT
A low-threshold K conductance that opens below the spike threshold and
inactivates slowly and incompletely:

    ik   = gbar m h (v - ek)
    m'   = (minf - m)/mtau,   h' = (hinf - h)/htau
    minf = 1/(1 + exp(-(v - vhalfm)/km))
    hinf = hmin + (1 - hmin)/(1 + exp((v - vhalfh)/kh))

In CA1 pyramidal dendrites 4-AP- and dendrotoxin-sensitive (Kv1, D-type)
channels raise the threshold of dendritic Ca spikes (Golding, Jung, Mickus
& Spruston 1999, J Neurosci 19:8789); in CA1 dendritic outside-out patches
its slowly inactivating component inactivates with a time constant of
98 ms at +54 mV (Chen & Johnston 2004, J Physiol 559:187), taken as
measured at room temperature (24 C) and scaled to celsius with q10 = 3
(23.5 ms at 37 C). The steady-state curves are modelling choices, not fits
to a CA1 measurement (none was found): activation half at -45 mV and
inactivation half at -65 mV, both with slopes of 6 mV, and a quarter of
the conductance that does not inactivate (hmin 0.25), the low-threshold,
partly inactivating D current of CA1 somata (Storm 1988, Nature 336:379).
The activation time constant (2 ms at 24 C) is also a choice.

Default gbar 0: the channel does nothing until a density is given. The
current is zero at v = ek for any m, h, and m, h stay within [0, 1].

Reads: ek.  Writes: ik.  CoreNEURON: compatible.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX kd
    USEION k READ ek WRITE ik
    RANGE gbar, g, i, minf, hinf, mtau, htau
    GLOBAL vhalfm, km, vhalfh, kh, hmin, mtau0, htau0, q10
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S) = (siemens)
}

PARAMETER {
    gbar = 0 (S/cm2) <0, 1e3>        : maximal conductance
    vhalfm = -45 (mV) <-150, 50>     : half activation
    km = 6 (mV) <1e-3, 100>          : activation slope
    vhalfh = -65 (mV) <-150, 50>     : half inactivation
    kh = 6 (mV) <1e-3, 100>          : inactivation slope
    hmin = 0.25 (1) <0, 1>           : fraction that does not inactivate
    mtau0 = 2 (ms) <1e-4, 1e4>       : activation time constant at 24 C
    htau0 = 98 (ms) <1e-3, 1e5>      : inactivation time constant at 24 C (Chen & Johnston 2004)
    q10 = 3 (1) <1, 10>              : temperature coefficient, from 24 C
}

ASSIGNED {
    v (mV)
    celsius (degC)
    ek (mV)
    ik (mA/cm2)
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
    g = gbar*m*h
    i = g*(v - ek)
    ik = i
}

DERIVATIVE states {
    rates(v)
    m' = (minf - m)/mtau
    h' = (hinf - h)/htau
}

PROCEDURE rates(v (mV)) {
    LOCAL tadj
    tadj = q10^((celsius - 24 (degC))/10 (degC))
    minf = 1/(1 + exp(-(v - vhalfm)/km))
    hinf = hmin + (1 - hmin)/(1 + exp((v - vhalfh)/kh))
    mtau = mtau0/tadj
    htau = htau0/tadj
}
