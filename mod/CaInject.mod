TITLE CaInject: a rectangular Ca current pulse that brings a known amount of Ca in

COMMENT
Point process that opens, like a channel, an inward Ca current of fixed
size for a fixed time:

    ica = -amp    for del <= t < del + dur        (nA, outward positive)
    ica = 0       otherwise

It is a membrane ion current (not an electrode current), so the Ca owner
at its segment (e.g. cadyn) takes the Ca in and the charge depolarizes the
membrane, exactly as a Ca channel would. NEURON converts a point process's
ion current (nA) to a density at its segment (divides by the segment area).

Onset and offset are self-events (net_send from INITIAL, switched in
NET_RECEIVE), so they happen exactly at del and del + dur under CVODE (the
integrator stops and re-initializes at each event) and on the step
boundaries under the fixed step method.

Charge of the full pulse: q = amp*dur (nA*ms = pC), reported as RANGE q.
The number of Ca ions it brings in is q/(2 e) with e = 1.602176634e-19 C,
i.e. N = q (pC) * 1e-12 / (2 * 1.602176634e-19) = 3.1207e6 ions per pC; in
moles, q/(2 F) = q (pC) * 5.182e-18 mol.

Defaults del 1 ms, dur 1 ms, amp 0 nA (off until amp is set).

Reads: nothing.  Writes: ica.  CoreNEURON: compatible (self-events only).
ENDCOMMENT

NEURON {
    THREADSAFE
    POINT_PROCESS CaInject
    USEION ca WRITE ica VALENCE 2
    RANGE del, dur, amp, i, q
}

UNITS {
    (nA) = (nanoamp)
    (pC) = (picocoulomb)
}

PARAMETER {
    del = 1 (ms) <0, 1e9>     : pulse onset
    dur = 1 (ms) <0, 1e9>     : pulse duration
    amp = 0 (nA) <0, 1e9>     : magnitude of the inward Ca current
}

ASSIGNED {
    ica (nA)
    i (nA)      : this pulse's Ca current (a copy of its ica; negative = inward)
    q (pC)      : charge of the full pulse, amp*dur (nA*ms = pC)
    on (1)      : 1 during the pulse, 0 otherwise
}

INITIAL {
    on = 0
    q = amp*dur
    net_send(del, 1)
}

BREAKPOINT {
    i = -amp*on
    ica = i
}

NET_RECEIVE(w (1)) {
    if (flag == 1) {
        : onset
        on = 1
        net_send(dur, 2)
    } else if (flag == 2) {
        : offset
        on = 0
    }
}
