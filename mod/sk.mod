TITLE sk: small-conductance Ca-activated K channel (SK2), voltage independent

COMMENT
SK (KCa2.2) channel gated by intracellular Ca through constitutively bound
calmodulin, with no voltage dependence of gating (Koehler et al. 1996,
Science 273:1709; Xia et al. 1998, Nature 395:503). It carries the medium
afterhyperpolarization after spikes that bring Ca in.

    ik   = gbar o (v - ek)                       (mA/cm2, outward positive)
    o'   = (oinf - o)/tau
    oinf = r/(1 + r),   r = (cai/kd)^n           (Hill equation)

ek is the dynamic Nernst potential of the current ki and ko. cai is floored
at 1e-15 mM by pos() (pos.inc) before the Hill equation, so cai <= 0 gives oinf = 0
(to within (1e-15 mM/kd)^n), never NaN; o stays in [0, 1].

Defaults:
  kd 3e-4 mM (0.3 uM) and n 4.5: SK2 Ca dose-response in inside-out
    patches, half-activation near 0.3 uM with a Hill coefficient of 4-5
    (Xia et al. 1998; Hirschberg et al. 1998, J Gen Physiol 111:565, report
    single-channel Ca dependence in the same submicromolar range).
  tau 5 ms: SK currents follow a fast Ca step within a few ms (Xia et al.
    1998). One first-order time constant is a simplification: it does not
    separate activation from the slower deactivation, and in a cell the
    decay of the AHP is set mostly by Ca clearance.
  gbar 1e-4 S/cm2 (0.1 mS/cm2): a modest somatic density, comparable to the
    resting leak conductance of the default cell (about 0.05 mS/cm2), so
    that a fully activated SK current clearly hyperpolarizes. It is a
    starting point to be tuned to the AHP of the cell being modelled, not a
    measured density.
No Q10: the gating rate is used as given at any celsius.

Reads: cai, ek.  Writes: ik.  CoreNEURON: compatible.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX sk
    USEION ca READ cai
    USEION k READ ek WRITE ik
    RANGE gbar, g, i, oinf
    GLOBAL kd, n, tau
}

UNITS {
    (mA) = (milliamp)
    (mV) = (millivolt)
    (mM) = (milli/liter)
    (S) = (siemens)
}

PARAMETER {
    gbar = 1e-4 (S/cm2) <0, 1e3>  : maximal conductance (all channels open)
    kd = 3e-4 (mM) <1e-9, 1e3>    : cai for half activation (0.3 uM)
    n = 4.5 (1) <0.1, 10>         : Hill coefficient
    tau = 5 (ms) <1e-3, 1e6>      : gating time constant
}

ASSIGNED {
    v (mV)
    cai (mM)
    ek (mV)
    ik (mA/cm2)
    g (S/cm2)
    i (mA/cm2)    : this channel's K current (a copy of its share of ik)
    oinf (1)      : steady-state open probability at the current cai
}

STATE {
    o (1)
}

INITIAL {
    rates(cai)
    o = oinf
}

BREAKPOINT {
    SOLVE states METHOD cnexp
    g = gbar*o
    i = g*(v - ek)
    ik = i
}

DERIVATIVE states {
    rates(cai)
    o' = (oinf - o)/tau
}

PROCEDURE rates(c (mM)) {
    LOCAL r
    r = (pos(c)/kd)^n
    oinf = r/(1 + r)
}

INCLUDE "pos.inc"
