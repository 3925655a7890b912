TITLE cabuf: cytosolic free Ca with one immobile endogenous buffer and diffusion (the lean Ca owner)

COMMENT
Owns the cytosolic free calcium concentration cai, as cadyn does, for cells
that need only the generic endogenous buffer: three states (cai, b, cab)
instead of cadyn's twelve, one of which diffuses. With cadyn's calbindin,
parvalbumin and dye totals at zero and its buffer immobile (diffb = 0,
cadyn's default), the two give the same cai, catot and kappa (the tests
compare them); cabuf is several times cheaper to integrate. Use cadyn for
calbindin, parvalbumin, an indicator dye or a mobile generic buffer. Insert
one of the two in a section, never both (NEURON allows one writer of cai).

Everything else that moves Ca contributes a current:

  ica    plasma-membrane Ca current (channels, leaks, PMCA, NCX), outward > 0
  icaer  Ca leaving the ER lumen into the cytosol (serca, erleak, ip3r, ryr)
  icamt  Ca leaving the mitochondrial matrix into the cytosol (mcu, nclx)

icaer and icamt are the organelle pools' bookkeeping currents (er.mod,
mito.mod), densities per cylinder area that never change v:

  d(cai)/dt = (-ica afac + icaer + icamt) (4/diam)/(2F) - binding + diffusion

Generic endogenous buffer B (cai + B <-> CaB), set either by its total btot
and KD kdb, or by its capacity: if kappab > 0, btot is chosen at
initialisation so that the capacity btot kdb/(kdb + cai)^2 at the initial
cai equals kappab. Default btot 1 mM with KD 10 uM and kon 5e8 /M/s gives
kappa = 98 at 100 nM: endogenous capacities of 100-150 (layer 5 apical
dendrites; Helmchen, Imoto & Sakmann 1996, Biophys J 70:1069) and 44-80 (CA1
dendrites; Maravall et al. 2000, Biophys J 78:2655). Binding is
microseconds-fast, so it is solved implicitly with cai in the KINETIC block.
The buffer is immobile (bound to the cytoskeleton and organelles); free Ca
diffuses with D = 0.22 um2/ms (Allbritton, Meyer & Stryer 1992, Science
258:1812).

Reported: catot (free + bound, mM) and kappa (the equilibrium capacity at
the present cai), computed as in cadyn (they can lag by one fixed step).

Positivity: the rate laws of ionhomeo's Ca mechanisms vanish at zero
concentration, so NEURON's solver never has to clip a state at zero.

Initialisation: the buffer at equilibrium with the initial cai.
Initial value: at every finitialize, ionhomeo_defaults.hoc's handler
starts cai in each segment at this segment's cai0 if that is >= 0 (a
RANGE parameter: cai0_cabuf(x) in hoc), otherwise at the ion's global
cai0_ca_ion; a value set on the segment itself before its first
finitialize is adopted, as for cadyn (see ionhomeo_defaults.hoc). Without
the defaults file, NEURON starts cai at the global (its built-in value
unless set) and INITIAL warns once; it also warns once if celsius is
NEURON's 6.3 degC.

Geometry (the volume convention): the segment's volume is the cylinder of
its diameter, PI diam^2/4 L/nseg, the volume LONGITUDINAL_DIFFUSION uses
(COMPARTMENT below). The membrane area is NEURON's own segment area
(area(x), frusta for 3-D points), the area with which NEURON turned ica
into charge; it enters as afac = area/(PI diam L/nseg), set in every
segment at every finitialize by ionhomeo_defaults.hoc's handler (without
it, afac stays 0 until INITIAL, which uses the cylinder, 1, and says so
once). The organelle currents are converted with the cylinder area, as er
and mito do, so every ion leaving a lumen arrives in the cytosol.

Reads: ica, icaer, icamt.  Writes: cai.
CVODE: atolscale the states (ionhomeo.solver does); absolute tolerances
in mM. CoreNEURON: see cadyn.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX cabuf
    USEION ca READ ica WRITE cai VALENCE 2
    USEION caer READ icaer VALENCE 2
    USEION camt READ icamt VALENCE 2
    RANGE afac, cai0, jorg, jmem, btot, kdb, kappab, catot, kappa
    GLOBAL D, konb, warndefaults, warncelsius
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
}

INITIAL {
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
    totals()
}

PROCEDURE starting() {
    : cai was set before this block (see COMMENT: Initial value)
    if (afac <= 0) {
        : ionhomeo_defaults.hoc's handler has not run for this segment
        afac = 1
        if (warndefaults == 0) {
            warndefaults = 1
            printf("cabuf: ionhomeo_defaults.hoc was not loaded: cai starts at %g mM (NEURON's value, not ionhomeo's default) and Ca currents become ions with a cylinder's area instead of NEURON's. Load it before finitialize (hoc: load_file with that name; Python: ionhomeo.defaults.apply())\n", cai/(1 (mM)))
        }
    }
    if (celsius == 6.3 && warncelsius == 0) {
        warncelsius = 1
        printf("cabuf: celsius is 6.3 degC, NEURON's default: ionhomeo's rates and defaults are for 37 degC (ionhomeo_defaults.hoc sets it); set celsius to your preparation's temperature\n")
    }
}

BREAKPOINT {
    SOLVE conc METHOD sparse
    totals()
}

KINETIC conc {
    LOCAL vol
    : cytosolic volume per unit length (um2); reaction fluxes are amounts
    : per unit length, hence the factor vol on both rate constants
    vol = PI*diam*diam/4
    COMPARTMENT PI*diam*diam/4 {cai b cab}
    LONGITUDINAL_DIFFUSION D*PI*diam*diam/4 {cai}
    : plasma-membrane and organelle fluxes per unit length, both through
    : ASSIGNED variables as in cadyn: a current written in the flux of a
    : diffusing ion gives CVODE a Jacobian guess that NEURON applies to cai
    : alone, after this block's solve, and that drives cai and the buffer
    : apart until CVODE fails (see cadyn.mod)
    jmem = -ica*afac*PI*diam/(2*FARADAY)
    ~ cai << (jmem)
    jorg = (icaer + icamt)*PI*diam/(2*FARADAY)
    ~ cai << (jorg)
    ~ cai + b <-> cab (konb*vol, konb*kdb*vol)
    totals()
}

PROCEDURE totals() {
    catot = cai + cab
    if (cai > 0) {
        kappa = btot*kdb/((kdb + cai)*(kdb + cai))
    } else {
        kappa = btot/kdb
    }
}
