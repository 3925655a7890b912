TITLE kleak: passive potassium leak with a Goldman-Hodgkin-Katz current

COMMENT
Potassium leak (two-pore-domain K2P channels such as TASK and TREK; Enyedi & Czirjak 2010, Physiol Rev 90:559).

Current density (outward positive, mA/cm2) from the GHK current equation,

    ik = pk * ghk(v, ki, ko, z),   z = 1

so the leak follows the dynamic reversal potential exactly (it is zero at the
Nernst potential of the current concentrations), vanishes when the
concentration on the side it draws from is zero, and rectifies as GHK
predicts. pk is a permeability (cm/s). The default is chosen so that, with
kleak's default, pNa/pK = 0.04 and pCl/pK = 0.06, inside the resting ratios
reported for central neurons (pNa/pK 0.02-0.05; Hodgkin & Katz 1949 for the
method); the slope conductance of the default kleak near rest is about
0.05 mS/cm2 (specific membrane resistance about 20 kOhm cm2).

For an ohmic-equivalent conductance near potential V, multiply pk by the GHK
slope dI/dV (ionhomeo.thermo.ghk_current gives I for any P).

Reads: ki, ko.  Writes: ik.  CoreNEURON: compatible.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX kleak
    USEION k READ ki, ko WRITE ik
    RANGE pk, i
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (mM) = (milli/liter)
    FARADAY = (faraday) (10000 coulomb)
    R = (k-mole) (joule/degC)
}

PARAMETER {
    pk = 5e-7 (cm/s) <0, 1>  : membrane permeability to K
}

ASSIGNED {
    v (mV)
    celsius (degC)
    ki (mM)
    ko (mM)
    ik (mA/cm2)
    i (mA/cm2)  : this leak's K current (a copy of its share of ik)
}

BREAKPOINT {
    i = pk*ghk(v, ki, ko, 1)
    ik = i
}

INCLUDE "ghk.inc"
