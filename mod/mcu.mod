TITLE mcu: mitochondrial Ca uniporter, Ca from the cytosol into the matrix

COMMENT
The mitochondrial calcium uniporter, driven by the mitochondrial membrane
potential dpsi (matrix minus cytosol, negative). Uptake per cytosolic
volume into the matrix pool (camt of mito.mod):

    J = vmax * G(c) * T * D(w)/D(wref)                     (mM/ms)
    G(c) = c^nh/(c^nh + km^nh)       gating by cytosolic Ca (MICU1/2)
    T = 1 - (camti/c) exp(-w)        thermodynamic factor
    w = -2 F dpsi/(RT),  D(w) = w/(1 - exp(-w))  (GHK electrodiffusion)

c = cai. T is zero exactly at electrochemical equilibrium
(camti/cai = exp(-2F dpsi/RT), about 3e5 at -170 mV:
ionhomeo.thermo.mcu_equilibrium_ratio) and negative beyond it. Written as
G T = c^(nh-1) (c - camti exp(-w))/(c^nh + km^nh), the flux is zero at cai
= 0 (nh >= 1), so uptake can never drive cai below zero. D(w)/D(wref)
scales the rate with the driving potential, so that vmax is the maximal
rate at dpsi = dpsiref (-170 mV); depolarising the mitochondria (dpsi -> 0,
uncouplers) slows uptake roughly in proportion.

Defaults: low affinity, km 10 uM and Hill 2 (apparent K0.5 10-20 uM and
cooperative activation of uptake into isolated mitochondria; the
cooperativity comes from the MICU1 gate, Csordas et al. 2013, Cell Metab
17:976; the uniporter current itself: Kirichok, Krapivinsky & Clapham
2004, Nature 427:360);
dpsi -170 mV (-160 to -180 mV; Nicholls & Ferguson, Bioenergetics 4, 2013);
vmax 1e-3 mM/ms (1 mM/s per cytosolic volume), so that MCU overtakes the
default SERCA above a few micromolar (the crossover of the two Hill laws,
ionhomeo.thermo.hill_crossover).

Currents: icamt = -J (2F)(diam/4) (> 0 would be Ca leaving the matrix) and
the NONSPECIFIC_CURRENT i = -icamt, so this mechanism never changes v.

Mitochondrial potential: dpsi is also a parameter of nclx; change
both together for an uncoupler or energy failure
(ionhomeo.calcium.set_mitochondrial_potential does).

Reads: cai, camti.  Writes: icamt, i (nonspecific, cancels icamt).
CoreNEURON: compatible.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX mcu
    USEION ca READ cai
    USEION camt READ camti WRITE icamt VALENCE 2
    NONSPECIFIC_CURRENT i
    RANGE vmax, dpsi, j
    GLOBAL km, nh, dpsiref
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
    vmax = 0.001 (mM/ms) <0, 1e3>      : maximal uptake rate at dpsiref
    km = 0.01 (mM) <1e-9, 1e3>         : half-activating cytosolic Ca
    nh = 2 (1) <1, 10>                 : Hill coefficient
    dpsi = -170 (mV) <-300, 100>       : mitochondrial membrane potential
    dpsiref = -170 (mV) <-300, -1>     : potential at which vmax applies
}

ASSIGNED {
    diam (um)
    celsius (degC)
    cai (mM)
    camti (mM)
    icamt (mA/cm2)
    i (mA/cm2)
    j (mM/ms)  : net uptake into the matrix per cytosolic volume
}

BREAKPOINT {
    LOCAL c, w, u
    c = pos(cai)
    w = -2*dpsi/rtf()
    u = (c/km)^nh
    : G*T written so that it vanishes at c = 0
    j = vmax*(u/(u + 1))*(c - pos(camti)*exp(-w))/c*dfac(w)/dfac(-2*dpsiref/rtf())
    icamt = -poolcur(j)
    i = -icamt
}

FUNCTION dfac(w) {
    : w/(1 - exp(-w)), with its series near 0 where the quotient is 0/0
    if (fabs(w) < 1e-4) {
        dfac = 1 + w/2 + w*w/12
    } else {
        dfac = w/(1 - exp(-w))
    }
}

INCLUDE "calcium.inc"
INCLUDE "thermo.inc"
INCLUDE "pos.inc"
