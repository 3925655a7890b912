TITLE pmca: plasma-membrane Ca-ATPase with calmodulin feedback

COMMENT
The plasma-membrane Ca pump: high affinity, low capacity, one Ca out per
ATP. Its Ca-calmodulin feedback raises both affinity and maximal rate, with
its own slow time course (a "memory" of recent Ca signals).

    ipmca = imax * (1 + (vfac - 1) f) * c/(c + km) * tanh(-dG/(2RT))
    km = km0 + (km1 - km0) f,       f = camfb * cam
    dG = dgatp + RT ln(cao/cai) - 2 F v                          (Ca out)
         + nh (RT ln(10) (pho - phi) + F v)                     (nh H+ in)
                                                  (kJ/mol per cycle)
    dcam/dt = kon A(c) (1 - cam) - koff cam,    A(c) = c^4/(c^4 + kcam^4)

c = cai; ica = ipmca (outward Ca current, 2 charges per Ca). Hill
coefficient 1; km0 0.3 uM without and km1 0.1 uM with Ca-calmodulin bound
(K_m 0.1-0.3 uM; Carafoli 1991, Physiol Rev 71:129; Penniston & Enyedi
1998), vfac 2 (Ca-calmodulin about doubles Vmax). Ca-calmodulin formation
needs four Ca with an apparent K about 1 uM (kcam): at 100 nM the
activation A is 1e-4 and the bound fraction kon A/(kon A + koff) 2.5e-3,
which changes the pump rate by about 0.3 %: the feedback is nearly silent
at rest. Binding
is fast and unbinding slow (kon 0.5 /s at saturating Ca, koff 0.02 /s:
activation within seconds and a memory of about a minute, the PMCA2b/4a
pattern described by Caride et al. 2001, J Biol Chem 276:39797).
camfb = 0 switches the feedback off (cam still evolves, without effect).

H+ counter-transport (nh, GLOBAL, 0..2): the PMCA takes up H+ in exchange
for Ca. With nh = 0 (the default, the model of every ionhomeo release so
far) it is electrogenic, 2 charges out per Ca. Thomas 2009 (J Physiol
587:315) measured 1 Ca : 2 H+ in snail neurones, with extrusion insensitive
to membrane potential: nh = 2, electroneutral. The cytosolic pH is not
modelled: at a steady pH the H+ taken up is extruded again by the Na/H
exchanger (1 Na in per H+ out, driven by the Na gradient), so each cycle
also brings nh Na into the cell, ina = -(nh/2) ipmca. The membrane then
carries (1 - nh/2) ipmca in all, and the Na/K pump pays for the H+. During
fast transients this lumping puts the Na entry at the time of pumping
rather than over the minutes of pH recovery. phi and pho (7.2, 7.4) enter
only the free energy (a 2 x 0.2 pH unit gradient is worth 2.4 kJ/mol at
37 C). The lumping assumes forward pumping: with the pump reversed
(ipmca < 0: at rest when dgatp is raised above about -40 kJ/mol, or at
sub-nanomolar cai) it
has Na leave the cell, i.e. the Na/H exchange running backwards, which its
Na gradient would not drive; do not use nh > 0 with a reversed PMCA.
(nh here counts protons; in serca.mod nh is a Hill coefficient.)

Thermodynamics: the factor is zero exactly at dG = 0
(ionhomeo.thermo.pmca_free_energy, pmca_reversal) and reverses the pump
beyond. It and c/(c + km) vanish at cai = 0, so the pump cannot drive cai
below zero.

imax 2e-3 mA/cm2: the pump current near rest is then about 0.5 uA/cm2
(a quarter of imax at 100 nM). Balanced at rest by caleak.

ATP: dgatp is also a parameter of nakpump and serca; the three
are separate GLOBALs, so change them together for an energy failure
(ionhomeo.calcium.set_atp_free_energy does).

Reads: cai, cao, v.  Writes: ica, ina (zero with nh = 0).  CoreNEURON: compatible.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX pmca
    USEION ca READ cai, cao WRITE ica
    USEION na WRITE ina
    RANGE imax, camfb, ipmca
    GLOBAL km0, km1, vfac, kcam, kon, koff, dgatp, nh, phi, pho
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (mM) = (milli/liter)
    (um) = (micron)
    (kJ) = (kilojoule)
    : 1e4 coulomb per mole, the one convention of every ionhomeo mod file
    FARADAY = (faraday) (10000 coulomb)
    : Faraday constant per mole, so that a free energy (kJ/mole)/FMOL is in kV
    FMOL = (faraday/mole) (coulomb/mole)
    R = (k-mole) (joule/degC)
}

PARAMETER {
    imax = 0.002 (mA/cm2) <0, 1e3>     : maximal pump current without calmodulin
    km0 = 0.0003 (mM) <1e-9, 1e3>      : K_m without Ca-calmodulin
    km1 = 0.0001 (mM) <1e-9, 1e3>      : K_m with Ca-calmodulin bound
    vfac = 2 (1) <0, 100>              : Vmax ratio with / without Ca-calmodulin
    kcam = 0.001 (mM) <1e-9, 1e3>      : apparent Ca affinity of calmodulin
    kon = 0.5 (/s) <0, 1e6>            : Ca-calmodulin binding rate (saturating Ca)
    koff = 0.02 (/s) <0, 1e6>          : Ca-calmodulin unbinding rate
    camfb = 1 (1) <0, 1>               : 1: feedback on; 0: off
    dgatp = -55 (kJ/mole) <-100, 0>    : free energy of ATP hydrolysis
    nh = 0 (1) <0, 2>                  : H+ taken up per Ca (0 electrogenic, 2 electroneutral)
    phi = 7.2 (1) <4, 10>              : cytosolic pH (free energy only)
    pho = 7.4 (1) <4, 10>              : extracellular pH (free energy only)
}

ASSIGNED {
    v (mV)
    diam (um)
    celsius (degC)
    cai (mM)
    cao (mM)
    ica (mA/cm2)
    ina (mA/cm2)
    ipmca (mA/cm2)  : Ca current of the pump (outward, 2 charges per Ca)
}

STATE {
    cam (1)  : fraction of pumps with Ca-calmodulin bound
}

INITIAL {
    LOCAL a
    a = kon*act(pos(cai))
    if (a + koff > 0) {
        cam = a/(a + koff)
    } else {
        cam = 0
    }
}

BREAKPOINT {
    LOCAL c, f, x
    SOLVE calmodulin METHOD cnexp
    c = pos(cai)
    f = camfb*cam
    : dG/RT; (1e6)*dgatp/FMOL is dgatp/F in mV
    x = ((1e6)*dgatp/FMOL - (2 - nh)*v)/rtf() + log(pos(cao)/c) + nh*log(10)*(pho - phi)
    ipmca = imax*(1 + (vfac - 1)*f)*c/(c + km0 + (km1 - km0)*f)*tanh(-x/2)
    ica = ipmca
    ina = -nh*ipmca/2
}

DERIVATIVE calmodulin {
    : (0.001): rates per second, time in ms
    cam' = (0.001)*(kon*act(pos(cai))*(1 - cam) - koff*cam)
}

FUNCTION act(c (mM)) (1) {
    LOCAL u
    u = (c/kcam)^4
    act = u/(u + 1)
}
INCLUDE "thermo.inc"
INCLUDE "pos.inc"
