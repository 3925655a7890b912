TITLE km: slow non-inactivating K channel (M current, Kv7), Pospischil et al. 2008 kinetics

COMMENT
The M current: a K conductance that opens slowly (hundreds of ms) above
about -60 mV and does not inactivate. It adds conductance as the membrane
approaches threshold, so it raises the rheobase of long current steps and
makes firing adapt, and it stops a depolarised membrane from holding a
plateau. It writes ik, so its K efflux reaches kdyn (and kext).

    ik   = gbar p (v - ek)
    p'   = (pinf - p)/ptau
    pinf = 1/(1 + exp(-(v + 35)/10))
    ptau = taumax/(3.3 exp((v + 35)/20) + exp(-(v + 35)/20))

Form and rate functions of Pospischil et al. 2008 (Biol Cybern 99:427,
their slow K current of regular-spiking cortical neurons, after Yamada,
Koch & Adams 1989), the same family as nav and kdr. ptau peaks at
taumax/(2 sqrt(3.3)), 0.28 taumax, at -47 mV. Defaults: gbar 7e-5 S/cm2 and
taumax 1000 ms, of the order the paper fits to regular-spiking cells
(gM tens of uS/cm2, taumax 0.5-1 s); the rate functions are written for
36 C and scaled by q10 = 2.3, the value the Destexhe group's NEURON
implementation of these rate functions uses with the same 36 C reference
(ModelDB); at 36 C there is no scaling.

The current is zero at v = ek for any p, and p stays within [0, 1] (pinf
does, and p relaxes towards it).

Reads: ek.  Writes: ik.  CoreNEURON: compatible.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX km
    USEION k READ ek WRITE ik
    RANGE gbar, g, i, pinf, ptau
    GLOBAL taumax, q10
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S) = (siemens)
}

PARAMETER {
    gbar = 7e-5 (S/cm2) <0, 1e3>     : maximal conductance
    taumax = 1000 (ms) <1e-3, 1e6>   : scale of the activation time constant (at 36 C)
    q10 = 2.3 (1) <1, 10>            : temperature coefficient, from 36 C
}

ASSIGNED {
    v (mV)
    celsius (degC)
    ek (mV)
    ik (mA/cm2)
    g (S/cm2)
    i (mA/cm2)
    pinf (1)
    ptau (ms)
}

STATE {
    p (1)
}

INITIAL {
    rates(v)
    p = pinf
}

BREAKPOINT {
    SOLVE states METHOD cnexp
    g = gbar*p
    i = g*(v - ek)
    ik = i
}

DERIVATIVE states {
    rates(v)
    p' = (pinf - p)/ptau
}

PROCEDURE rates(v (mV)) {
    LOCAL u, tadj
    tadj = q10^((celsius - 36 (degC))/10 (degC))
    u = (v + 35 (mV))/(1 (mV))
    pinf = 1/(1 + exp(-u/10))
    ptau = taumax/(tadj*(3.3*exp(u/20) + exp(-u/20)))
}
