TITLE cahva: high-voltage-activated Ca channel (Reuveni et al. 1993 kinetics, GHK current)

COMMENT
High-voltage-activated (L/N/P-type-like) calcium channel, so that action
potentials bring Ca into the cell through the Ca owner (e.g. cadyn).

Current density (outward positive, mA/cm2) from the GHK current equation,

    ica = pbar m^2 h ghk(v, cai, cao, 2)

so the driving force follows the dynamic cai and cao exactly and the
current vanishes, rather than reversing at a fixed eca, when cao is zero.
pbar is a permeability (cm/s); pbar*ghk is already mA/cm2 (see ghk.inc).

Gating: the HVA rate functions of Reuveni, Friedman, Amitai & Gutnick 1993
(J Neurosci 13:4609), all in 1/ms with v in mV:

    m: alpha = 0.055 (-27 - v)/(exp((-27 - v)/3.8) - 1)
       beta  = 0.94 exp((-75 - v)/17)
    h: alpha = 0.000457 exp((-13 - v)/50)
       beta  = 0.0065/(exp((-v - 15)/28) + 1)

    minf = alpha/(alpha + beta),  mtau = 1/(alpha + beta)   (same for h)

The m alpha is 0/0 at v = -27 mV; it is written as
0.055*3.8*efun((-27 - v)/3.8) with efun(x) = x/(exp(x) - 1) from ghk.inc,
which switches to its Taylor series for |x| < 1e-4 (truncation error below
1e-19 relative), so alpha_m(-27) = 0.055*3.8 = 0.209 /ms exactly and the
current is continuous there.

Temperature: the rates are used as published, with no Q10 scaling, so the
gating does not depend on celsius (only the GHK driving force does). This is
also how the widely used layer-5 pyramidal model of Hay et al. 2011 (PLoS
Comput Biol 7:e1002107) uses these rates at 34 C. We could not verify the
temperature at which the original rates were fitted, so we do not invent a
Q10; if you know it, scale the rates yourself.

Default pbar = 2e-5 cm/s. Measured with ionhomeo's spiking mechanisms
(nav, kdr, sk, the Ca system; one action potential from a 1 ms current
pulse, fixed step dt 0.025 ms, secondorder 2): Ca entry per spike about
0.26 uM (total, per cytosolic volume) into a 20 um soma and 2.4 uM into a
2 um dendrite, that is 3 and 25 nM of free Ca with the default buffer
capacity of 98. This is a few times below the single-AP transients of
proximal dendrites (100-200 nM; Helmchen, Imoto & Sakmann 1996, Biophys J
70:1069); higher densities are possible, but with the default kdr a
20 um soma at 3e-5 cm/s already stays depolarised for tens of ms after a
spike (a Ca plateau), so the default stays below that.
The current scales with pbar; measured in NEURON
9.0 (single compartment under SEClamp, 37 C, cai 100 nM, cao 2 mM, dt
0.005 ms; dt 0.001 ms changes the numbers by < 0.2%):
  - clamped waveform v = -65 + 100 sin^2(pi (t - t0)/2 ms) mV for
    t0 <= t <= t0 + 2 ms (half-width 1 ms, peak +35 mV): peak
    ica = -15 uA/cm2 (at 2e-5 cm/s), 1.89 ms after onset (a tail current on the falling
    phase: m is still open while the driving force grows); Ca charge
    21 nC/cm2; m peaks at 0.91, h stays near its resting 0.58 (htau is
    hundreds of ms).
  - a spike of nav + kdr (defaults) + pas (half-width 0.8 ms, peak
    +48 mV) played back as the clamp command: peak -13 uA/cm2.
At rest (-65 mV) m^2 h = 1.9e-8 and ica = -7e-7 uA/cm2.

Reads: cai, cao.  Writes: ica.  CoreNEURON: compatible.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX cahva
    USEION ca READ cai, cao WRITE ica
    RANGE pbar, i
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (mM) = (milli/liter)
    FARADAY = (faraday) (10000 coulomb)
    R = (k-mole) (joule/degC)
}

PARAMETER {
    pbar = 2e-5 (cm/s) <0, 1>  : maximal Ca permeability (all channels open)
}

ASSIGNED {
    v (mV)
    celsius (degC)
    cai (mM)
    cao (mM)
    ica (mA/cm2)
    i (mA/cm2)     : this channel's Ca current (a copy of its share of ica)
    minf (1)
    hinf (1)
    mtau (ms)
    htau (ms)
}

STATE {
    m (1)
    h (1)
}

INITIAL {
    rates(v)
    m = minf
    h = hinf
}

BREAKPOINT {
    SOLVE states METHOD cnexp
    i = pbar*m*m*h*ghk(v, cai, cao, 2)
    ica = i
}

DERIVATIVE states {
    rates(v)
    m' = (minf - m)/mtau
    h' = (hinf - h)/htau
}

PROCEDURE rates(v (mV)) {
    LOCAL am, bm, ah, bh
    UNITSOFF
    : Reuveni et al. 1993, rates in 1/ms for v in mV (no temperature scaling)
    am = 0.055*3.8*efun((-27 - v)/3.8)
    bm = 0.94*exp((-75 - v)/17)
    ah = 0.000457*exp((-13 - v)/50)
    bh = 0.0065/(exp((-v - 15)/28) + 1)
    minf = am/(am + bm)
    mtau = 1/(am + bm)
    hinf = ah/(ah + bh)
    htau = 1/(ah + bh)
    UNITSON
}

INCLUDE "ghk.inc"
