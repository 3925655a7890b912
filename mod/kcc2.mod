TITLE kcc2: K-Cl cotransporter KCC2 (SLC12A5), electroneutral, with WNK-SPAK phosphorylation

COMMENT
KCC2 moves one K+ and one Cl- together, so it carries no net charge. Its
flux follows the thermodynamic driving force of the coupled pair: the
free energy of extruding one K and one Cl is RT ln(ko clo/(ki cli)), so net
transport is outward when ki cli > ko clo, exactly zero at ki cli = ko clo
(E_Cl = E_K) and inward beyond it. The rate law

    icc = imax * a * (ki cli - ko clo) / D
    D   = (kmk + ki)(kmcl + cli) + (kmk + ko)(kmcl + clo)

has the sign of the driving force everywhere, is exactly zero at
equilibrium, is bounded by imax, and its inward branch vanishes when ko or
clo is zero, so it cannot drive a concentration negative. It is a
phenomenological saturating form (symmetric carrier), not a fitted
kinetic scheme.

Currents (icc > 0 is net extrusion, expressed as the current one K would carry):
    ik  = +icc     (K leaving: outward)
    icl = -icc     (Cl, valence -1, leaving: inward)
so ik + icl = 0 exactly.

Phosphorylation (WNK-SPAK/OSR1 at T906/T1007 inhibits KCC2; Rinehart et al.
2009, Cell 138:525; de los Heros et al. 2014, Biochem J 458:559). p is the
phosphorylated, inactive fraction and a = 1 - p the active fraction:
    dp/dt = kwnk (1 - p) - kpp p
kwnk is the kinase (WNK-SPAK) rate and kpp the phosphatase rate; p starts at
its steady state kwnk/(kwnk + kpp) and can also be set directly at any time
(it is a STATE: seg.p_kcc2 in Python, p_kcc2 in hoc). Default kwnk = 0
(mature neuron, fully active), kpp = 1/(10 min), since KCC2 phosphorylation
changes over minutes.

Parameters: apparent affinities kmk 9 mM and kmcl 6.8 mM (Payne 1997, Am J
Physiol 273:C1516). imax = 0.05 mA/cm2 gives, near rest, a first-order Cl
recovery time constant of about 25 s in a 20 um soma and about 1 s in a
1 um dendrite (time constant scales with diameter), inside the 3-40 s range
used in models (Jedlicka et al. 2011, Hippocampus 21:885; Doyon et al. 2011).
Block (VU0463271) is imax = 0.

Reads: ki, ko, cli, clo.  Writes: ik, icl.  CoreNEURON: compatible.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX kcc2
    USEION k READ ki, ko WRITE ik
    USEION cl READ cli, clo WRITE icl VALENCE -1
    RANGE imax, kwnk, kpp, icc, a
    GLOBAL kmk, kmcl
}

UNITS {
    (mA) = (milliamp)
    (mM) = (milli/liter)
}

PARAMETER {
    imax = 0.05 (mA/cm2) <0, 1e3>   : maximal cotransport, as the current of one K
    kmk = 9 (mM) <1e-6, 1e4>        : apparent K affinity
    kmcl = 6.8 (mM) <1e-6, 1e4>     : apparent Cl affinity
    kwnk = 0 (/s) <0, 1e3>          : phosphorylation (inactivation) rate by WNK-SPAK
    kpp = 0.0016667 (/s) <1e-9, 1e3> : dephosphorylation (reactivation) rate
}

ASSIGNED {
    ki (mM)
    ko (mM)
    cli (mM)
    clo (mM)
    ik (mA/cm2)
    icl (mA/cm2)
    icc (mA/cm2)  : net extrusion (> 0: K and Cl leave)
    a (1)         : active fraction, 1 - p
}

STATE {
    p (1)  : phosphorylated (inactive) fraction
}

INITIAL {
    p = kwnk/(kwnk + kpp)
}

BREAKPOINT {
    SOLVE phosphorylation METHOD cnexp
    a = 1 - p
    icc = imax*a*(ki*cli - ko*clo)/((kmk + ki)*(kmcl + cli) + (kmk + ko)*(kmcl + clo))
    ik = icc
    icl = -icc
}

DERIVATIVE phosphorylation {
    : (0.001): rates are per second, time is in ms
    p' = (0.001)*(kwnk*(1 - p) - kpp*p)
}
