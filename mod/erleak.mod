TITLE erleak: passive Ca leak from the ER lumen into the cytosol

COMMENT
Passive Ca efflux from the ER (the caer pool of er.mod), per cytosolic
volume,

    J = perm * (caeri - cai)          (mM/ms, > 0 from lumen to cytosol)

zero exactly when the free concentrations are equal (the ER membrane
potential is taken as 0), and never able to drive either concentration
below zero (it is linear in both and vanishes when both are zero). Its
default balances the default SERCA exactly at cai 100 nM and free
luminal Ca 0.5 mM: SERCA then takes up 9.73 uM/s, and perm 1.9465e-5 /ms
releases the same from the lumen. In a cell whose resting cai differs, the
lumen settles where the two balance (ionhomeo.steady solves for it).

Currents: icaer = +J (2F)(diam/4), the pool current of caer per area of
plasma membrane (> 0: Ca leaving the lumen), and the NONSPECIFIC_CURRENT
i = -icaer, so this mechanism never changes v.

Reads: cai, caeri.  Writes: icaer, i (nonspecific, cancels icaer).
CoreNEURON: compatible.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX erleak
    USEION ca READ cai
    USEION caer READ caeri WRITE icaer VALENCE 2
    NONSPECIFIC_CURRENT i
    RANGE perm, j
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
    perm = 1.9465e-5 (/ms) <0, 1e3>  : leak rate constant per cytosolic volume
}

ASSIGNED {
    diam (um)
    celsius (degC)
    cai (mM)
    caeri (mM)
    icaer (mA/cm2)
    i (mA/cm2)
    j (mM/ms)  : net release into the cytosol per cytosolic volume
}

BREAKPOINT {
    j = perm*(caeri - cai)
    icaer = poolcur(j)
    i = -icaer
}

INCLUDE "calcium.inc"
