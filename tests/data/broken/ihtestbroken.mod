TITLE ihtestbroken: deliberately invalid NMODL for the CompileError test

NEURON {
    SUFFIX ihtestbroken
    RANGE g
    THREADSAFE
}

PARAMETER { g = 1 }

BREAKPOINT {
    g = = 2
}
