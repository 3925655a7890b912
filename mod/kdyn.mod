TITLE kdyn: intracellular K concentration driven by membrane currents, with longitudinal diffusion

COMMENT
Owns the intracellular potassium concentration ki: the one mechanism in a
segment that WRITEs it (NEURON allows one writer per concentration). Every
other mechanism that moves K (channels, leaks, pumps, cotransporters,
synapses) contributes through its current ik, which NEURON sums; this
mechanism converts the summed current to a flux:

    d(ki)/dt = -ik * (area/volume) / (z F)  +  axial diffusion

with area/volume of a cylinder (PI diam L / (PI diam^2 L/4)), the same
convention as NEURON's own cadifus examples. An inward ik (negative, NEURON convention) is K entering the cell and raises ki.

Axial diffusion between neighbouring segments uses LONGITUDINAL_DIFFUSION
with cross-section PI diam^2/4 and diffusion coefficient D. Default D is the
aqueous self-diffusion coefficient of K at infinite dilution (Hille,
Ion Channels of Excitable Membranes, 3rd ed. 2001, table 14.1; Cl in
neuronal cytoplasm measured at about 2 um2/ms, Kuner & Augustine 2000).
Set D = 0 to switch diffusion off.

Initial value: at every finitialize, ionhomeo_defaults.hoc's handler
starts ki in each segment at this segment's ki0 if that is >= 0 (a
RANGE parameter: ki0_kdyn(x) in hoc), otherwise at the ion's global
ki0_k_ion. A value set on the segment itself (ki(x) = ..., as
NetPyNE's per-section `ions` do) before the segment's first finitialize,
different from the global and from the value NEURON gives a new segment
(see ionhomeo_defaults.hoc), is adopted as its ki0 (the handler prints
how many were). A type-0 FInitializeHandler created after
ionhomeo's can still change it before INITIAL (ionhomeo's steady-state
start does). Without the defaults file, NEURON starts ki at the
global (its built-in value unless set) and INITIAL warns once; it also
warns once if celsius is NEURON's 6.3 degC.
The extracellular concentration is not touched (see kext).

Geometry (the volume convention): the segment's volume is the cylinder
of its diameter, PI diam^2/4 L/nseg, the volume LONGITUDINAL_DIFFUSION
uses (COMPARTMENT below), so diffusion and membrane flux fill the same
volume. The membrane area is NEURON's own segment area (area(x), from the
3-D points: frusta, including steps in diameter), the area with which
NEURON turned the current density ik into charge. It enters as
afac = area/(PI diam L/nseg), 1 for a cylinder and up to 1.3 in tapered
3-D segments; ionhomeo_defaults.hoc's initialisation handler sets afac in
every segment at every finitialize, in any model (hoc, Python,
BluePyOpt, NetPyNE), so the ions that arrive are exactly the charge that
crossed. Without that file loaded, afac stays 0 until INITIAL, which
uses the cylinder (1) and says so once.

Reads: ik.  Writes: ki.
CVODE: the STATE tolerance below is an absolute tolerance in mM.
CoreNEURON: not compatible (LONGITUDINAL_DIFFUSION).
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX kdyn
    USEION k READ ik WRITE ki
    GLOBAL D, warndefaults, warncelsius
    RANGE afac, ki0
}

UNITS {
    (mM) = (milli/liter)
    (um) = (micron)
    (mA) = (milliamp)
    : 1e4 coulomb per mole: with diam in um and currents in mA/cm2 this makes
    : cur*PI*diam/FARADAY a flux in mM*um2/ms per unit length
    FARADAY = (faraday) (10000 coulomb)
    PI = (pi) (1)
}

PARAMETER {
    afac = 0 (1) <0, 1e3>      : NEURON's segment area / cylinder area (set by ionhomeo_defaults.hoc)
    ki0 = -1 (mM) <-1, 1e4>  : initial ki of this segment; < 0: the global ki0_k_ion
    warndefaults = 0 (1) <0, 1>  : 1 once the missing-defaults warning was printed
    warncelsius = 0 (1) <0, 1>   : 1 once the 6.3 degC warning was printed
    D = 1.96 (um2/ms) <0, 1e3>  : axial diffusion coefficient
}

ASSIGNED {
    celsius (degC)
    diam (um)
    ik (mA/cm2)
}

STATE {
    ki (mM) <1e-6>
}

INITIAL {
    : ki was set before this block (see COMMENT: Initial value)
    if (afac <= 0) {
        : ionhomeo_defaults.hoc's handler has not run for this segment
        afac = 1
        if (warndefaults == 0) {
            warndefaults = 1
            printf("kdyn: ionhomeo_defaults.hoc was not loaded: ki starts at %g mM (NEURON's value, not ionhomeo's default) and K currents become ions with a cylinder's area instead of NEURON's. Load it before finitialize (hoc: load_file with that name; Python: ionhomeo.defaults.apply())\n", ki/(1 (mM)))
        }
    }
    if (celsius == 6.3 && warncelsius == 0) {
        warncelsius = 1
        printf("kdyn: celsius is 6.3 degC, NEURON's default: ionhomeo's rates and defaults are for 37 degC (ionhomeo_defaults.hoc sets it); set celsius to your preparation's temperature\n")
    }
}

BREAKPOINT {
    SOLVE conc METHOD sparse
}

KINETIC conc {
    : volume per unit length (um2) and axial cross-section (um2)
    COMPARTMENT PI*diam*diam/4 {ki}
    LONGITUDINAL_DIFFUSION D*PI*diam*diam/4 {ki}
    : membrane flux per unit length, from the summed K current
    ~ ki << (-ik*afac*PI*diam/FARADAY)
}
