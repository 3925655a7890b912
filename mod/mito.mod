TITLE mito: mitochondrial matrix Ca pool with rapid matrix buffering

COMMENT
The mitochondrial matrix as a Ca pool, represented as its own ion species
camt (valence 2) whose "inside" concentration camti is the free matrix Ca;
this mechanism is its one writer. Mitochondria occupy a volume fraction
fmt of the cytosolic volume.

Matrix Ca is buffered strongly and rapidly (largely by phosphate); as in
Magnus & Keizer 1997 (Am J Physiol 273:C717) and Cortassa et al. 2003
(Biophys J 84:2734) a constant fraction fm of matrix Ca is free
(fm = 3e-4). The total matrix Ca is camti/fm.

Mitochondrial transporters (mcu, nclx) report the Ca they move as the
current icamt per area of plasma membrane, icamt > 0 being Ca leaving the
matrix into the cytosol; cadyn reads the same current with the same
geometry (area/volume = 4/diam), so

  d(camti)/dt = -fm icamt (4/diam)/(2F fmt)

and the transporters cancel icamt with a NONSPECIFIC_CURRENT, leaving v
untouched.

Default fmt = 0.05, an assumption: mitochondria take several per cent of
neuronal cytoplasm in electron micrographs; set it from your own
morphometry.
Initial free matrix Ca is this segment's camti0 if that is >= 0 (a RANGE
parameter, camti0_mito(x) in hoc), otherwise the global camti0_camt_ion
(0.1 uM, near cytosolic at rest; Babcock et al. 1997, J Cell Biol
136:833), set at every finitialize by ionhomeo_defaults.hoc's handler.
Geometry: the matrix is fmt times the cytosolic cylinder volume PI
diam^2/4 L/nseg of cadyn, and icamt is converted with the same cylinder
area as in cadyn (see cadyn).

Reported: camttot, total matrix Ca (mM of matrix volume).

Reads: icamt.  Writes: camti.  CoreNEURON: compatible.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX mito
    USEION camt READ icamt WRITE camti VALENCE 2
    RANGE fmt, fm, camttot, camti0
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
    fmt = 0.05 (1) <1e-6, 10>     : matrix volume / cytosolic volume
    fm = 0.0003 (1) <1e-9, 1>     : free fraction of matrix Ca
    camti0 = -1 (mM) <-1, 1e3>    : initial camti of this segment; < 0: the global camti0_camt_ion
}

ASSIGNED {
    diam (um)
    icamt (mA/cm2)
    camttot (mM)  : total matrix Ca, free / fm
}

STATE {
    camti (mM) <1e-10>
}

INITIAL {
    camttot = camti/fm
}

BREAKPOINT {
    SOLVE pool METHOD sparse
    camttot = camti/fm
}

KINETIC pool {
    : rapid buffering: only fm of the Ca delivered stays free, so the free
    : concentration changes as if the matrix volume were fmt*vol/fm
    COMPARTMENT fmt*PI*diam*diam/(4*fm) {camti}
    ~ camti << (-icamt*PI*diam/(2*FARADAY))
    : reported total follows the state under CVODE too
    camttot = camti/fm
}
