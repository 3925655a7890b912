TITLE ka: A-type K channel (Kv4) of CA1 pyramidal dendrites, Hoffman et al. 1997 curves

COMMENT
A transient (A-type) K conductance with first-order activation m and
inactivation h:

    ik   = gbar m h (v - ek)
    m'   = (minf - m)/mtau,   h' = (hinf - h)/htau
    minf = 1/(1 + exp(-z(v) (v - vhalfm)/km))
    z(v) = 1 + dz/(1 + exp((v - vz)/kz))
    hinf = 1/(1 + exp((v - vhalfh)/kh))

Steady-state curves of the A-type current in cell-attached patches of CA1
pyramidal dendrites (Hoffman, Magee, Colbert & Johnston 1997, Nature
387:869): activation half at +11 mV, slope 18 mV; inactivation half at
-56 mV, slope 8 mV. A single Boltzmann with that slope leaves 1.1 % of the
conductance open (m h) at -65 mV, so a dendrite with the tens of mS/cm2 of
A-type conductance measured there would rest near E_K. The foot of the
activation curve is steepened below about -40 mV by z(v), a gating valence
that grows by the factor 1 + dz at hyperpolarised potentials (the
voltage-dependent valence of the proximal A-type channel of Migliore,
Hoffman, Magee & Johnston 1999, J Comput Neurosci 7:5): with dz = 0.667,
vz = -40 mV and kz = 5 mV, m h at -65 mV is 0.067 %, while above -20 mV
minf stays within 0.003 of the single Boltzmann (1.7 % of it at -20 mV,
0.15 % above -10 mV). dz = 0 gives the single Boltzmann.

Time constants are voltage-independent: activation 1 ms and inactivation
23 ms, the inactivation time constant of the A-type current in CA1
dendritic outside-out patches at +54 mV (Chen & Johnston 2004, J Physiol
559:187). The recordings are taken as made at room temperature (24 C) and
scaled to celsius with q10 = 3: at 37 C mtau 0.24 ms and htau 5.5 ms. The
activation time constant is a modelling choice (the A-current peaks within
about 1 ms at room temperature).

Default gbar 0: the channel does nothing until a density is given (the
presets say where and how much). The current is zero at v = ek for any m,
h, and m, h stay within [0, 1].

Reads: ek.  Writes: ik.  CoreNEURON: compatible.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX ka
    USEION k READ ek WRITE ik
    RANGE gbar, g, i, minf, hinf, mtau, htau
    GLOBAL vhalfm, km, vhalfh, kh, dz, vz, kz, mtau0, htau0, q10
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (S) = (siemens)
}

PARAMETER {
    gbar = 0 (S/cm2) <0, 1e3>        : maximal conductance
    vhalfm = 11 (mV) <-100, 100>     : half activation (Hoffman et al. 1997)
    km = 18 (mV) <1e-3, 100>         : activation slope (Hoffman et al. 1997)
    vhalfh = -56 (mV) <-150, 50>     : half inactivation (Hoffman et al. 1997)
    kh = 8 (mV) <1e-3, 100>          : inactivation slope (Hoffman et al. 1997)
    dz = 0.667 (1) <0, 10>           : extra valence of the activation foot
    vz = -40 (mV) <-150, 50>         : where the extra valence sets in
    kz = 5 (mV) <1e-3, 100>          : how sharply it sets in
    mtau0 = 1 (ms) <1e-4, 1e4>       : activation time constant at 24 C
    htau0 = 23 (ms) <1e-3, 1e5>      : inactivation time constant at 24 C (Chen & Johnston 2004)
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
    LOCAL tadj, z
    tadj = q10^((celsius - 24 (degC))/10 (degC))
    z = 1 + dz/(1 + exp((v - vz)/kz))
    minf = 1/(1 + exp(-z*(v - vhalfm)/km))
    hinf = 1/(1 + exp((v - vhalfh)/kh))
    mtau = mtau0/tadj
    htau = htau0/tadj
}
