TITLE serca: SERCA pump, cytosolic Ca into the ER lumen (2 Ca per ATP)

COMMENT
Sarco/endoplasmic-reticulum Ca-ATPase. Moves Ca from the cytosol into the
ER lumen (the caer pool of er.mod) at the rate, per cytosolic volume,

    J = vmax * c^nh/(c^nh + km^nh) * tanh(-dG/(2RT))          (mM/ms)
    dG = dgatp + 2 RT ln(caeri/cai)            (kJ/mol per cycle)

with c = cai. Hill kinetics with K0.5 0.3 uM and nh = 2 (Lytton et al.
1992, J Biol Chem 267:14483: K0.5 0.2-0.4 uM). The thermodynamic factor is
zero exactly at equilibrium (dG = 0, caeri/cai = exp(-dgatp/(2RT)), about
4e4 with dgatp -55 kJ/mol: ionhomeo.thermo.serca_equilibrium_ratio), is
about 1 under physiological gradients and turns the pump backwards beyond
equilibrium. The ER membrane potential is taken as 0 (counter-ion fluxes
keep it near 0). Uptake is zero at cai = 0.

Default vmax 1e-4 mM/ms (100 uM/s per cytosolic volume): at rest
(100 nM, lumen 0.5 mM) SERCA takes up 9.73 uM/s, balanced by erleak.

Currents: icaer = -J (2F) (diam/4), the uptake expressed as the pool
current of caer per area of plasma membrane (icaer > 0 is Ca leaving the
lumen, so uptake is negative), with the cylinder volume/area diam/4 that
cadyn and er use; and the NONSPECIFIC_CURRENT i = -icaer, so the net
membrane current of this mechanism is exactly zero.

ATP: dgatp is also a parameter of nakpump and pmca; the three
are separate GLOBALs, so change them together for an energy failure
(ionhomeo.calcium.set_atp_free_energy does).

Reads: cai, caeri.  Writes: icaer, i (nonspecific, cancels icaer).
CoreNEURON: compatible.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX serca
    USEION ca READ cai
    USEION caer READ caeri WRITE icaer VALENCE 2
    NONSPECIFIC_CURRENT i
    RANGE vmax, j
    GLOBAL km, nh, dgatp
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (mM) = (milli/liter)
    (um) = (micron)
    (kJ) = (kilojoule)
    : 1e4 coulomb per mole, the one convention of every ionhomeo mod file
    FARADAY = (faraday) (10000 coulomb)
    : Faraday constant per mole, so that a free energy (kJ/mole)/FMOL is in kV
    FMOL = (faraday/mole) (coulomb/mole)
    R = (k-mole) (joule/degC)
}

PARAMETER {
    vmax = 0.0001 (mM/ms) <0, 1e3>    : maximal uptake rate per cytosolic volume
    km = 0.0003 (mM) <1e-9, 1e3>      : half-activation cytosolic Ca
    nh = 2 (1) <1, 10>                : Hill coefficient
    dgatp = -55 (kJ/mole) <-100, 0>   : free energy of ATP hydrolysis
}

ASSIGNED {
    diam (um)
    celsius (degC)
    cai (mM)
    caeri (mM)
    icaer (mA/cm2)
    i (mA/cm2)
    j (mM/ms)  : net uptake into the ER per cytosolic volume
}

BREAKPOINT {
    LOCAL c, x
    c = pos(cai)
    : dG/RT; (1e6)*dgatp/FMOL is dgatp/F in mV, divided by RT/F in mV
    x = (1e6)*dgatp/FMOL/rtf() + 2*log(pos(caeri)/c)
    j = vmax*hillfrac(c)*tanh(-x/2)
    icaer = -poolcur(j)
    i = -icaer
}

FUNCTION hillfrac(c (mM)) (1) {
    LOCAL u
    u = (c/km)^nh
    hillfrac = u/(u + 1)
}

INCLUDE "calcium.inc"
INCLUDE "thermo.inc"
INCLUDE "pos.inc"
