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

The initial value is the ion's global initial concentration (ki0_k_ion,
set by ionhomeo_defaults.hoc or ionhomeo.defaults), or whatever a type-0
FInitializeHandler created after ionhomeo's writes before INITIAL
(ionhomeo's steady-state start).
The extracellular concentration is not touched (see kext).

Membrane area: NEURON turns a current density into charge with the
segment's own area, which for a tapered or 3-D segment differs from the
cylinder's PI diam L/nseg used here (by 28 % in the neck of the bundled
boutons). afac (the ratio of the two, 1 for a cylinder) scales the membrane
flux so that the ions that arrive are exactly the charge that crossed;
ionhomeo.cell.Cell sets it in every segment.

Reads: ik.  Writes: ki.
CVODE: the STATE tolerance below is an absolute tolerance in mM.
CoreNEURON: not compatible (LONGITUDINAL_DIFFUSION).
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX kdyn
    USEION k READ ik WRITE ki
    GLOBAL D
    RANGE afac
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
    afac = 1 (1) <1e-3, 1e3>   : segment area / cylinder area (set by ionhomeo.cell)
    D = 1.96 (um2/ms) <0, 1e3>  : axial diffusion coefficient
}

ASSIGNED {
    diam (um)
    ik (mA/cm2)
}

STATE {
    ki (mM) <1e-6>
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
