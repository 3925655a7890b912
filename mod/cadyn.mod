TITLE cadyn: cytosolic free Ca with buffers (endogenous, calbindin, parvalbumin, indicator) and diffusion

COMMENT
Owns the cytosolic free calcium concentration cai: the one mechanism in a
segment that WRITEs it. Everything else that moves Ca contributes a current:

  ica    plasma-membrane Ca current (channels, leaks, PMCA, NCX), outward > 0
  icaer  Ca leaving the ER lumen into the cytosol (serca, erleak, ip3r, ryr)
  icamt  Ca leaving the mitochondrial matrix into the cytosol (mcu, nclx)

icaer and icamt are bookkeeping currents of the organelle "ions" caer and
camt (see er.mod and mito.mod); the mechanisms that write them cancel them
with an equal and opposite NONSPECIFIC_CURRENT, so they never change v. All
three are densities per area of plasma membrane and are converted to flux
with the same cylinder geometry here and in the organelle pools:

  d(cai)/dt = (-ica + icaer + icamt) (area/volume)/(2F) - binding + diffusion

area/volume = 4/diam (cylinder, the convention of NEURON's cadifus).

Buffers bind inside this KINETIC scheme (binding is microseconds-fast, so
it must be solved implicitly together with cai). Each is absent when its
total is zero. Concentrations are per cytosolic volume.

 1. Generic endogenous buffer B (cai + B <-> CaB), set either by its total
    btot and KD kdb, or by its capacity: if kappab > 0, btot is chosen at
    initialisation so that the capacity btot kdb/(kdb + cai)^2 at the initial
    cai equals kappab. Default btot 1 mM with KD 10 uM and kon 5e8 /M/s
    gives kappa = 98 at 100 nM: endogenous capacities of 100-150 (layer 5
    apical dendrites; Helmchen, Imoto & Sakmann 1996, Biophys J 70:1069) and
    44-80 (CA1 dendrites; Maravall et al. 2000, Biophys J 78:2655). A low
    affinity keeps kappa nearly constant over the physiological range, as
    these studies found. Immobile by default (diffb = 0).
 2. Calbindin-D28k, cbtot molecules with 2 high- and 2 medium-affinity
    independent sites: high kon 5.5e6 /M/s, koff 2.6 /s; medium kon
    4.35e7 /M/s, koff 35.8 /s (Nagerl et al. 2000, Biophys J 79:3009, as
    used by Schmidt et al. 2003, J Physiol 551:13); D 20 um2/s (Schmidt et
    al. 2003). About 40-45 uM in hippocampal neurons (Muller et al. 2005).
 3. Parvalbumin pvtot, one class of Ca/Mg sites (sites counted as
    molecules; for 2 sites per molecule give twice the molecule
    concentration) on which Mg competes: Ca kon 1.07e8 /M/s, koff 0.95 /s;
    Mg kon 8.06e5 /M/s, koff 25 /s (KD 31 uM) with free Mg mgi 0.59 mM
    (Lee, Schwaller & Neher 2000, J Physiol 525:419, who assumed 0.14 mM
    free Mg; 0.59 mM as in Schmidt et al. 2003); D 43 um2/s.
 4. Indicator dye (dyetot): defaults for fura-2, KD 224 nM at 37 C
    (Grynkiewicz et al. 1985, J Biol Chem 260:3440) and kon about 5e8 /M/s
    (BAPTA-type indicators; Kao & Tsien 1988, Biophys J 53:635); D about
    100 um2/s. Change dyekd, dyekon for OGB-1 (KD about 200 nM) or others.

Free Ca diffuses with D = 0.22 um2/ms (Allbritton, Meyer & Stryer 1992,
Science 258:1812); the buffers with their own coefficients (free and bound
forms alike, so a mobile buffer's total stays uniform).

Reported: catot, the total cytosolic Ca (free + bound, mM), and kappa, the
equilibrium buffer capacity d[bound]/d[free] at the present cai. Both are
computed with the states before NEURON's axial-diffusion update of each
fixed step (and, under CVODE, at the last right-hand-side evaluation), so
they can lag by one step; ionhomeo.calcium.content computes exact amounts
from the states. To check
calcium conservation, insert caentry (caentry.mod), which integrates the
plasma-membrane Ca current with the same geometry.

Positivity: NEURON's fixed-step sparse solver sets any state that would go
below zero to zero; mass would then not be conserved, which the
conservation tests would see. The rate laws of ionhomeo's Ca mechanisms
vanish at zero concentration so that this never happens.

Initialisation: every buffer at equilibrium with the initial cai.
Initial value: at every finitialize, ionhomeo_defaults.hoc's handler
starts cai in each segment at this segment's cai0 if that is >= 0 (a
RANGE parameter: cai0_cadyn(x) in hoc), otherwise at the ion's global
cai0_ca_ion. A value set on the segment itself (cai(x) = ..., as
NetPyNE's per-section `ions` do) before the segment's first finitialize,
different from the global and from the value NEURON gives a new segment
(see ionhomeo_defaults.hoc), is adopted as its cai0 (the handler prints
how many were). A type-0 FInitializeHandler created after
ionhomeo's can still change it before INITIAL (ionhomeo's steady-state
start does). Without the defaults file, NEURON starts cai at the
global (its built-in value unless set) and INITIAL warns once; it also
warns once if celsius is NEURON's 6.3 degC.

Geometry (the volume convention): the segment's volume is the cylinder
of its diameter, PI diam^2/4 L/nseg, the volume LONGITUDINAL_DIFFUSION
uses (COMPARTMENT below), so diffusion and membrane flux fill the same
volume. The membrane area is NEURON's own segment area (area(x), from the
3-D points: frusta, including steps in diameter), the area with which
NEURON turned the current density ica into charge. It enters as
afac = area/(PI diam L/nseg), 1 for a cylinder and up to 1.3 in tapered
3-D segments; ionhomeo_defaults.hoc's initialisation handler sets afac in
every segment at every finitialize, in any model (hoc, Python,
BluePyOpt, NetPyNE), so the ions that arrive are exactly the charge that
crossed. Without that file loaded, afac stays 0 until INITIAL, which
uses the cylinder (1) and says so once.
The organelle currents icaer and icamt are densities per cylinder
area and never enter NEURON's charge balance (they are cancelled by
nonspecific currents); er and mito convert them with the same factor
PI diam L/nseg, so every ion leaving a lumen arrives in the cytosol.

Reads: ica, icaer, icamt.  Writes: cai.
CVODE: atolscale the states (ionhomeo.solver does); absolute tolerances
in mM. CoreNEURON: not compatible (LONGITUDINAL_DIFFUSION).
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX cadyn
    USEION ca READ ica WRITE cai VALENCE 2
    USEION caer READ icaer VALENCE 2
    USEION camt READ icamt VALENCE 2
    RANGE afac, cai0, jorg, jmem, btot, kdb, kappab, cbtot, pvtot, dyetot, catot, kappa
    GLOBAL D, konb, diffb, cbkonh, cbkoffh, cbkonm, cbkoffm, diffcb, warndefaults, warncelsius
    GLOBAL pvkonca, pvkoffca, pvkonmg, pvkoffmg, mgi, diffpv, dyekon, dyekd, diffdye
}

UNITS {
    (mM) = (milli/liter)
    (um) = (micron)
    (mA) = (milliamp)
    : 1e4 coulomb per mole: with diam in um and currents in mA/cm2,
    : cur*PI*diam/(2*FARADAY) is a Ca flux in mM*um2/ms per unit length
    FARADAY = (faraday) (10000 coulomb)
    PI = (pi) (1)
}

PARAMETER {
    afac = 0 (1) <0, 1e3>      : NEURON's segment area / cylinder area (set by ionhomeo_defaults.hoc)
    cai0 = -1 (mM) <-1, 1e4>  : initial cai of this segment; < 0: the global cai0_ca_ion
    warndefaults = 0 (1) <0, 1>  : 1 once the missing-defaults warning was printed
    warncelsius = 0 (1) <0, 1>   : 1 once the 6.3 degC warning was printed
    D = 0.22 (um2/ms) <0, 1e3>          : free Ca diffusion coefficient
    btot = 1 (mM) <0, 1e3>              : generic endogenous buffer, total
    kdb = 0.01 (mM) <1e-9, 1e3>         : generic buffer KD
    konb = 500 (/mM-ms) <0, 1e6>        : generic buffer on rate
    kappab = 0 (1) <0, 1e6>             : if > 0: btot set from this capacity at init
    diffb = 0 (um2/ms) <0, 1e3>            : generic buffer diffusion coefficient
    cbtot = 0 (mM) <0, 1e3>             : calbindin-D28k molecules
    cbkonh = 5.5 (/mM-ms) <0, 1e6>      : calbindin high-affinity site on rate
    cbkoffh = 0.0026 (/ms) <0, 1e6>     : calbindin high-affinity site off rate
    cbkonm = 43.5 (/mM-ms) <0, 1e6>     : calbindin medium-affinity site on rate
    cbkoffm = 0.0358 (/ms) <0, 1e6>     : calbindin medium-affinity site off rate
    diffcb = 0.02 (um2/ms) <0, 1e3>        : calbindin diffusion coefficient
    pvtot = 0 (mM) <0, 1e3>             : parvalbumin sites
    pvkonca = 107 (/mM-ms) <0, 1e6>     : parvalbumin Ca on rate
    pvkoffca = 0.00095 (/ms) <0, 1e6>   : parvalbumin Ca off rate
    pvkonmg = 0.806 (/mM-ms) <0, 1e6>   : parvalbumin Mg on rate
    pvkoffmg = 0.025 (/ms) <0, 1e6>     : parvalbumin Mg off rate
    mgi = 0.59 (mM) <0, 100>            : free cytosolic Mg (competes on parvalbumin)
    diffpv = 0.043 (um2/ms) <0, 1e3>       : parvalbumin diffusion coefficient
    dyetot = 0 (mM) <0, 1e3>            : indicator dye total
    dyekon = 500 (/mM-ms) <0, 1e6>      : indicator on rate
    dyekd = 0.000224 (mM) <1e-9, 1e3>   : indicator KD
    diffdye = 0.1 (um2/ms) <0, 1e3>        : indicator diffusion coefficient
}

ASSIGNED {
    celsius (degC)
    diam (um)
    ica (mA/cm2)
    icaer (mA/cm2)
    icamt (mA/cm2)
    catot (mM)   : total cytosolic Ca, free + bound
    kappa (1)    : equilibrium buffer capacity at the present cai
    jorg (mM um2/ms)  : net Ca release from organelles per unit length
    jmem (mM um2/ms)  : net Ca entry across the plasma membrane per unit length
}

STATE {
    cai (mM) <1e-10>
    b (mM) <1e-7>
    cab (mM) <1e-7>
    cbh (mM) <1e-7>
    cacbh (mM) <1e-7>
    cbm (mM) <1e-7>
    cacbm (mM) <1e-7>
    pv (mM) <1e-7>
    capv (mM) <1e-7>
    mgpv (mM) <1e-7>
    dye (mM) <1e-7>
    cadye (mM) <1e-7>
}

INITIAL {
    LOCAL kpv, kmg
    starting()
    if (kappab > 0) {
        btot = kappab*(kdb + cai)*(kdb + cai)/kdb
    }
    : bound forms from their own fraction, not as total minus free: near
    : rest the bound share is small and the difference would carry the
    : round-off of the total, which the fast binding rates turn into a
    : spurious d cai/dt (1.5e-10 /ms relative at 14 nM, above the default
    : tolerance of ionhomeo's whole-cell steady-state solver, 1e-10 /ms)
    b = btot*kdb/(kdb + cai)
    cab = btot*cai/(kdb + cai)
    cbh = 2*cbtot*(cbkoffh/cbkonh)/(cbkoffh/cbkonh + cai)
    cacbh = 2*cbtot*cai/(cbkoffh/cbkonh + cai)
    cbm = 2*cbtot*(cbkoffm/cbkonm)/(cbkoffm/cbkonm + cai)
    cacbm = 2*cbtot*cai/(cbkoffm/cbkonm + cai)
    kpv = cai*pvkonca/pvkoffca
    kmg = mgi*pvkonmg/pvkoffmg
    pv = pvtot/(1 + kpv + kmg)
    capv = pv*kpv
    mgpv = pv*kmg
    dye = dyetot*dyekd/(dyekd + cai)
    cadye = dyetot*cai/(dyekd + cai)
    totals()
}

PROCEDURE starting() {
    : cai was set before this block (see COMMENT: Initial value)
    if (afac <= 0) {
        : ionhomeo_defaults.hoc's handler has not run for this segment
        afac = 1
        if (warndefaults == 0) {
            warndefaults = 1
            printf("cadyn: ionhomeo_defaults.hoc was not loaded: cai starts at %g mM (NEURON's value, not ionhomeo's default) and Ca currents become ions with a cylinder's area instead of NEURON's. Load it before finitialize (hoc: load_file with that name; Python: ionhomeo.defaults.apply())\n", cai/(1 (mM)))
        }
    }
    if (celsius == 6.3 && warncelsius == 0) {
        warncelsius = 1
        printf("cadyn: celsius is 6.3 degC, NEURON's default: ionhomeo's rates and defaults are for 37 degC (ionhomeo_defaults.hoc sets it); set celsius to your preparation's temperature\n")
    }
}

BREAKPOINT {
    SOLVE conc METHOD sparse
    totals()
}

KINETIC conc {
    LOCAL vol
    : cytosolic volume per unit length (um2); reaction fluxes are amounts
    : per unit length, hence the factor vol on every rate constant
    vol = PI*diam*diam/4
    COMPARTMENT PI*diam*diam/4 {cai b cab cbh cacbh cbm cacbm pv capv mgpv dye cadye}
    LONGITUDINAL_DIFFUSION D*PI*diam*diam/4 {cai}
    LONGITUDINAL_DIFFUSION diffb*PI*diam*diam/4 {b cab}
    LONGITUDINAL_DIFFUSION diffcb*PI*diam*diam/4 {cbh cacbh cbm cacbm}
    LONGITUDINAL_DIFFUSION diffpv*PI*diam*diam/4 {pv capv mgpv}
    LONGITUDINAL_DIFFUSION diffdye*PI*diam*diam/4 {dye cadye}
    : plasma-membrane and organelle fluxes per unit length, both through
    : ASSIGNED variables (jmem, jorg) rather than written with the currents
    : in the flux. Written with ica, the flux of a diffusing ion makes nocmodl
    : add a Jacobian guess for CVODE, dica/dv times the Nernst slope
    : RT/(2F cai), that NEURON applies to cai alone in a solve after this
    : block's own (ldifus.cpp, after the KINETIC matrix): each Newton update
    : of cai is then shrunk by 1/(1 + gamma*that rate) while b and cab keep
    : theirs, which throws the microsecond buffer equilibrium out by about
    : the size of the update. Measured in a 20 um soma with pmca, ncx and the
    : Na/K pump off (NCX dica/dv -1.9e-5 mA/cm2/mV at -89 mV: a rate of
    : 0.008 /ms, so the shrinking dominates once CVODE's steps pass ~120
    : ms): the free Ca left its buffer equilibrium by 8e-9 mM, 8 times its
    : tolerance, and CVODE stopped with repeated error-test failures at
    : 3950 s (rtol 1e-6: 140 s). The guess is poor for pumps and GHK leaks
    : anyway (their dica/dcai is not dica/dv times the Nernst slope). The
    : flux is the same number either way, so fixed steps are unchanged.
    jmem = -ica*afac*PI*diam/(2*FARADAY)
    ~ cai << (jmem)
    jorg = (icaer + icamt)*PI*diam/(2*FARADAY)
    ~ cai << (jorg)
    ~ cai + b <-> cab (konb*vol, konb*kdb*vol)
    ~ cai + cbh <-> cacbh (cbkonh*vol, cbkoffh*vol)
    ~ cai + cbm <-> cacbm (cbkonm*vol, cbkoffm*vol)
    ~ cai + pv <-> capv (pvkonca*vol, pvkoffca*vol)
    ~ pv <-> mgpv (pvkonmg*mgi*vol, pvkoffmg*vol)
    ~ cai + dye <-> cadye (dyekon*vol, dyekon*dyekd*vol)
    : reported totals follow the states under CVODE too (this block is what
    : CVODE evaluates; BREAKPOINT code after SOLVE runs only at fixed step)
    totals()
}

PROCEDURE totals() {
    catot = cai + cab + cacbh + cacbm + capv + cadye
    : parvalbumin's apparent Ca KD is raised by Mg competition
    kappa = cap(btot, kdb) + cap(2*cbtot, cbkoffh/cbkonh) + cap(2*cbtot, cbkoffm/cbkonm)
    kappa = kappa + cap(pvtot, (pvkoffca/pvkonca)*(1 + mgi*pvkonmg/pvkoffmg)) + cap(dyetot, dyekd)
}

FUNCTION cap(total (mM), kd (mM)) (1) {
    : equilibrium capacity d[bound]/d[free] of one buffer at the present cai
    : (cai floored at 0)
    if (cai > 0) {
        cap = total*kd/((kd + cai)*(kd + cai))
    } else {
        cap = total/kd
    }
}
