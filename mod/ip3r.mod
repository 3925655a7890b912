TITLE ip3r: IP3 receptor, IP3- and Ca-gated Ca release from the ER (Li-Rinzel)

COMMENT
IP3 receptor channel of the ER in the reduced form of Li & Rinzel 1994
(J Theor Biol 166:461) of the De Young-Keizer model (1992, PNAS 89:9895).
Release per cytosolic volume:

    J  = pmax * Po * (caeri - cai)              (mM/ms, lumen -> cytosol)
    Po = minf^3 ninf^3 h^3
    minf = ip3/(ip3 + d1)           (IP3 binding)
    ninf = cai/(cai + d5)           (activating Ca site: fast)
    dh/dt = ah (1 - h) - bh h       (slow Ca inactivation)
    ah = a2 d2 (ip3 + d1)/(ip3 + d3),   bh = a2 cai

Parameters from Li & Rinzel 1994: d1 0.13 uM, d2 1.049 uM, d3 0.9434 uM,
d5 0.08234 uM, a2 0.2 /uM/s. Their release per cytosolic volume is
c1 v1 Po (c_ER - c) with c1 = 0.185 (ER/cytosol volume ratio) and
v1 = 6 /s, so pmax = c1 v1 = 1.11 /s. The open
probability is bell-shaped in cai, as measured by Bezprozvanny et al. 1991
(Nature 351:751). The flux is passive: zero when caeri = cai.

IP3 (mM) is a range parameter: set it, or drive it over time with
Vector.play (hoc: vec.play(&ip3_ip3r(0.5), tvec); Python:
vec.play(seg._ref_ip3_ip3r, tvec)). h starts at its steady state for the
initial ip3 and cai.

Currents: icaer = +J (2F)(diam/4) (> 0: Ca leaving the lumen) and the
NONSPECIFIC_CURRENT i = -icaer, so this mechanism never changes v.

Reads: cai, caeri.  Writes: icaer, i (nonspecific, cancels icaer).
CoreNEURON: compatible.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX ip3r
    USEION ca READ cai
    USEION caer READ caeri WRITE icaer VALENCE 2
    NONSPECIFIC_CURRENT i
    RANGE pmax, ip3, j, po
    GLOBAL d1, d2, d3, d5, a2
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (mM) = (milli/liter)
    (um) = (micron)
    : 1e4 coulomb per mole, the one convention of every ionhomeo mod file
    FARADAY = (faraday) (10000 coulomb)
    R = (k-mole) (joule/degC)
}

PARAMETER {
    pmax = 0.00111 (/ms) <0, 1e3>       : maximal release rate constant (c1 v1)
    ip3 = 0 (mM) <0, 1>                 : cytosolic IP3
    d1 = 0.00013 (mM) <1e-12, 1>        : IP3 dissociation constant
    d2 = 0.001049 (mM) <1e-12, 1>       : Ca inactivation dissociation constant
    d3 = 0.0009434 (mM) <1e-12, 1>      : IP3 dissociation constant (inactivated)
    d5 = 8.234e-5 (mM) <1e-12, 1>       : Ca activation dissociation constant
    a2 = 0.2 (/mM-ms) <1e-9, 1e6>       : Ca inactivation on rate
}

ASSIGNED {
    diam (um)
    celsius (degC)
    cai (mM)
    caeri (mM)
    icaer (mA/cm2)
    i (mA/cm2)
    j (mM/ms)  : net release into the cytosol per cytosolic volume
    po (1)     : open probability
}

STATE {
    h (1)  : fraction of subunits not inactivated by Ca
}

INITIAL {
    h = ah()/(ah() + a2*pos(cai))
}

BREAKPOINT {
    LOCAL m, n
    SOLVE gate METHOD cnexp
    m = ip3/(ip3 + d1)
    n = pos(cai)/(pos(cai) + d5)
    po = m*m*m*n*n*n*h*h*h
    j = pmax*po*(caeri - cai)
    icaer = poolcur(j)
    i = -icaer
}

DERIVATIVE gate {
    h' = ah()*(1 - h) - a2*pos(cai)*h
}

FUNCTION ah() (/ms) {
    ah = a2*d2*(ip3 + d1)/(ip3 + d3)
}

INCLUDE "calcium.inc"
INCLUDE "pos.inc"
