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
            / [(1 + Ni^4 + Ci Ki)(1 + No^4 + Co Ko)(1 + ksat exp((eta-1) u))]
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
the lowest Ca it can pump down to. The denominator is positive
and only scales the rate (a binding polynomial for the inner sites, one for
the outer sites, both with the same constants, and the voltage saturation
of Luo & Rudy 1994, Circ Res 74:1071, used by ncx.mod).

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
      J Neurosci 22:6891, their Fig. 5), where about 90 % of Na/Ca
      exchange is K-dependent and NCKX2 is expressed (Kim et al. 2003,
      J Neurosci 23:11673).
  kca 5 uM: chosen (a modelling choice, not a measurement) so that the
      apparent cytosolic Ca affinity in forward mode at rest, the cai of
      half-maximal extrusion, kca (1 + (nai/kna)^4) kk/ki, is 1.08 uM at
      nai 9 mM, ki 140 mM: in the low-micromolar range measured for NCKX,
      K_1/2 1.1 uM for cytosolic Ca of rod NCKX1 (Schnetkamp et al. 1991,
      as fitted by Gross et al. 2012, Neuron 76:370, their Table 2), and
      half-maximal reverse-mode Ca influx of rod NCKX1 at external Ca
      0.9 uM without and 3.5 uM with 10 mM external Na (Schnetkamp et al.
      1995, Am J Physiol 269:C1153); cone NCKX2's dependence on internal
      Ca, external Na and external K was very similar to rod NCKX1's
      (Sheng et al. 2000, Biophys J 79:1945). No measurement of NCKX2's
      cytosolic Ca affinity in neurons is used. Thermodynamics needs the
      same constants on both sides only in the numerator; using them in
      the denominator too is a modelling choice.
  eta 0.35, ksat 0.1: the voltage dependence of ncx.mod (Luo & Rudy 1994);
      no NCKX2 current-voltage relation was used (a modelling choice).
  imax 6e-4 mA/cm2: a modelling choice. At -62 mV, 34 C, nai 9 mM and
      ko 4 mM the exchanger then carries 0.76 uA/cm2 of Ca current at
      1 uM cai, about what ncx.mod's default density carries there (0.72),
      and 0.13 uA/cm2 at 100 nM (ncx: 0.016; NCKX's higher affinity).
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
    imax = 6e-4 (mA/cm2) <0, 1e3>     : scale of the exchange current
    kna = 58 (mM) <1e-6, 1e4>         : Na dissociation constant (both sides)
    kca = 0.005 (mM) <1e-9, 1e3>      : Ca dissociation constant (both sides)
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
    inckx = imax*(er*n4i*co*kout - ef*n4o*ci*kin)/((1 + n4i + ci*kin)*(1 + n4o + co*kout)*(1 + ksat*ef))
    ina = 4*inckx
    ica = -2*inckx
    ik = -inckx
}
INCLUDE "thermo.inc"
INCLUDE "pos.inc"
