TITLE ryr: ryanodine receptor, Ca-induced Ca release from the ER

COMMENT
Ryanodine receptor channel of the ER: Ca-induced Ca release (CICR).
Release per cytosolic volume:

    J  = pmax * Po * (caeri - cai)            (mM/ms, lumen -> cytosol)
    Po = cai^na/(cai^na + ka^na) * w
    dw/dt = (winf - w)/tauw,   winf = ki/(ki + cai)

Activation by cytosolic Ca is cooperative (na = 4) with half activation
ka = 1 uM; a slower Ca-dependent inactivation (ki 10 uM, tauw 100 ms) ends
release. This is a phenomenological form: the activation range follows
bilayer recordings of neuronal RyRs (activation between 0.1 and 10 uM,
Bezprozvanny, Watras & Ehrlich 1991, Nature 351:751), and adaptation on
a 100-ms scale follows Gyorke & Fill 1993 (Science 260:807); neither
number is a fit. At 100 nM the channel is essentially closed
(Po about 1e-4), so CICR needs a Ca signal of about a micromolar. The flux is
passive: zero when caeri = cai.

Currents: icaer = +J (2F)(diam/4) (> 0: Ca leaving the lumen) and the
NONSPECIFIC_CURRENT i = -icaer, so this mechanism never changes v.

Reads: cai, caeri.  Writes: icaer, i (nonspecific, cancels icaer).
CoreNEURON: compatible.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX ryr
    USEION ca READ cai
    USEION caer READ caeri WRITE icaer VALENCE 2
    NONSPECIFIC_CURRENT i
    RANGE pmax, j, po
    GLOBAL ka, na, ki, tauw
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
    pmax = 0.005 (/ms) <0, 1e3>     : maximal release rate constant
    ka = 0.001 (mM) <1e-12, 1>      : half-activating cytosolic Ca
    na = 4 (1) <1, 10>              : activation Hill coefficient
    ki = 0.01 (mM) <1e-12, 10>      : half-inactivating cytosolic Ca
    tauw = 100 (ms) <1e-3, 1e9>     : inactivation time constant
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
    w (1)  : fraction not inactivated
}

INITIAL {
    w = ki/(ki + pos(cai))
}

BREAKPOINT {
    LOCAL u
    SOLVE gate METHOD cnexp
    u = (pos(cai)/ka)^na
    po = w*u/(u + 1)
    j = pmax*po*(caeri - cai)
    icaer = poolcur(j)
    i = -icaer
}

DERIVATIVE gate {
    w' = (ki/(ki + pos(cai)) - w)/tauw
}

INCLUDE "calcium.inc"
INCLUDE "pos.inc"
