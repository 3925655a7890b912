TITLE caleak: passive calcium leak with a Goldman-Hodgkin-Katz current

COMMENT
Voltage-independent Ca leak: the resting Ca influx that the plasma-membrane
Ca pumps and exchangers balance at rest.

Current density (outward positive, mA/cm2) from the GHK current equation,

    ica = pca * ghk(v, cai, cao, z),   z = 2

so the leak follows the dynamic reversal potential exactly (it is zero at the
Nernst potential of the current concentrations), vanishes when the
concentration on the side it draws from is zero, and rectifies as GHK
predicts (with cao/cai about 2e4 it is inward at every physiological v).
pca is a permeability (cm/s); pca*ghk is already mA/cm2 (see ghk.inc).

Default pca = 2.488e-7 cm/s balances the default PMCA and NCX exactly at
cai = 100 nM, nai 12 mM and -70 mV: there the pump extrudes 0.500 and the
exchanger 0.006 uA/cm2 of Ca current, and this leak carries -0.506 uA/cm2
(ionhomeo.thermo.ghk_current, 37 C, cao 2 mM). At another resting
potential the resting cai differs (ionhomeo.steady solves for it); retune
the three together.

For an ohmic-equivalent conductance near potential V, multiply pca by the
GHK slope dI/dV (ionhomeo.thermo.ghk_current gives I for any P).

Reads: cai, cao.  Writes: ica.  CoreNEURON: compatible.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX caleak
    USEION ca READ cai, cao WRITE ica
    RANGE pca, i
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (mM) = (milli/liter)
    FARADAY = (faraday) (10000 coulomb)
    R = (k-mole) (joule/degC)
}

PARAMETER {
    pca = 2.488e-7 (cm/s) <0, 1>  : membrane permeability to Ca
}

ASSIGNED {
    v (mV)
    celsius (degC)
    cai (mM)
    cao (mM)
    ica (mA/cm2)
    i (mA/cm2)  : this leak's Ca current (a copy of its share of ica)
}

BREAKPOINT {
    i = pca*ghk(v, cai, cao, 2)
    ica = i
}

INCLUDE "ghk.inc"
