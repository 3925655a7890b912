TITLE er: endoplasmic-reticulum Ca pool (luminal free Ca with a luminal buffer)

COMMENT
The ER lumen as a Ca pool. It is represented as its own ion species,
caer (valence 2), whose "inside" concentration caeri is the free luminal
Ca; this mechanism is its one writer. The ER occupies a volume fraction fer
of the cytosolic volume of each segment (reference: 10 %).

ER transporters (serca, erleak, ip3r, ryr) report the Ca they move as the
current icaer, a density per area of plasma membrane: icaer > 0 is Ca
leaving the lumen into the cytosol. cadyn reads the same current, and both
convert it with the same cylinder geometry (area/volume = 4/diam), so
every ion leaving the lumen arrives in the cytosol:

  d(caeri)/dt = -icaer (4/diam)/(2F fer)  - luminal binding (+ diffusion)

The transporters cancel icaer with an equal and opposite
NONSPECIFIC_CURRENT, so ER transport never changes the membrane potential.

Luminal buffer (calreticulin-like, low affinity and high capacity): bertot
10 mM sites with KD 2 mM (calreticulin's low-affinity sites, Baksh &
Michalak 1991, J Biol Chem 266:21458), on rate 0.1 /mM/ms. With free luminal
Ca at 0.5 mM the luminal buffer capacity is 3.2 and total luminal Ca
2.5 mM, within the 1-5 mM range of total ER Ca. Set bertot = 0 for an
unbuffered lumen.

Free luminal Ca can diffuse along the ER (Der; 0 by default; luminal
diffusion has been measured at 8-30 um2/s, e.g. Choi et al. 2006).

Reported: caertot, total luminal Ca (free + bound, mM of ER volume).
The initial free luminal Ca is this segment's caeri0 if that is >= 0 (a
RANGE parameter, caeri0_er(x) in hoc), otherwise the ion's global
caeri0_caer_ion (0.5 mM by default, ionhomeo_defaults.hoc; free ER Ca
0.1-0.8 mM, Bygrave & Benedetti 1996, Cell Calcium 19:547), set at every
finitialize by ionhomeo_defaults.hoc's handler; the buffer starts at
equilibrium with it. Geometry: the lumen is fer times the cytosolic
cylinder volume PI diam^2/4 L/nseg of cadyn, and icaer is converted with
the same cylinder area as in cadyn (see cadyn).

Reads: icaer.  Writes: caeri.  CoreNEURON: not compatible
(LONGITUDINAL_DIFFUSION).
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX er
    USEION caer READ icaer WRITE caeri VALENCE 2
    RANGE fer, bertot, caertot, caeri0
    GLOBAL kder, konber, Der
}

UNITS {
    (mM) = (milli/liter)
    (um) = (micron)
    (mA) = (milliamp)
    : see cadyn: cur*PI*diam/(2*FARADAY) is in mM*um2/ms per unit length
    FARADAY = (faraday) (10000 coulomb)
    PI = (pi) (1)
}

PARAMETER {
    fer = 0.1 (1) <1e-6, 10>          : ER volume / cytosolic volume
    bertot = 10 (mM) <0, 1e3>         : luminal buffer sites
    kder = 2 (mM) <1e-9, 1e3>         : luminal buffer KD
    konber = 0.1 (/mM-ms) <0, 1e6>    : luminal buffer on rate
    Der = 0 (um2/ms) <0, 1e3>         : luminal free Ca diffusion coefficient
    caeri0 = -1 (mM) <-1, 1e3>        : initial caeri of this segment; < 0: the global caeri0_caer_ion
}

ASSIGNED {
    diam (um)
    icaer (mA/cm2)
    caertot (mM)  : total luminal Ca, free + bound
}

STATE {
    caeri (mM) <1e-7>
    ber (mM) <1e-6>
    caber (mM) <1e-6>
}

INITIAL {
    ber = bertot*kder/(kder + caeri)
    caber = bertot*caeri/(kder + caeri)  : not bertot - ber (see cabuf.mod)
    caertot = caeri + caber
}

BREAKPOINT {
    SOLVE pool METHOD sparse
    caertot = caeri + caber
}

KINETIC pool {
    LOCAL vol
    vol = fer*PI*diam*diam/4  : ER volume per unit length (um2)
    COMPARTMENT fer*PI*diam*diam/4 {caeri ber caber}
    LONGITUDINAL_DIFFUSION Der*fer*PI*diam*diam/4 {caeri}
    ~ caeri << (-icaer*PI*diam/(2*FARADAY))
    ~ caeri + ber <-> caber (konber*vol, konber*kder*vol)
    : reported total follows the states under CVODE too
    caertot = caeri + caber
}
