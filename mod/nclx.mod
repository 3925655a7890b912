TITLE nclx: mitochondrial Na/Ca exchanger (3 Na in : 1 Ca out of the matrix)

COMMENT
NCLX moves one Ca from the mitochondrial matrix (camt pool of mito.mod) to
the cytosol in exchange for three Na entering the matrix, one net charge
into the matrix per cycle. The free energy of one cycle is

    dG = 3 RT ln(namt/nai) + RT ln(cai/camti) + F dpsi

(ionhomeo.thermo.nclx_free_energy), about -23 kJ/mol at rest with
dpsi -170 mV. Efflux per cytosolic volume:

    J = vmax * camti/(camti + kmca) * (nai/(nai + kmna))^3 * tanh(-dG/(2RT))

zero exactly at dG = 0, reversing beyond it, zero at camti = 0 (so it can
never drive the matrix negative) and at nai = 0.

Na bookkeeping: the Na taken into the matrix is returned to the cytosol by
the mitochondrial Na/H exchanger (Na cycling across the inner membrane), so
over the time scales modelled NCLX does not change cytosolic Na: it reads
nai but does not write ina. Matrix Na namt is a parameter (5 mM; Donoso et
al. 1992).

Defaults: kmna 8 mM (half-activation of mitochondrial Na/Ca exchange by
Na, 8-10 mM; Crompton et al. 1978, Eur J Biochem 82:25), kmca 3 uM
(matrix Ca, Km of a few uM; Paucek & Jaburek 2004, Biochim Biophys Acta
1659:83), dpsi -170 mV; vmax 1.435e-5 mM/ms makes NCLX balance the
default MCU exactly with cytosolic and free matrix Ca both at 100 nM
(matrix free Ca close to cytosolic at rest: Babcock et al. 1997).

Currents: icamt = +J (2F)(diam/4) (> 0: Ca leaving the matrix) and the
NONSPECIFIC_CURRENT i = -icamt, so this mechanism never changes the plasma
membrane potential (the matrix charge is not modelled).

Mitochondrial potential: dpsi is also a parameter of mcu; change
both together for an uncoupler or energy failure
(ionhomeo.calcium.set_mitochondrial_potential does).

Reads: cai, nai, camti.  Writes: icamt, i (nonspecific, cancels icamt).
CoreNEURON: compatible.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX nclx
    USEION ca READ cai
    USEION na READ nai
    USEION camt READ camti WRITE icamt VALENCE 2
    NONSPECIFIC_CURRENT i
    RANGE vmax, dpsi, j, dg
    GLOBAL kmca, kmna, namt
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (mM) = (milli/liter)
    (um) = (micron)
    : 1e4 coulomb per mole, the one convention of every ionhomeo mod file
    FARADAY = (faraday) (10000 coulomb)
    R = (k-mole) (joule/degC)
}

PARAMETER {
    vmax = 1.435e-5 (mM/ms) <0, 1e3>  : maximal efflux per cytosolic volume
    kmca = 0.003 (mM) <1e-9, 1e3>     : half-activating matrix Ca
    kmna = 8 (mM) <1e-9, 1e4>         : half-activating cytosolic Na, per site
    namt = 5 (mM) <1e-9, 1e4>         : matrix Na
    dpsi = -170 (mV) <-300, 100>      : mitochondrial membrane potential
}

ASSIGNED {
    diam (um)
    celsius (degC)
    cai (mM)
    nai (mM)
    camti (mM)
    icamt (mA/cm2)
    i (mA/cm2)
    j (mM/ms)   : net Ca efflux from the matrix per cytosolic volume
    dg (mV)     : free energy of one cycle divided by F
}

BREAKPOINT {
    LOCAL sna, m
    dg = rtf()*(3*log(namt/pos(nai)) + log(pos(cai)/pos(camti))) + dpsi
    sna = pos(nai)/(pos(nai) + kmna)
    m = pos(camti)
    j = vmax*m/(m + kmca)*sna*sna*sna*tanh(-dg/(2*rtf()))
    icamt = poolcur(j)
    i = -icamt
}

INCLUDE "calcium.inc"
INCLUDE "thermo.inc"
INCLUDE "pos.inc"
