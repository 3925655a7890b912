TITLE nckx: K-dependent Na/Ca exchanger (NCKX2, SLC24A2), 4 Na : 1 Ca + 1 K, electrogenic

COMMENT
NCKX exchanges four Na for one Ca and one K. In forward mode four Na enter
while one Ca and one K leave (4 - 2 - 1 = one net positive charge in: an
inward current); in reverse mode the opposite. The outward K gradient adds
to the Na gradient, so NCKX can extrude Ca against a larger Ca gradient
than the 3 : 1 NCX (ncx.mod), and keeps extruding when Na has risen. The
stoichiometry 4 Na : 1 Ca + 1 K was found in rod outer segments (Cervetto
et al. 1989, Nature 337:740; Schnetkamp et al. 1989, Am J Physiol
257:C153); NCKX2 (SLC24A2) is the neuronal and cone isoform.

The exchange current, positive in reverse mode (as incx of ncx.mod):

    inckx = imax * [exp(eta u) Ni^4 Co Ko - exp((eta-1) u) No^4 Ci Ki]
            / [((1 + Ci)(1 + Ki) + Ni^4) ((1 + Co)(1 + Ko) + No^4) (1 + ksat exp((eta-1) u))]
    Ni = nai/kna, No = nao/kna, Ci = cai/kca, Co = cao/kca,
    Ki = ki/kk, Ko = ko/kk,          u = F v/(RT)
    ina = 4 inckx,   ica = -2 inckx,   ik = -inckx

Thermodynamics: the bracket vanishes exactly when
nai^4 cao ko exp(u) = nao^4 cai ki (the dissociation constants cancel,
being the same on both sides), i.e. at the reversal potential

    v = 4 E_Na - 2 E_Ca - E_K        (ionhomeo.thermo.nckx_reversal)

where the free energy of a forward cycle,
RT ln(nai^4 cao ko/(nao^4 cai ki)) + F v, is zero. Below it the exchanger
extrudes Ca (forward, inckx < 0), above it Ca enters (reverse). At rest
(nai 9 mM, nao 145, ki 140, ko 4, cai 100 nM, cao 2, 34 C) it lies at
+126 mV, so NCKX runs forward at any physiological potential until Na
rises or K falls; at -62 mV the bracket vanishes only at cai = 0.08 nM,
the lowest Ca it can pump down to. The denominator is positive and only
scales the rate: for each side, Ca and K binding to independent sites
((1 + C)(1 + K)) competing with Na (+ N^4), both sides with the same
constants, and the voltage saturation of Luo & Rudy 1994 (Circ Res 74:1071,
used by ncx.mod). With independent Ca and K sites the apparent affinities
in forward mode are those constants themselves: half-maximal extrusion at
cai = kca (1 + Ni^4/(1 + Ki)) and at ki = kk (1 + Ni^4/(1 + Ci)), where
Ni^4 is 6e-4 at 9 mM Na (kca and kk to within 0.1 %).

Stoichiometry: the ion fluxes keep 4 Na : 1 Ca : 1 K exactly
(ina/F : ica/(2F) : ik/F = 4 : -1 : -1); the net current is one charge per
cycle, ina + ica + ik = inckx.

Positivity: the forward term is proportional to cai, ki and nao^4, the
reverse term to nai^4, cao and ko, so forward flux vanishes at cai = 0 or
ki = 0 and reverse flux at nai = 0 (or cao, ko = 0): the exchanger cannot
drive any of these concentrations below zero (concentrations enter through
pos(), floored at 1e-15 mM).

Defaults (measured values, and what is a modelling choice):
  kna 58 mM: K_m for Na of wild-type human NCKX2 in HEK293 cells, Na
      controlled with gramicidin (Altimimi et al. 2010, J Biol Chem
      285:15245). Used here as the per-ion constant of Ni^4 (a modelling
      identification; the paper's K_m is a half-saturation).
  kk 30.3 mM: K_m of the cytosolic K dependence of the Na-dependent Ca
      clearance in rat neurohypophysial terminals (Lee et al. 2002,
      J Neurosci 22:6891, their Fig. 5: 0.90 [K]i/([K]i + 30.3 mM)), where
      about 90 % of Na/Ca exchange is K-dependent and NCKX2 is expressed
      (Kim et al. 2003, J Neurosci 23:11673); the model's cytosolic K
      dependence is that curve (to 0.1 %). The same constant at the outer
      K site is a modelling choice.
  kca 1.1 uM: the cytosolic Ca K_1/2 of rod NCKX1, 1.1 uM (Schnetkamp et
      al. 1991, as fitted by Gross et al. 2012, Neuron 76:370, their
      Table 2); cone NCKX2's dependence on internal Ca, external Na and
      external K was very similar to rod NCKX1's (Sheng et al. 2000,
      Biophys J 79:1945). No measurement of NCKX2's cytosolic Ca affinity
      in neurons is used. The same constant at the outer Ca site is a
      modelling choice: it gives an external Ca K_1/2 of kca at zero
      external Na and about 35 kca at 145 mM, but not the four-fold shift
      with 10 mM external Na measured for rod NCKX1 (0.9 and 3.5 uM,
      Schnetkamp et al. 1995, Am J Physiol 269:C1153): Na competes here
      with Hill 4 at kna, which 10 mM barely reaches.
  eta 0.35, ksat 0.1: the voltage dependence of ncx.mod (Luo & Rudy 1994);
      no NCKX2 current-voltage relation was used (a modelling choice).
  imax 0.016 mA/cm2: a modelling choice. At -62 mV, 34 C, nai 9 mM and
      ko 4 mM the exchanger then carries 0.72 uA/cm2 of Ca current at
      1 uM cai, what ncx.mod's default density carries there (0.72), and
      0.13 uA/cm2 at 100 nM (ncx: 0.016; NCKX's higher affinity). At 2 mM
      external Ca most outer sites hold Ca (Co is about 1800), which
      divides the forward rate by about 2000; imax absorbs that.
      NCKX2 is the exchanger of neurohypophysial terminals (Kim et al.
      2003), where Na/Ca exchange carries more than 60 % of extrusion
      above 500 nM (Lee et al. 2002); set the density per region.

Reads: nai, nao, cai, cao, ki, ko, v.  Writes: ina, ica, ik.  CoreNEURON: compatible.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX nckx
    USEION na READ nai, nao WRITE ina
    USEION ca READ cai, cao WRITE ica
    USEION k READ ki, ko WRITE ik
    RANGE imax, inckx
    GLOBAL kna, kca, kk, eta, ksat
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (mM) = (milli/liter)
    : 1e4 coulomb per mole, the one convention of every ionhomeo mod file
    FARADAY = (faraday) (10000 coulomb)
    R = (k-mole) (joule/degC)
}

PARAMETER {
    imax = 0.016 (mA/cm2) <0, 1e3>    : scale of the exchange current
    kna = 58 (mM) <1e-6, 1e4>         : Na dissociation constant (both sides)
    kca = 0.0011 (mM) <1e-9, 1e3>     : Ca dissociation constant (both sides)
    kk = 30.3 (mM) <1e-6, 1e4>        : K dissociation constant (both sides)
    eta = 0.35 (1) <0, 1>             : position of the energy barrier
    ksat = 0.1 (1) <0, 100>           : saturation at negative potentials
}

ASSIGNED {
    v (mV)
    celsius (degC)
    nai (mM)
    nao (mM)
    cai (mM)
    cao (mM)
    ki (mM)
    ko (mM)
    ina (mA/cm2)
    ica (mA/cm2)
    ik (mA/cm2)
    inckx (mA/cm2)  : net exchange current (> 0: reverse mode, Ca entering)
}

BREAKPOINT {
    LOCAL u, ni, no, n4i, n4o, ci, co, kin, kout, ef, er
    u = v/rtf()
    ni = pos(nai)/kna
    no = pos(nao)/kna
    n4i = ni*ni*ni*ni
    n4o = no*no*no*no
    ci = pos(cai)/kca
    co = pos(cao)/kca
    kin = pos(ki)/kk
    kout = pos(ko)/kk
    er = exp(eta*u)          : reverse direction (Na out, Ca and K in)
    ef = exp((eta - 1)*u)    : forward direction (Na in, Ca and K out)
    inckx = imax*(er*n4i*co*kout - ef*n4o*ci*kin)/(((1 + ci)*(1 + kin) + n4i)*((1 + co)*(1 + kout) + n4o)*(1 + ksat*ef))
    ina = 4*inckx
    ica = -2*inckx
    ik = -inckx
}
INCLUDE "thermo.inc"
INCLUDE "pos.inc"
