TITLE naleak: passive sodium leak with a Goldman-Hodgkin-Katz current

COMMENT
NALCN-like sodium leak. NALCN is the main voltage-independent Na leak of neurons (Lu et al. 2007, Cell 129:371).

Current density (outward positive, mA/cm2) from the GHK current equation,

    ina = pna * ghk(v, nai, nao, z),   z = 1

so the leak follows the dynamic reversal potential exactly (it is zero at the
Nernst potential of the current concentrations), vanishes when the
concentration on the side it draws from is zero, and rectifies as GHK
predicts. pna is a permeability (cm/s). The default is chosen so that, with
kleak's default, pNa/pK = 0.04 and pCl/pK = 0.06, inside the resting ratios
reported for central neurons (pNa/pK 0.02-0.05; Hodgkin & Katz 1949 for the
method); the slope conductance of the default kleak near rest is about
0.05 mS/cm2 (specific membrane resistance about 20 kOhm cm2).

For an ohmic-equivalent conductance near potential V, multiply pna by the GHK
slope dI/dV (ionhomeo.thermo.ghk_current gives I for any P).

Reads: nai, nao.  Writes: ina.  CoreNEURON: compatible.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX naleak
    USEION na READ nai, nao WRITE ina
    RANGE pna, i
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (mM) = (milli/liter)
    FARADAY = (faraday) (10000 coulomb)
    R = (k-mole) (joule/degC)
}

PARAMETER {
    pna = 2e-8 (cm/s) <0, 1>  : membrane permeability to Na
}

ASSIGNED {
    v (mV)
    celsius (degC)
    nai (mM)
    nao (mM)
    ina (mA/cm2)
    i (mA/cm2)  : this leak's Na current (a copy of its share of ina)
}

BREAKPOINT {
    i = pna*ghk(v, nai, nao, 1)
    ina = i
}

INCLUDE "ghk.inc"
