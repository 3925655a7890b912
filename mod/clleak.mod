TITLE clleak: passive chloride leak with a Goldman-Hodgkin-Katz current

COMMENT
Chloride leak (resting Cl conductance, e.g. ClC-2 and background anion channels).

Current density (outward positive, mA/cm2) from the GHK current equation,

    icl = pcl * ghk(v, cli, clo, z),   z = -1

so the leak follows the dynamic reversal potential exactly (it is zero at the
Nernst potential of the current concentrations), vanishes when the
concentration on the side it draws from is zero, and rectifies as GHK
predicts. pcl is a permeability (cm/s). The default is chosen so that, with
kleak's default, pNa/pK = 0.04 and pCl/pK = 0.06, inside the resting ratios
reported for central neurons (pNa/pK 0.02-0.05; Hodgkin & Katz 1949 for the
method); the slope conductance of the default kleak near rest is about
0.05 mS/cm2 (specific membrane resistance about 20 kOhm cm2).

For an ohmic-equivalent conductance near potential V, multiply pcl by the GHK
slope dI/dV (ionhomeo.thermo.ghk_current gives I for any P).

Reads: cli, clo.  Writes: icl.  CoreNEURON: compatible.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX clleak
    USEION cl READ cli, clo WRITE icl VALENCE -1
    RANGE pcl, i
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (mM) = (milli/liter)
    FARADAY = (faraday) (10000 coulomb)
    R = (k-mole) (joule/degC)
}

PARAMETER {
    pcl = 3e-8 (cm/s) <0, 1>  : membrane permeability to Cl
}

ASSIGNED {
    v (mV)
    celsius (degC)
    cli (mM)
    clo (mM)
    icl (mA/cm2)
    i (mA/cm2)  : this leak's Cl current (a copy of its share of icl)
}

BREAKPOINT {
    i = pcl*ghk(v, cli, clo, -1)
    icl = i
}

INCLUDE "ghk.inc"
