TITLE nakpump: Na/K-ATPase, 3 Na out : 2 K in per ATP, electrogenic

COMMENT
The sodium pump. Each cycle hydrolyses one ATP, moves 3 Na+ out and 2 K+ in,
and so carries one net positive charge outward.

    ipump = imax * avail * sNa * sK * fthermo          (mA/cm2, outward)
    ina   = +3 ipump        ik = -2 ipump              (ina/ik = -3/2 exactly)

Saturation, sequential binding of three internal Na and two external K
(form of Kager, Wadman & Somjen 2000, J Neurophysiol 84:495):
    sNa = (nai/(nai + kmna))^3        sK = (ko/(ko + kmk))^2
Both vanish at zero concentration, so the pump can never drive nai or ko
below zero.

Thermodynamics: with dGc the free energy of one forward cycle,
    dGc = dGatp + 3 [RT ln(nao/nai) - F v] + 2 [RT ln(ki/ko) + F v]
the factor fthermo = tanh(-dGc/(2RT)) = (1 - exp(dGc/RT))/(1 + exp(dGc/RT))
is zero exactly at thermodynamic equilibrium (dGc = 0), positive (forward)
when the cycle is downhill and negative (reverse pumping) when uphill; its
magnitude never exceeds 1, so imax stays the bound on the turnover. Under
resting conditions dGc is about -11 kJ/mol and fthermo about 0.97. The pump
reverses at v = [dGatp + 3RT ln(nao/nai) + 2RT ln(ki/ko)]/F, about -180 mV
with the defaults (ionhomeo.thermo.nak_atpase_reversal).

avail (0..1) is the fraction of pumps running: 0 models complete block by
ouabain or loss of ATP; set dgatp towards 0 to model a failing energy supply.

Defaults: kmna 10 mM, kmk 2 mM per site (Kager et al. 2000; the reference
Km(Nai) 10-20 mM and Km(Ko) 1.5-2 mM bracket them); dGatp -55 kJ/mol, a
typical cytosolic value (-50 to -60 kJ/mol; Nicholls & Ferguson,
Bioenergetics 4, 2013); imax sets the resting pump current near 0.3 uA/cm2
with the default leaks, balancing the resting Na influx.

ATP: serca and pmca have their own dgatp; change all three together
(ionhomeo.calcium.set_atp_free_energy does).

Reads: nai, nao, ki, ko, v.  Writes: ina, ik.  CoreNEURON: compatible.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX nakpump
    USEION na READ nai, nao WRITE ina
    USEION k READ ki, ko WRITE ik
    RANGE imax, avail, ipump, dgc
    GLOBAL kmna, kmk, dgatp
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (mM) = (milli/liter)
    (kJ) = (kilojoule)
    FARADAY = (faraday) (10000 coulomb)
    : Faraday constant per mole, so that a free energy (kJ/mole)/FMOL is in kV
    FMOL = (faraday/mole) (coulomb/mole)
    R = (k-mole) (joule/degC)
}

PARAMETER {
    imax = 0.004 (mA/cm2) <0, 1e3>   : maximal net pump current density
    avail = 1 (1) <0, 1>             : fraction of pumps available
    kmna = 10 (mM) <1e-6, 1e4>       : internal Na dissociation constant, per site
    kmk = 2 (mM) <1e-6, 1e4>         : external K dissociation constant, per site
    dgatp = -55 (kJ/mole) <-100, 0>  : free energy of ATP hydrolysis
}

ASSIGNED {
    v (mV)
    celsius (degC)
    nai (mM)
    nao (mM)
    ki (mM)
    ko (mM)
    ina (mA/cm2)
    ik (mA/cm2)
    ipump (mA/cm2)  : net outward pump current (one charge per cycle)
    dgc (mV)        : free energy of one forward cycle divided by F
}

BREAKPOINT {
    LOCAL sna, sk
    : dgatp (kJ/mol) / F (C/mol) is in kV; (1e6) converts kV to mV
    dgc = (1e6)*dgatp/FMOL + 3*(rtf()*log(pos(nao)/pos(nai)) - v) + 2*(rtf()*log(pos(ki)/pos(ko)) + v)
    sna = pos(nai)/(pos(nai) + kmna)
    sk = pos(ko)/(pos(ko) + kmk)
    ipump = imax*avail*sna*sna*sna*sk*sk*tanh(-dgc/(2*rtf()))
    ina = 3*ipump
    ik = -2*ipump
}

INCLUDE "thermo.inc"
INCLUDE "pos.inc"
