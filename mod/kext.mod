TITLE kext: extracellular K in a thin space around the membrane, cleared by the bath and by glia

COMMENT
Owns the extracellular K concentration ko of the segment; without kext, ko
stays at its fixed bath value. The extracellular space around the segment
is a shell whose volume is fvol times the segment's intracellular volume
(fvol 0.25: an extracellular volume fraction of 0.2, Sykova & Nicholson
2008, Physiol Rev 88:1277). Three processes change ko:

    d(ko)/dt = ik (area/vol_out)/F                 outward K current fills the space
             - (ko - kb)/taub                      exchange with the bath (diffusion)
             - vglia (ko/(ko + kmg) - kb/(kb + kmg))   net glial uptake (saturating)

with area/vol_out = 4/(fvol diam) for a cylinder. Glial uptake is
Michaelis-Menten in ko, saturates at high ko, is zero at the bath level and
releases K back when ko falls below it (net uptake and release through
Na/K-ATPase and Kir4.1 in astrocytes; Kofuji & Newman 2004, Neuroscience
129:1045). No term can push ko below zero: at ko = 0 every term is >= 0.
Defaults give a linearised clearance time constant of about 2 s together
with bath exchange (taub 10 s), and a maximal net glial uptake of a few
mM/s (order of magnitude of Kager et al. 2000, J Neurophysiol 84:495).

kb is the bath concentration: kbath if kbath > 0, otherwise the value of ko
at initialisation (ko0_k_ion, set by ionhomeo's defaults).
Extracellular diffusion along the cell is not modelled.

Geometry: the intracellular volume is the cylinder PI diam^2/4 L/nseg
(as in the owners nadyn, kdyn, cldyn, cadyn) and the membrane area
NEURON's own segment area, through afac = area/(PI diam L/nseg), set at
every finitialize by ionhomeo_defaults.hoc's handler (0 until then, when
INITIAL uses the cylinder's 1). That handler also starts ko at the global
ko0_k_ion before INITIAL (kbath, if set, then overrides it).

Reads: ik.  Writes: ko.  CoreNEURON: compatible.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX kext
    USEION k READ ik WRITE ko
    RANGE afac, fvol, taub, vglia, kmg, kbath, kb
}

UNITS {
    (mA) = (milliamp)
    (mM) = (milli/liter)
    (um) = (micron)
    : 1e4 coulomb per mole: ik (mA/cm2) * 4/(diam (um) * FARADAY) is mM/ms
    FARADAY = (faraday) (10000 coulomb)
}

PARAMETER {
    afac = 0 (1) <0, 1e3>      : NEURON's segment area / cylinder area (set by ionhomeo_defaults.hoc)
    fvol = 0.25 (1) <1e-6, 1e6>     : extracellular shell volume / intracellular volume
    taub = 10000 (ms) <1e-3, 1e12>  : exchange time constant with the bath
    vglia = 0.008 (mM/ms) <0, 1e3>  : maximal net glial uptake rate
    kmg = 5 (mM) <1e-6, 1e4>        : half-saturating ko for glial uptake
    kbath = 0 (mM) <0, 1e4>         : bath K; 0 means the initial ko
}

ASSIGNED {
    diam (um)
    ik (mA/cm2)
    kb (mM)  : bath K in use
}

STATE {
    ko (mM) <1e-6>
}

INITIAL {
    if (afac <= 0) {
        afac = 1  : no defaults handler: the cylinder
    }
    if (kbath > 0) {
        ko = kbath
    }
    kb = ko
}

BREAKPOINT {
    SOLVE space METHOD derivimplicit
}

DERIVATIVE space {
    ko' = 4*ik*afac/(FARADAY*fvol*diam) - (ko - kb)/taub - vglia*(ko/(ko + kmg) - kb/(kb + kmg))
}
