TITLE GabaA: GABA_A receptor synapse carrying Cl and HCO3 (GHK currents)

COMMENT
Point process driven by NetCon events. Conductance time course: difference
of exponentials (rise tau1, decay tau2), peak normalised to the NetCon
weight (uS), as in NEURON's Exp2Syn.

The channel is permeable to Cl- and HCO3- (both valence -1) with
P_HCO3/P_Cl = pratio (0.2; Bormann, Hamill & Sakmann 1987, J Physiol
385:243; Kaila 1994). Each current follows the GHK current equation, so the
synapse reverses at the GHK potential

    E_GABA = (RT/F) ln((cli + pratio hco3i)/(clo + pratio hco3o))

(ionhomeo.thermo.egaba), which moves with cli as cldyn changes it.
Currents (nA, outward positive):

    icl   = g       G(v, cli, clo)
    ihco3 = g pratio G(v, hco3i, hco3o)
    G(v, ci, co) = (v/cref) (ci - co exp(-zeta))/(1 - exp(-zeta)),  zeta = -F v/(RT)

so that g (uS) is the Cl-pathway conductance the synapse would have with
cref mM Cl on both sides (GHK permeability P_Cl = g RT/(F^2 cref)). With
cref = 50 mM this is close to the measured slope conductance for
physiological Cl gradients (the log-mean of cli and clo is 38 mM for 5/130
and 68 mM for 30/130). The Cl current reaches cli through cldyn.

Defaults tau1 0.5 ms, tau2 8 ms: somatic GABA_A IPSCs of pyramidal cells
near 35 C (e.g. Pearce 1993, Neuron 10:189 for the fast component).

Reads: cli, clo, hco3i, hco3o.  Writes: icl, ihco3.  CoreNEURON: compatible.
ENDCOMMENT

NEURON {
    THREADSAFE
    POINT_PROCESS GabaA
    USEION cl READ cli, clo WRITE icl VALENCE -1
    USEION hco3 READ hco3i, hco3o WRITE ihco3 VALENCE -1
    RANGE tau1, tau2, pratio, cref, g, i, i_cl, i_hco3, egaba
}

UNITS {
    (nA) = (nanoamp)
    (mV) = (millivolt)
    (uS) = (microsiemens)
    (mM) = (milli/liter)
    FARADAY = (faraday) (10000 coulomb)
    R = (k-mole) (joule/degC)
}

PARAMETER {
    tau1 = 0.5 (ms) <1e-3, 1e9>    : rise time constant (must be < tau2)
    tau2 = 8 (ms) <1e-3, 1e9>      : decay time constant
    pratio = 0.2 (1) <0, 10>       : P_HCO3 / P_Cl
    cref = 50 (mM) <1e-3, 1e4>     : reference Cl concentration defining g
}

ASSIGNED {
    v (mV)
    celsius (degC)
    cli (mM)
    clo (mM)
    hco3i (mM)
    hco3o (mM)
    icl (nA)
    ihco3 (nA)
    i (nA)       : total synaptic current
    i_cl (nA)    : Cl component (copy of this synapse's icl)
    i_hco3 (nA)  : HCO3 component
    g (uS)
    egaba (mV)   : GHK reversal potential at the current concentrations
    factor (1)
}

STATE {
    A (uS)
    B (uS)
}

INITIAL {
    LOCAL tp
    if (tau1/tau2 > 0.9999) {
        tau1 = 0.9999*tau2
    }
    A = 0
    B = 0
    tp = (tau1*tau2)/(tau2 - tau1)*log(tau2/tau1)
    factor = 1/(-exp(-tp/tau1) + exp(-tp/tau2))
}

BREAKPOINT {
    LOCAL et
    SOLVE state METHOD cnexp
    g = B - A
    et = rtf()  : RT/F in mV (thermo.inc)
    i_cl = g*gfac(v, cli, clo, et)
    i_hco3 = g*pratio*gfac(v, hco3i, hco3o, et)
    icl = i_cl
    ihco3 = i_hco3
    i = i_cl + i_hco3
    egaba = et*log((cli + pratio*hco3i)/(clo + pratio*hco3o))
}

DERIVATIVE state {
    A' = -A/tau1
    B' = -B/tau2
}

NET_RECEIVE(weight (uS)) {
    A = A + weight*factor
    B = B + weight*factor
}

FUNCTION gfac(v (mV), ci (mM), co (mM), et (mV)) (mV) {
    : G for valence -1: with zeta = -v/et (et = RT/F), v (ci - co e^-zeta)/(1 - e^-zeta)
    : = -et (ci efun(-zeta) - co efun(zeta)), divided by cref
    LOCAL zeta
    zeta = -v/et
    gfac = -et*(ci*efun(-zeta) - co*efun(zeta))/cref
}

INCLUDE "ghk.inc"
INCLUDE "thermo.inc"
