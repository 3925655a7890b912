TITLE ncx: plasma-membrane Na/Ca exchanger, 3 Na : 1 Ca, electrogenic

COMMENT
NCX exchanges three Na for one Ca. In forward mode three Na enter and one
Ca leaves (one net positive charge in: an inward current); in reverse mode
the opposite. The exchange current (Luo & Rudy 1994, Circ Res 74:1071,
after DiFrancesco & Noble 1985), times an allosteric activation by
cytosolic Ca:

    incx = imax * A(cai) * [exp(eta u) nai^3 cao - exp((eta-1) u) nao^3 cai]
           / [(kmna^3 + nao^3)(kmca + cao)(1 + ksat exp((eta-1) u))]
    u = F v/(RT),    A(c) = c^2/(c^2 + kmact^2)
    ina = 3 incx,    ica = -2 incx          (incx > 0: reverse mode)

The bracket vanishes exactly when nai^3 cao exp(u) = nao^3 cai, i.e. at
v = 3 E_Na - 2 E_Ca (ionhomeo.thermo.ncx_reversal): below it the exchanger
extrudes Ca (forward), above it Ca enters (reverse). A(c) >= 0 cannot move
that point. The Na and Ca ion fluxes keep the ratio 3 : 1 exactly
(ina/F : ica/(2F) = -3 : 1), so the net current is one charge per cycle:
ina + ica = incx. Forward flux vanishes at cai = 0 and reverse flux at
nai = 0, so the exchanger cannot drive either concentration below zero.

Allosteric activation: Ca binding to the regulatory CBD1/CBD2 domains
activates the exchanger (Hilgemann et al. 1992; Weber et al. 2001, J Gen
Physiol 117:119: K_D about 125 nM in intact cells); here with Hill 2 and
kmact 0.125 uM. It saturates above about 1 uM.

Defaults of the transport term are those of Luo & Rudy 1994: kmna 87.5 mM,
kmca 1.38 mM, ksat 0.1, eta 0.35. imax 0.5 mA/cm2 (a quarter of the
cardiac value, neurons having fewer exchangers): at 100 nM and -70 mV the
exchanger carries under 0.01 uA/cm2 of Ca, while at 5 uM it extrudes
several uA/cm2, more than the PMCA: low affinity, high capacity.

Reads: nai, nao, cai, cao, v.  Writes: ina, ica.  CoreNEURON: compatible.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX ncx
    USEION na READ nai, nao WRITE ina
    USEION ca READ cai, cao WRITE ica
    RANGE imax, incx
    GLOBAL kmna, kmca, ksat, eta, kmact
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
    imax = 0.5 (mA/cm2) <0, 1e3>     : scale of the exchange current (k_NaCa)
    kmna = 87.5 (mM) <1e-6, 1e4>     : external Na saturation constant
    kmca = 1.38 (mM) <1e-6, 1e4>     : external Ca saturation constant
    ksat = 0.1 (1) <0, 100>          : saturation at negative potentials
    eta = 0.35 (1) <0, 1>            : position of the energy barrier
    kmact = 0.000125 (mM) <1e-9, 1>  : allosteric activation by cytosolic Ca
}

ASSIGNED {
    v (mV)
    diam (um)
    celsius (degC)
    nai (mM)
    nao (mM)
    cai (mM)
    cao (mM)
    ina (mA/cm2)
    ica (mA/cm2)
    incx (mA/cm2)  : net exchange current (> 0: reverse mode, Ca entering)
}

BREAKPOINT {
    LOCAL u, c, a, n3i, n3o
    u = v/rtf()
    c = pos(cai)
    a = c*c/(c*c + kmact*kmact)
    n3i = pos(nai)*pos(nai)*pos(nai)
    n3o = nao*nao*nao
    incx = imax*a*(exp(eta*u)*n3i*cao - exp((eta - 1)*u)*n3o*c)/((kmna*kmna*kmna + n3o)*(kmca + cao)*(1 + ksat*exp((eta - 1)*u)))
    ina = 3*incx
    ica = -2*incx
}
INCLUDE "thermo.inc"
INCLUDE "pos.inc"
