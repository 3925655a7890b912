TITLE nkcc1: Na-K-2Cl cotransporter NKCC1 (SLC12A2), electroneutral

COMMENT
NKCC1 moves 1 Na+, 1 K+ and 2 Cl- together, net charge zero. The free energy
of importing one set is RT ln(nai ki cli^2/(nao ko clo^2)), so net transport
is inward while nao ko clo^2 > nai ki cli^2, exactly zero at
nai ki cli^2 = nao ko clo^2 (the NKCC1 equilibrium, cli about 76 mM with
nao 145, ko 4, clo 130, nai 12, ki 140) and outward beyond it. Rate law:

    icc = imax * (nao ko clo^2 - nai ki cli^2) / D
    D   = (kmna+nao)(kmk+ko)(kmcl+clo)^2 + (kmna+nai)(kmk+ki)(kmcl+cli)^2

sign of the driving force everywhere, exactly zero at equilibrium, bounded
by imax; each branch vanishes when a concentration on its source side is
zero. Phenomenological saturating form (symmetric carrier).

Currents (icc > 0 is net import, as the current of one Na):
    ina = -icc     (Na entering: inward)
    ik  = -icc     (K entering: inward)
    icl = +2 icc   (2 Cl, valence -1, entering: outward)
so ina + ik + icl = 0 exactly.

Parameters: apparent affinities kmna 20 mM, kmk 2 mM, kmcl 30 mM, within the
ranges reviewed by Russell 2000 (Physiol Rev 80:211). imax = 0.02 mA/cm2
holds cli of a 20 um soma several tens of mM above passive when NKCC1
dominates (immature CA3: 13-70 mM, mean about 38 mM; Kolbaev et al. 2020).
Block by bumetanide is imax = 0.

Reads: nai, nao, ki, ko, cli, clo.  Writes: ina, ik, icl.
CoreNEURON: compatible.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX nkcc1
    USEION na READ nai, nao WRITE ina
    USEION k READ ki, ko WRITE ik
    USEION cl READ cli, clo WRITE icl VALENCE -1
    RANGE imax, icc
    GLOBAL kmna, kmk, kmcl
}

UNITS {
    (mA) = (milliamp)
    (mM) = (milli/liter)
}

PARAMETER {
    imax = 0.02 (mA/cm2) <0, 1e3>  : maximal cotransport, as the current of one Na
    kmna = 20 (mM) <1e-6, 1e4>     : apparent Na affinity
    kmk = 2 (mM) <1e-6, 1e4>       : apparent K affinity
    kmcl = 30 (mM) <1e-6, 1e4>     : apparent Cl affinity
}

ASSIGNED {
    nai (mM)
    nao (mM)
    ki (mM)
    ko (mM)
    cli (mM)
    clo (mM)
    ina (mA/cm2)
    ik (mA/cm2)
    icl (mA/cm2)
    icc (mA/cm2)  : net import (> 0: Na, K and 2 Cl enter)
}

BREAKPOINT {
    icc = imax*(nao*ko*clo*clo - nai*ki*cli*cli)/((kmna + nao)*(kmk + ko)*(kmcl + clo)*(kmcl + clo) + (kmna + nai)*(kmk + ki)*(kmcl + cli)*(kmcl + cli))
    ina = -icc
    ik = -icc
    icl = 2*icc
}
