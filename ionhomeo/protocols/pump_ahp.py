"""Protocol ``pump-ahp``: the slow Na/K-pump afterhyperpolarisation after a spike train.

After a train of action potentials, neocortical pyramidal neurons show a slow
afterhyperpolarisation lasting tens of seconds that ouabain abolishes: the
Na/K-ATPase, stimulated by the Na that entered during the train, carries
extra outward current (one net charge per 3 Na) until Nai has recovered
(Gulledge et al. 2013, J Physiol 591:4777). This protocol reproduces the
experiment and checks it against the model's own parameters.

What sets the AHP here (derived from nakpump.mod's rate law)
-------------------------------------------------------------
The pump current is ``I_p = imax avail sNa^3 sK^2 tanh(x)`` with
``sNa = Nai/(Nai + kmna)`` and ``x = -dGc/(2RT)``. A Na load dNa raises it
by ``I_p' dNa`` with

    I_p' = dI_p/dNai = imax avail sK^2 [3 sNa^2 kmna/(Nai + kmna)^2 tanh(x)
                                        + sNa^3 (1 - tanh(x)^2) 3/(2 Nai)]

(the second term because dGc contains -3RT ln Nai: about 7 % of the first).

Duration. Na leaves a cylinder of volume/area ``diam/4`` through the extra
pump flux ``3 I_p' dNa/F``, so Nai relaxes with

    tau_Na = (diam/4) F / (3 I_p')

(nadyn uses exactly this geometry). Near rest ``tau_Na ~ T_Na (Nai +
kmna)/(3 kmna)``, ``T_Na = (diam/4) F Nai/(3 I_p,rest)`` the turnover time
of the cell's Na (content / resting efflux): the duration is set by how fast
the resting Na influx (naleak, balanced by the pump) turns the Na content
over, shortened by the pump's Na cooperativity. It is proportional to diam:
with the defaults (Nai 12.3 mM, I_p,rest 0.29 uA/cm2) 23.5 s per um of
diameter, 470 s in a 20 um soma. The other Na fluxes change it a little:
the AHP itself draws more Na in through the leak and channels, NCX and
NKCC1 respond to Nai; ``tau_Na_all`` (the same formula with the Na current
of the slow manifold: V, Cl and Ca re-balanced at Nai + x, Ki - x, computed
from NEURON's own currents) gives 24.7 s per um, and the simulation 25.0 s.

Amplitude. The membrane is quasi-static on this time scale, so the AHP is
``dV = -I_p' dNa / G_m`` for the pump alone (G_m the steady-state slope
conductance), -0.71 mV/mM with the defaults; the K that the spikes lost
(Ki - dNa) depolarises and the quasi-steady slope with every mechanism is
-0.54 mV/mM, which the simulation matches to 0.5 %. Charge conservation
gives an invariant: all the extra Na is pumped out, one charge per 3 Na, so
the AHP area is ``integral dV dt ~ -Q_Na / (3 G_m)`` (Q_Na the Na charge per
membrane area that entered), whatever the pump parameters: a faster pump
makes the AHP shorter and larger, not bigger in area. The Na charge of a
spike per area does not depend on diam, so after the same 20 spikes a 20 um
soma gets a 20x smaller Na load: an AHP of about 0.05 mV lasting about
470 s (the ``spike-train`` protocol measures about 0.04 mV), where a 1 um
process gets 1.7 mM, about 0.9 mV for about 25 s.

What it would take in a 20 um soma (the defaults are not changed): I_p'
must grow by tau_Na/20 s, about 24x, without G_m growing. Raising imax and
pna together (which keeps Nai) makes pNa/pK 24x larger: the soma then has
no resting state for x6 or more (x4 already depolarises it to -53 mV).
Raising imax and every leak together keeps Vm and Nai and gives tau 20 s,
but G_m grows as much, so the AHP stays at about 0.06 mV (the area
invariant). kmna alone shortens tau_Na at most (Nai + kmna)/kmna = 2.2x;
imax alone would have to drive the resting Nai to about 1 mM. A mV-sized
tens-of-seconds somatic AHP therefore needs the Na to enter where the
membrane area per volume is large (axon, thin dendrites), or Na turnover
that adds no conductance (electroneutral Na influx).

The protocol's cell
-------------------
Default (``morphology=None``, ``recipe=None``): one isopotential cylinder,
``diam_um`` 1 um by ``length_um`` 10 um (a thin process: an axon or a thin
dendrite, where most of a spike's Na enters), with the Na/K/Cl system and
spike channels of the ``spike-train`` protocol (MECHANISMS), every
parameter at its default. With ``recipe`` the recipe's soma mechanisms go
into that cylinder instead. Given a morphology, the protocol runs on that
cell (stimulus and AHP at the soma centre; CELL_PULSE_NA, the prediction
per segment; slow on the pyramidal cell).

The train: ``train_hz`` x ``train_s`` brief current pulses (1 ms, one spike
each) at the soma centre, charge-balanced: a steady negative current during
the train withdraws the charge of the pulses, so no net charge is injected
and the cell returns exactly to its resting steady state (an unbalanced
train would leave it at another member of its family of steady states,
shifted by the injected charge carried out as K).

Three runs from the solved resting state (CVODE): control; "ouabain"
(nakpump avail = 0 in every segment from the end of the train); and the
same block without a train (the baseline of the blocked cell, which
depolarises as its gradients run down).

Checks (all three must hold; ``check`` = 1)
-------------------------------------------
1. Duration: the measured AHP duration equals the duration predicted from
   the model's own Nai recovery time constant within 10 %. Measured:
   ``D = integral_{t1}^{inf} dV dt / dV(t1)``, t1 = train end + 2 s (the
   fast AHP and the Cl transient are over), the tail beyond the run from an
   exponential fit; for a single exponential D is its time constant.
   Predicted: ``sum w_s tau_s / sum w_s`` over segments, ``tau_s`` the
   pump-alone tau_Na of the segment and ``w_s = area_s I_p'_s dNa_s(t1)``
   its share of the extra pump current; in one compartment simply tau_Na.
   10 %: the other Na fluxes (+5 % here, see tau_Na_all) and the
   nonlinearity of a 14 % Na load (about 2 %).
2. The AHP follows Nai: exponentials fitted from t1 to dV and to the Na
   excess have time constants within 10 % and the correlation of -dV with
   the Na excess exceeds 0.99. The Na excess is Nai - Nai_rest in one
   compartment; in a cell the pump-weighted mean ``sum area_s I_p'_s
   dNai_s / sum area_s I_p'_s``.
3. Ouabain: with the pump blocked after the train, the hyperpolarisation
   (lowest V of the train run minus the blocked baseline, from t1) is below
   10 % of the control AHP. Measured with the defaults: none at all (the
   retained Na and the lost K depolarise by 0.3 mV).

With the mature preset in the compartment (``recipe="mature"``) checks 1
and 2 hold but check 3 fails: a Na load also slows the forward NCX, Cai
rises a few nM and the electrogenic PMCA (two charges per Ca, no H+
counter-transport in pmca.mod) and SK hyperpolarise; this part (about a
quarter of the AHP: quasi-steady slope -0.76 vs -0.57 mV/mM for the pump
alone) does not need the pump, and with the pump blocked the train
hyperpolarises the blocked cell by more than the control AHP as its
Ca-driven rundown runs ahead. In a multi-compartment cell Na also diffuses
between segments of different tau_Na, which the prediction ignores, and the
checks are not expected to hold (ball-and-stick with the mature preset:
duration 14 s measured vs 78 s predicted, correlation 0.90, 81 % of the AHP
left with the pump blocked).

Also reported: the AHP amplitude against the pump-alone and the
quasi-steady predictions, the AHP area against -Q_Na/(3 G_m), and the 20 um
soma estimates above.

Everything created in NEURON is deleted before returning, and the CVODE
settings are restored.
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from .. import recipe as recipe_mod
from .common import Result, check_number, compartment, finish, summary_dict, summary_table

NAME = "pump-ahp"
DESCRIPTION = ("slow Na/K-pump afterhyperpolarisation after a spike train (Gulledge et al. "
               "2013): duration vs the model's Nai recovery tau, tracking of Nai, block by "
               "ouabain")

#: mechanisms of the default compartment (the Na/K/Cl system and spike
#: channels of the ``spike-train`` protocol), all at their mod-file defaults
MECHANISMS = ("nadyn", "kdyn", "cldyn", "nakpump", "naleak", "kleak", "clleak", "kcc2", "nav",
              "kdr")
#: the default compartment: a thin process (um)
DIAM_UM = 1.0
LENGTH_UM = 10.0
TRAIN_START_S = 1.0
PULSE_MS = 1.0
#: pulse current density (mA/cm2): 0.08 mA/cm2 for 1 ms puts 80 mV on 1 uF/cm2,
#: far above threshold; the pulse ends before the spike repolarises
PULSE_DENSITY = 0.08
#: pulse amplitude at the soma of a multi-compartment cell (nA)
CELL_PULSE_NA = 4.0
SPIKE_THRESHOLD_MV = 0.0
#: the analysis starts this long after the train (s): SK and Cl transients are over
AHP_DELAY_S = 2.0
#: recording intervals (ms): soma at V_DT_MS, every segment at SEG_DT_MS
V_DT_MS = 10.0
SEG_DT_MS = 100.0
#: tolerances of the checks
DURATION_TOL = 0.10
TAU_TOL = 0.10
MIN_CORRELATION = 0.99
OUABAIN_FRACTION = 0.10
#: the soma used for the "what would it take" estimate, and the target duration
SOMA_DIAM_UM = 20.0
TARGET_TAU_S = 20.0


# ----------------------------------------------------------------------------
# the pump's rate law (nakpump.mod), and what follows from it
# ----------------------------------------------------------------------------

def pump_rate_law(nai, nao, ki, ko, v, imax, avail=1.0, kmna=10.0, kmk=2.0, dgatp=-55.0,
                  celsius=37.0):
    """nakpump's current and its Na sensitivity: (I_p, dI_p/dNai).

    Concentrations mM, v mV, imax mA/cm2, dgatp kJ/mol; returns mA/cm2 and
    mA/cm2/mM (numpy, broadcasting). The same formula as nakpump.mod's
    BREAKPOINT, differentiated by hand (module docstring).
    """
    from .. import thermo

    nai, nao, ki, ko, v = (np.asarray(x, float) for x in (nai, nao, ki, ko, v))
    rtf = float(thermo.rt_over_f(celsius))
    dgatp_mv = 1e6 * dgatp / thermo.FARADAY  # kJ/mol / (C/mol) = kV -> mV
    dgc = dgatp_mv + 3 * (rtf * np.log(nao / nai) - v) + 2 * (rtf * np.log(ki / ko) + v)
    x = -dgc / (2 * rtf)
    th = np.tanh(x)
    sna = nai / (nai + kmna)
    sk = ko / (ko + kmk)
    ip = imax * avail * sna ** 3 * sk ** 2 * th
    dip = imax * avail * sk ** 2 * (3 * sna ** 2 * kmna / (nai + kmna) ** 2 * th
                                    + sna ** 3 * (1 - th ** 2) * 3 / (2 * nai))
    return ip, dip


def nai_recovery_tau_s(diam_um, dip_dnai):
    """tau_Na = (diam/4) F / (3 dI_p/dNai) in s (diam um, dI_p/dNai mA/cm2/mM)."""
    from .. import thermo

    # the pump's Na current is 3 I_p: Nai relaxes at the loss rate of 3 dI_p/dNai (/ms)
    return 1e-3 / thermo.concentration_loss_rate(3 * np.asarray(dip_dnai), diam_um, 1)


def _pump_at(h, seg):
    """(I_p, dI_p/dNai) of nakpump at ``seg`` in its present state (mA/cm2, mA/cm2/mM)."""
    p = seg.nakpump
    return pump_rate_law(seg.nai, seg.nao, seg.ki, seg.ko, seg.v, p.imax, p.avail,
                         h.kmna_nakpump, h.kmk_nakpump, h.dgatp_nakpump, h.celsius)


# ----------------------------------------------------------------------------
# cells
# ----------------------------------------------------------------------------

def _compartment(h, rec, diam_um, length_um, name):
    """One cylinder with MECHANISMS at their defaults (``rec`` None) or the
    recipe's soma mechanisms; returns (section, what was applied)."""
    sec, applied = compartment(h, name, length_um, diam_um, MECHANISMS, rec)
    if rec is not None and (not sec.has_membrane("nakpump") or not sec.has_membrane("nadyn")):
        from ..mechanisms import ParameterError

        raise ParameterError(f"recipe {rec.name!r} places no nakpump and nadyn in the soma: the "
                         "pump AHP needs the Na/K pump and a Na concentration owner")
    return sec, applied


def _slope_conductance(shift_v, segments, dv=1e-3):
    """Steady-state slope conductance of each segment (mS/cm2); ``shift_v(d)``
    initialises every segment at rest + d mV (gates at their steady state)."""
    from .. import steady

    shift_v(dv)
    plus = np.array([steady.ionic_current(s) for s in segments])
    shift_v(-dv)
    minus = np.array([steady.ionic_current(s) for s in segments])
    shift_v(0.0)
    return (plus - minus) / (2 * dv) * 1e3


def _quasi_steady(h, state, sec, dna=0.05):
    """The slow manifold of one compartment, linearised: (dV/dNai in mV/mM,
    d ina/dNai in mA/cm2/mM).

    Nai + d and Ki - d (the charge the spikes moved, carried by Na in and K
    out), and V and every other dynamic concentration (Cl, Ca) re-balanced:
    unknowns V and their logs, residuals the net membrane current and those
    ions' currents, all from NEURON's own mechanisms. ina there is the net Na
    flux that then relaxes Nai: every Na mechanism and the feedback of the
    AHP itself on the Na leak and channels included.
    """
    from scipy import optimize

    from .. import steady

    others = [ion for ion in state.concentrations if ion not in ("na", "k")]
    holder = {"sec": sec}

    def solve(d):
        base = dict(state.concentrations)
        base["na"] += d
        base["k"] -= d

        def residual(x):
            conc = {**base, **{ion: math.exp(lc) for ion, lc in zip(others, x[1:])}}
            steady.SteadyState(v=float(x[0]), concentrations=conc, fixed=(),
                               residual=math.nan).finitialize([holder["sec"]])
            s = holder["sec"](0.5)
            return 1e3 * np.array([steady.ionic_current(s)]
                                  + [getattr(s, f"i{ion}") for ion in others])

        x0 = np.array([state.v] + [math.log(state.concentrations[ion]) for ion in others])
        sol = optimize.root(residual, x0, method="hybr", options={"xtol": 1e-13})
        residual(sol.x)
        return float(sol.x[0]), float(holder["sec"](0.5).ina), bool(sol.success)

    try:
        (vp, nap, okp), (vm, nam, okm) = solve(dna), solve(-dna)
    finally:
        holder.clear()
        state.finitialize([sec])
    if not (okp and okm):
        return math.nan, math.nan
    return (vp - vm) / (2 * dna), (nap - nam) / (2 * dna)


# ----------------------------------------------------------------------------
# simulation
# ----------------------------------------------------------------------------

def _simulate(h, start, segments, soma, pulses_ms, pulse_na, balance, block_ms, tstop_ms):
    """One run from rest; returns dict of arrays (soma at V_DT_MS; 'nai_seg',
    'ipump_seg' (segments x times) at SEG_DT_MS) and spike times (ms)."""
    from .. import solver

    stims = []
    for t_ms in pulses_ms:
        s = h.IClamp(soma)
        s.delay, s.dur, s.amp = t_ms, PULSE_MS, pulse_na
        stims.append(s)
    if pulses_ms and balance is not None:
        b = h.IClamp(soma)
        b.delay, b.dur, b.amp = balance
        stims.append(b)
    nc = h.NetCon(soma._ref_v, None, sec=soma.sec)
    nc.threshold = SPIKE_THRESHOLD_MV
    spikes = h.Vector()
    nc.record(spikes)
    sec = soma.sec
    fast = {"t": h.Vector().record(h._ref_t, V_DT_MS, sec=sec)}
    for name in ("v", "nai", "ki", "cli", "cai"):
        if hasattr(soma, name):
            fast[name] = h.Vector().record(getattr(soma, f"_ref_{name}"), V_DT_MS, sec=sec)
    slow_t = h.Vector().record(h._ref_t, SEG_DT_MS, sec=sec)
    nai_v = [h.Vector().record(s._ref_nai, SEG_DT_MS, sec=s.sec) for s in segments]
    ip_v = [h.Vector().record(s._ref_ipump_nakpump, SEG_DT_MS, sec=s.sec) for s in segments]
    avail = [s.nakpump.avail for s in segments]
    try:
        cvode = solver.use_cvode()
        start()
        try:
            if block_ms is not None:
                cvode.solve(block_ms)
                for s in segments:
                    s.nakpump.avail = 0.0
                cvode.re_init()
            cvode.solve(tstop_ms)
        except RuntimeError as err:
            from ..simulate import SimulationError

            # h.t still holds the start of the failed solve; thread 0's time is where it stopped
            reached = float(h.ParallelContext().t(0))
            raise SimulationError(f"CVODE failed at t = {reached / 1e3:.4g} s: {err}") from None
        out = {k: np.array(v) for k, v in fast.items()}
        n = min(a.size for a in out.values())
        out = {k: a[:n] for k, a in out.items()}
        m = min(slow_t.size(), *(v.size() for v in nai_v), *(v.size() for v in ip_v))
        out["t_seg"] = np.array(slow_t)[:m]
        out["nai_seg"] = np.array([np.array(v)[:m] for v in nai_v])
        out["ipump_seg"] = np.array([np.array(v)[:m] for v in ip_v])
        spike_ms = np.array(spikes.to_python())  # numpy < 2.4 cannot convert an empty Vector
    finally:
        for s, a in zip(segments, avail):
            s.nakpump.avail = a
        for vec in [*fast.values(), slow_t, *nai_v, *ip_v]:
            vec.play_remove()
        del fast, slow_t, nai_v, ip_v, nc, spikes, stims
    return out, spike_ms


# ----------------------------------------------------------------------------
# analysis
# ----------------------------------------------------------------------------

def _fit_exp(t, y):
    """Fit y = c + a exp(-t/tau) (t from 0); returns dict a, tau, c (nan if it fails)."""
    from scipy import optimize

    out = {"a": math.nan, "tau_s": math.nan, "c": math.nan}
    if t.size < 10 or not np.all(np.isfinite(y)) or y[0] == 0:
        return out
    sign = 1.0 if y[0] > 0 else -1.0
    z = sign * y
    pos = z > 0.05 * z[0]
    slope = np.polyfit(t[pos], np.log(z[pos]), 1)[0] if pos.sum() > 2 else 0.0
    tau0 = -1.0 / slope if slope < 0 else max(t[-1], 1.0)
    try:
        p, _ = optimize.curve_fit(lambda x, a, tau, c: c + a * np.exp(-x / tau), t, z,
                                  p0=[z[0], tau0, 0.0], bounds=([0, 1e-3, -np.inf],
                                                                 [np.inf, np.inf, np.inf]),
                                  maxfev=20000)
    except (RuntimeError, ValueError):
        return out
    return {"a": float(sign * p[0]), "tau_s": float(p[1]), "c": float(sign * p[2])}


def _trapz(y, x):
    """Trapezoidal integral of y over x (0 for fewer than two points)."""
    y, x = np.asarray(y, float), np.asarray(x, float)
    return float(np.sum((y[1:] + y[:-1]) * np.diff(x)) / 2) if x.size > 1 else 0.0


def _duration(t, y, fit):
    """integral_{t0}^{inf} y dt / y(t0) (t from t0 = 0), the tail from ``fit``; (D, tail share)."""
    area = _trapz(y, t)
    tail = 0.0
    if math.isfinite(fit["tau_s"]):
        tail = fit["a"] * math.exp(-t[-1] / fit["tau_s"]) * fit["tau_s"]
    total = area + tail
    return total / y[0], (tail / total if total else math.nan)


#: the parameter sets scaled together in the 20 um soma estimate
SCALINGS = {
    "imax_pna": (("nakpump", "imax"), ("naleak", "pna")),
    "imax_leaks": (("nakpump", "imax"), ("naleak", "pna"), ("kleak", "pk"), ("clleak", "pcl")),
}


def _requirement(h, rec, train_na_charge):
    """What a SOMA_DIAM_UM soma with the same mechanisms would need for a
    TARGET_TAU_S AHP; dict of numbers (see the module docstring).

    ``default``: its rest, tau_Na and pump-alone AHP after a train that
    brings the same Na charge per area (``train_na_charge``, C/cm2).
    ``factor``: by how much dI_p/dNai would have to grow. Then the resting
    state, tau_Na and AHP with each set of SCALINGS multiplied by that
    factor ("error" if no resting state is found), the largest shortening
    of tau_Na by kmna alone, and the Nai that imax alone would need.
    """
    from .. import steady, thermo

    out = {}
    sec, _ = _compartment(h, rec, SOMA_DIAM_UM, SOMA_DIAM_UM, "ionhomeo_pump_ahp_soma20")
    seg = sec(0.5)
    # Na load of the train in this soma: the same Na charge per area (mM)
    # a charge density (C/cm2 = 1e3 mC/cm2) converts like a current: mC/cm2 -> mM
    dna = (float(thermo.concentration_loss_rate(train_na_charge * 1e3, SOMA_DIAM_UM, 1))
           if math.isfinite(train_na_charge) else math.nan)

    def measure():
        st = steady.solve([sec])
        st.finitialize([sec])
        ip, dip = _pump_at(h, sec(0.5))
        g = _slope_conductance(
            lambda d: dataclasses.replace(st, v=st.v + d).finitialize([sec]), [sec(0.5)])[0]
        per_mm = -float(dip) / (g * 1e-3)
        return {"Vrest_mV": st.v, "Nai_mM": st.concentrations["na"],
                "Ipump_uA_cm2": float(ip) * 1e3, "dIp_dNai": float(dip), "G_mS_cm2": float(g),
                "tau_Na_s": float(nai_recovery_tau_s(SOMA_DIAM_UM, dip)),
                "AHP_per_mM_pump_mV": per_mm, "train_dNai_mM": dna,
                "train_AHP_mV": per_mm * dna}

    try:
        out["default"] = measure()
        d = out["default"]
        f = d["tau_Na_s"] / TARGET_TAU_S
        out["factor"] = f
        n, k = d["Nai_mM"], float(h.kmna_nakpump)
        out["kmna_max_factor"] = (n + k) / k
        # imax alone, at the same Na influx: I_p' ~ 3 I_p kmna/(Nai (Nai + kmna))
        # grows by f when Nai (Nai + kmna) falls by f
        out["Nai_for_imax_only_mM"] = float((-k + math.sqrt(k * k + 4 * n * (n + k) / f)) / 2)
        for label, params in SCALINGS.items():
            saved = {(m, p): getattr(getattr(seg, m), p) for m, p in params
                     if sec.has_membrane(m)}
            for (m, p), value in saved.items():
                setattr(getattr(seg, m), p, value * f)
            try:
                out[label] = measure()
            except (steady.SteadyStateError, ArithmeticError, ValueError) as err:
                out[label] = {"error": f"no resting state: {err}"}
            finally:
                for (m, p), value in saved.items():
                    setattr(getattr(seg, m), p, value)
    finally:
        seg = None
        sec = None
    return out


# ----------------------------------------------------------------------------
# the protocol
# ----------------------------------------------------------------------------

def run(out_dir=None, morphology=None, recipe=None, duration_s: float = 125.0,
        train_s: float = 1.0, train_hz: float = 20.0, diam_um: float = DIAM_UM,
        length_um: float = LENGTH_UM, pulse_nA=None, defaults=None, progress=None) -> Result:
    """Run the pump-AHP protocol (module docstring); write results to ``out_dir`` if given.

    morphology: None for the protocol's own compartment (``diam_um`` x
        ``length_um``), or a morphology for :class:`ionhomeo.cell.Cell`
        (stimulus and AHP at the soma centre).
    recipe: None (the compartment: MECHANISMS at their defaults; a cell: the
        mature preset), or a preset name, TOML file or Recipe (the
        compartment gets the recipe's soma mechanisms).
    duration_s: simulated time of each run (s); the train starts at 1 s.
    train_s, train_hz: duration (s) and rate (Hz) of the charge-balanced pulse train.
    pulse_nA: pulse amplitude (nA); default 0.08 mA/cm2 times the
        compartment's area, or CELL_PULSE_NA (4 nA) at the soma of a cell.
    defaults: :class:`ionhomeo.defaults.Defaults`; the package defaults if None.
    progress: accepted for the command line; unused (each run takes seconds).
    """
    start_clock = time.perf_counter()
    from ..mechanisms import ParameterError

    duration_s = check_number("duration_s", duration_s, low=0.0)
    train_s = check_number("train_s", train_s, low=0.0)
    train_hz = check_number("train_hz", train_hz, low=0.0)
    diam_um = check_number("diam_um", diam_um, low=0.0)
    length_um = check_number("length_um", length_um, low=0.0)
    n_pulses = int(round(train_s * train_hz))
    if n_pulses < 1:
        raise ParameterError(f"train_s * train_hz = {train_s * train_hz:g}: the train has no pulse")
    if 1000.0 / train_hz < 5 * PULSE_MS:
        raise ParameterError(f"train_hz = {train_hz:g} Hz is too fast for {PULSE_MS:g} ms pulses "
                             f"(at most {200 / PULSE_MS:g} Hz)")
    train_end_s = TRAIN_START_S + n_pulses / train_hz
    t1_s = train_end_s + AHP_DELAY_S
    if duration_s < t1_s + 10.0:
        raise ParameterError(f"duration_s = {duration_s:g} s is too short: the AHP is analysed "
                             f"from {t1_s:g} s and needs at least {t1_s + 10:g} s")
    if pulse_nA is not None:
        pulse_nA = check_number("pulse_nA", pulse_nA, low=0.0)

    from neuron import h

    from .. import build, defaults as _defaults, results, solver, steady, thermo
    from ..cell import Cell

    build.load()
    h.load_file("stdrun.hoc")
    d = _defaults.apply(defaults)
    rec = recipe_mod.resolve(recipe, default=None if morphology is None else "mature")
    cvode = h.CVode()
    saved = {"active": cvode.active(), "rtol": cvode.rtol(), "atol": cvode.atol(),
             "scales": {var: cvode.atolscale(var) for var in solver.ATOL_SCALE}}
    cell = sec = None
    warnings = []
    try:
        # -- the cell at rest ------------------------------------------------
        if morphology is None:
            sec, applied = _compartment(h, rec, diam_um, length_um, "ionhomeo_pump_ahp_process")
            cvode.active(0)
            state = steady.solve([sec])
            segments = [sec(0.5)]
            soma = sec(0.5)

            def start(state=state, sec=sec):
                state.finitialize([sec])

            def shift_v(dv, state=state, sec=sec):
                dataclasses.replace(state, v=state.v + dv).finitialize([sec])

            cell_meta = {"morphology": None, "L_um": length_um, "diam_um": diam_um, "nseg": 1,
                         "recipe": None if rec is None else rec.to_dict(),
                         "recipe_region": "soma",
                         "source": "single cylinder: a thin process (axon or thin dendrite)",
                         "applied": applied}
        else:
            cell = Cell(morphology, rec)
            cvode.active(0)
            state = cell.initialize()
            segments = [s for s in cell.segments("all") if s.sec.has_membrane("nakpump")
                        and s.sec.has_membrane("nadyn")]
            if not segments:
                raise ParameterError(f"recipe {rec.name!r} places no nakpump with nadyn in the "
                                     "cell")
            soma = cell.soma_center

            def start(state=state):
                state.finitialize()

            def shift_v(dv, state=state):
                dataclasses.replace(state, v=state.v + dv).finitialize()

            cell_meta = cell.to_dict()
        start()
        v_rest = float(soma.v)
        rest = {name: float(getattr(soma, name)) for name in ("nai", "ki", "cli", "cai")
                if hasattr(soma, name)}
        nai_rest = np.array([s.nai for s in segments])
        ip_rest_seg = np.array([s.ipump_nakpump for s in segments])
        pump = [(_pump_at(h, s)) for s in segments]
        ip_law = np.array([float(p[0]) for p in pump])
        dip = np.array([float(p[1]) for p in pump])
        if not np.allclose(ip_law, ip_rest_seg, rtol=1e-9, atol=1e-15):
            warnings.append("the pump current of the rate law here differs from nakpump's "
                            f"(largest difference {np.max(np.abs(ip_law - ip_rest_seg)):.3g} "
                            "mA/cm2)")
        area = np.array([s.area() for s in segments])  # um2
        diam = np.array([s.diam for s in segments])
        tau_seg = nai_recovery_tau_s(diam, dip)
        g_seg = _slope_conductance(shift_v, segments)  # mS/cm2
        g_total = float(np.sum(g_seg * area))  # mS/cm2 * um2
        soma_k = next((k for k, s in enumerate(segments)
                       if s.sec == soma.sec and abs(s.x - soma.x) < 1e-9), 0)
        s_qs, dina_qs = _quasi_steady(h, state, sec) if sec is not None else (math.nan, math.nan)
        start()

        # -- stimulus ----------------------------------------------------------
        if pulse_nA is None:
            pulse_nA = PULSE_DENSITY * soma.area() * 1e-2 if sec is not None else CELL_PULSE_NA
        period_ms = 1000.0 / train_hz
        pulses_ms = list(TRAIN_START_S * 1e3 + period_ms * np.arange(n_pulses))
        train_ms = n_pulses * period_ms
        balance = (TRAIN_START_S * 1e3, train_ms, -pulse_nA * PULSE_MS * n_pulses / train_ms)
        tstop = duration_s * 1e3

        # -- three runs ----------------------------------------------------------
        runs = {}
        runs["control"] = _simulate(h, start, segments, soma, pulses_ms, pulse_nA, balance,
                                    None, tstop)
        runs["ouabain"] = _simulate(h, start, segments, soma, pulses_ms, pulse_nA, balance,
                                    train_end_s * 1e3, tstop)
        runs["ouabain_no_train"] = _simulate(h, start, segments, soma, [], pulse_nA, None,
                                             train_end_s * 1e3, tstop)
    finally:
        cvode.active(saved["active"])
        cvode.rtol(saved["rtol"])
        cvode.atol(saved["atol"])
        for var, scale in saved["scales"].items():
            cvode.atolscale(var, scale)
        state = start = shift_v = None
        segments = soma = None
        sec = None
        if cell is not None:
            cell.destroy()
            cell = None
    sim_clock = time.perf_counter() - start_clock

    # -- analysis -------------------------------------------------------------
    ctrl, spike_ms = runs["control"]
    t = ctrl["t"] / 1e3
    spikes_s = spike_ms / 1e3
    in_train = (spikes_s >= TRAIN_START_S) & (spikes_s < train_end_s + 0.05)
    per_pulse = np.array([np.sum((spike_ms >= p) & (spike_ms < p + period_ms)) for p in pulses_ms])
    if not np.all(per_pulse == 1):
        warnings.append(f"expected one spike per pulse; got {per_pulse.tolist()} (change pulse_nA)")
    dv = ctrl["v"] - v_rest
    win = t >= t1_s
    tw = t[win] - t1_s
    dvw = dv[win]
    # Na excess: pump-weighted over segments (one compartment: Nai - Nai_rest)
    ts = ctrl["t_seg"] / 1e3
    dna_seg = ctrl["nai_seg"] - nai_rest[:, None]
    weights = area * dip
    excess_seg = (weights[:, None] * dna_seg).sum(axis=0) / weights.sum()
    excess = np.interp(t, ts, excess_seg)
    exw = excess[win]
    dna_t1 = np.array([np.interp(t1_s, ts, row) for row in dna_seg])
    w_t1 = area * dip * dna_t1
    d_pred = float(np.sum(w_t1 * tau_seg) / np.sum(w_t1)) if np.sum(w_t1) > 0 else math.nan
    fit_v = _fit_exp(tw, dvw)
    fit_na = _fit_exp(tw, exw)
    d_meas, tail_share = _duration(tw, dvw, fit_v)
    # the AHP is a hyperpolarisation: correlate -(V - rest) with the Na excess
    corr = float(np.corrcoef(-dvw, exw)[0, 1]) if dvw.size > 2 else math.nan
    ahp = float(dvw.min())
    t_ahp = float(tw[int(np.argmin(dvw))] + AHP_DELAY_S)
    ahp_t1 = float(dvw[0])
    peak_excess = float(excess[t >= TRAIN_START_S].max())
    # ouabain: the train's effect with the pump blocked
    oua, _ = runs["ouabain"]
    base, _ = runs["ouabain_no_train"]
    n = min(oua["v"].size, base["v"].size, t.size)
    diff = oua["v"][:n] - base["v"][:n]
    hyper_oua = max(0.0, -float(diff[win[:n]].min()))
    hyper_ctrl = max(0.0, -ahp)
    dep_oua = float(diff[win[:n]].max())
    oua_fraction = hyper_oua / hyper_ctrl if hyper_ctrl > 0 else math.nan
    # amplitude: pump alone and quasi-steady (every mechanism); area invariant
    g_mean = g_total / area.sum()  # mS/cm2
    s_pump = -float(np.sum(area * dip) / (g_total * 1e-3))  # mV per mM of pump-weighted excess
    amp_pump = s_pump * float(exw[0])
    amp_qs = s_qs * float(exw[0]) if math.isfinite(s_qs) else math.nan
    # tau_Na with every Na flux: ina (Na current) replaces 3 I_p' in the formula
    tau_all = float(nai_recovery_tau_s(diam[soma_k], dina_qs / 3)) \
        if math.isfinite(dina_qs) and dina_qs > 0 else math.nan
    # Na charge that entered per area (C/cm2): volume-weighted load at the end of the train
    te = np.searchsorted(ts, train_end_s)
    vol = area * diam / 4  # um3, the cylinder geometry of nadyn
    na_charge = float(np.sum(vol * dna_seg[:, min(te, ts.size - 1)]) * 1e-15 * 1e-3
                      * thermo.FARADAY / (area.sum() * 1e-8))  # mM um3 -> mol; / cm2
    area_pred = -na_charge / (3 * g_mean * 1e-3) * 1e3  # V s -> mV s
    early = (t >= train_end_s) & (t < t1_s)
    area_meas = d_meas * ahp_t1 + _trapz(dv[early], t[early])
    # what a 20 um soma would need (its own compartment, built and deleted here)
    req = _requirement(h, rec, na_charge)

    # -- checks ---------------------------------------------------------------
    ok_duration = bool(abs(d_meas / d_pred - 1) < DURATION_TOL) if d_pred > 0 else False
    tau_ratio = fit_v["tau_s"] / fit_na["tau_s"] if fit_na["tau_s"] > 0 else math.nan
    ok_follow = bool(abs(tau_ratio - 1) < TAU_TOL and corr > MIN_CORRELATION)
    ok_ouabain = bool(hyper_ctrl > 0 and hyper_oua < OUABAIN_FRACTION * hyper_ctrl)
    passed = ok_duration and ok_follow and ok_ouabain
    tens = 10.0 <= d_meas < 100.0
    if not tens:
        warnings.append(f"the AHP lasts {d_meas:.3g} s, not tens of seconds: tau_Na scales with "
                        "the diameter (about 25 s per um with the defaults)")
    if abs(ahp) < 0.1:
        warnings.append(f"the AHP is tiny ({ahp:.3g} mV): see AHP_20um_* for what it would take")
    if tail_share > 0.1:
        warnings.append(f"{100 * tail_share:.0f} % of the AHP area is extrapolated beyond the run; "
                        "run longer (duration_s)")
    if morphology is not None and not ok_duration:
        warnings.append("duration check failed in a multi-compartment cell: Na diffuses between "
                        "segments of different tau_Na, which the prediction ignores, and Ca "
                        "mechanisms add a pump-independent, Na-dependent component")

    dflt = req["default"]
    s_pna, s_all = req.get("imax_pna", {}), req.get("imax_leaks", {})
    rows = [
        ("Vm", v_rest, "mV", "resting potential at the soma (solved steady state)"),
        ("Nai", rest["nai"], "mM", "resting Nai at the soma"),
        ("I_pump", float(ip_rest_seg[soma_k]) * 1e3, "uA/cm2", "resting pump current at the soma"),
        ("dIpump_dNai", float(dip[soma_k]) * 1e3, "uA/cm2/mM",
         "pump's Na sensitivity at rest, from nakpump's rate law"),
        ("G_m", float(g_seg[soma_k]), "mS/cm2", "steady-state slope conductance at the soma"),
        ("tau_Na_pred", float(tau_seg[soma_k]), "s",
         "predicted Nai recovery tau at the soma: (diam/4) F / (3 dIpump/dNai)"),
        ("tau_Na_all", tau_all, "s", "the same with every Na flux on the slow manifold (V, Cl, "
                                     "Ca re-balanced; compartment only): (diam/4) F / (dINa/dNai)"),
        ("pulses", n_pulses, "1", f"charge-balanced pulses, {PULSE_MS:g} ms, {pulse_nA:.3g} nA, "
                                  f"{train_hz:g} Hz from {TRAIN_START_S:g} s"),
        ("spikes", int(in_train.sum()), "1", "spikes in the train (one per pulse expected)"),
        ("Nai_load", peak_excess, "mM", "peak Na excess (pump-weighted over segments)"),
        ("AHP", ahp, "mV", f"slow AHP: lowest V - rest from {AHP_DELAY_S:g} s after the train"
                           + ("" if abs(ahp) >= 0.1 else " (tiny: see AHP_20um_*)")),
        ("t_AHP", t_ahp, "s", "time of that minimum after the end of the train"),
        ("AHP_t1", ahp_t1, "mV", f"V - rest {AHP_DELAY_S:g} s after the train"),
        ("AHP_pred_pump", amp_pump, "mV",
         "pump alone: -dIpump/dNai * Na excess / G_m at that time"),
        ("AHP_pred_all", amp_qs, "mV", "quasi-steady, every mechanism (V, Cl, Ca re-balanced at "
                                       "Nai + x, Ki - x; compartment only)"),
        ("AHP_area", area_meas, "mV s", "integral of V - rest from the end of the train"),
        ("AHP_area_pred", area_pred, "mV s", "charge conservation, pump alone: -Q_Na / (3 G_m)"),
        ("duration_pred", d_pred, "s", "predicted AHP duration: pump-current-weighted tau_Na"),
        ("duration", d_meas, "s", "measured AHP duration: integral of dV from t1 / dV(t1)"),
        ("check_duration", float(ok_duration), "1",
         f"|duration / duration_pred - 1| < {DURATION_TOL:g}"
         + (" (tens of seconds)" if tens else " (NOT tens of seconds)")),
        ("tau_AHP", fit_v["tau_s"], "s", "exponential fit to V - rest from t1"),
        ("tau_Nai", fit_na["tau_s"], "s", "exponential fit to the Na excess from t1"),
        ("correlation", corr, "1", "correlation of rest - V with the Na excess from t1"),
        ("check_follows_Nai", float(ok_follow), "1",
         f"|tau_AHP / tau_Nai - 1| < {TAU_TOL:g} and correlation > {MIN_CORRELATION:g}"),
        ("AHP_ouabain", -hyper_oua, "mV", "hyperpolarisation by the train with the pump blocked "
                                          "after it (vs the blocked cell without a train)"),
        ("depolarisation_ouabain", dep_oua, "mV", "largest train-induced depolarisation, pump "
                                                  "blocked"),
        ("ouabain_fraction", oua_fraction, "1", "AHP_ouabain / AHP (control)"),
        ("check_ouabain", float(ok_ouabain), "1",
         f"hyperpolarisation with the pump blocked < {OUABAIN_FRACTION:g} of the control AHP"),
        ("check", float(passed), "1", "all three: check_duration, check_follows_Nai, "
                                      "check_ouabain"),
        ("tau_Na_20um", dflt["tau_Na_s"], "s", f"predicted tau_Na of a {SOMA_DIAM_UM:g} um soma "
                                               "with the recipe's defaults"),
        ("AHP_20um", dflt["train_AHP_mV"], "mV", "pump-alone AHP of that soma after this train "
                                                 "(same Na charge per area)"),
        ("factor_20um", req["factor"], "1", f"dIpump/dNai must grow by this for a "
                                            f"{TARGET_TAU_S:g} s AHP in that soma"),
        ("Vm_20um_imax_pna", s_pna.get("Vrest_mV", math.nan), "mV",
         "that soma with imax and pna x factor_20um (pNa/pK x factor): resting V"
         + ("" if "error" not in s_pna else " - none found")),
        ("tau_Na_20um_imax_pna", s_pna.get("tau_Na_s", math.nan), "s", "its tau_Na"),
        ("AHP_20um_imax_pna", s_pna.get("train_AHP_mV", math.nan), "mV",
         "its pump-alone AHP after this train"),
        ("Vm_20um_imax_leaks", s_all.get("Vrest_mV", math.nan), "mV",
         "that soma with imax, pna, pk, pcl x factor_20um: resting V"
         + ("" if "error" not in s_all else " - none found")),
        ("tau_Na_20um_imax_leaks", s_all.get("tau_Na_s", math.nan), "s", "its tau_Na"),
        ("AHP_20um_imax_leaks", s_all.get("train_AHP_mV", math.nan), "mV",
         "its pump-alone AHP after this train (area fixed by -Q_Na/(3 G_m): G_m grows too)"),
        ("kmna_max_factor", req["kmna_max_factor"], "1",
         "largest shortening of tau_Na by raising kmna alone: (Nai + kmna)/kmna"),
        ("Nai_imax_only", req["Nai_for_imax_only_mM"], "mM",
         "resting Nai needed to reach factor_20um by raising imax alone"),
    ]
    summary = summary_table([(q, float(v), u, desc) for q, v, u, desc in rows])
    timecourse = _timecourse(t, runs, v_rest, excess, ts)
    parameters = {
        "duration_s": duration_s, "train_start_s": TRAIN_START_S, "train_s": train_s,
        "train_hz": train_hz, "pulse_nA": pulse_nA, "pulse_ms": PULSE_MS,
        "charge_balance_nA": balance[2], "ahp_delay_s": AHP_DELAY_S,
        "ouabain": "nakpump avail = 0 in every segment from the end of the train",
        "diam_um": diam_um if morphology is None else None,
        "length_um": length_um if morphology is None else None,
        "cvode": {"atolscale": dict(solver.ATOL_SCALE)},
        "record_dt_ms": {"soma": V_DT_MS, "segments": SEG_DT_MS},
    }
    metadata = results.provenance(
        protocol=NAME, description=DESCRIPTION, cells={"cell": cell_meta},
        defaults=d.to_dict(), parameters=parameters,
        rest={"v_mV": v_rest, **{f"{k}_mM": v for k, v in rest.items()}},
        predictions={"tau_Na_s_per_segment_range": [float(tau_seg.min()), float(tau_seg.max())],
                     "duration_pred_s": d_pred, "AHP_per_mM_pump_mV": s_pump,
                     "AHP_per_mM_quasi_steady_mV": s_qs, "dINa_dNai_quasi_steady": dina_qs,
                     "tau_Na_all_s": tau_all, "G_m_mean_mS_cm2": g_mean,
                     "Na_charge_C_per_cm2": na_charge, "soma_20um": req},
        fits={"AHP": fit_v, "Na_excess": fit_na, "tail_share": tail_share},
        summary=summary_dict(summary),
        check={"expected": {"duration_s": d_pred, "tau_ratio": 1.0, "correlation": ">0.99",
                            "ouabain_fraction": 0.0},
               "obtained": {"duration_s": d_meas, "tau_ratio": tau_ratio, "correlation": corr,
                            "ouabain_fraction": oua_fraction},
               "tolerance": {"duration_rel": DURATION_TOL, "tau_ratio_rel": TAU_TOL,
                             "correlation_min": MIN_CORRELATION,
                             "ouabain_fraction_max": OUABAIN_FRACTION},
               "passed": passed},
        spike_times_s=spikes_s.tolist(), warnings=warnings, simulation_runtime_s=sim_clock,
    )
    return finish(out_dir, NAME, summary, metadata, start_clock, timecourse,
                  figure=lambda: _figure(t, runs, v_rest, excess, ts, t1_s, train_end_s, fit_v,
                                         fit_na, d_pred, s_pump, s_qs, summary))


def _timecourse(t, runs, v_rest, excess, ts):
    """Tidy table at SEG_DT_MS: condition, t_s, variable, value, unit."""
    import pandas as pd

    frames = []
    step = max(1, int(round(SEG_DT_MS / V_DT_MS)))
    for cond, (data, _) in runs.items():
        tt = data["t"][::step] / 1e3
        for name, unit in (("v", "mV"), ("nai", "mM"), ("ki", "mM"), ("cli", "mM"),
                           ("cai", "mM")):
            if name in data:
                frames.append(pd.DataFrame({"condition": cond, "t_s": np.round(tt, 6),
                                            "variable": name, "value": data[name][::step],
                                            "unit": unit}))
        ip = data["ipump_seg"]
        frames.append(pd.DataFrame({"condition": cond, "t_s": np.round(data["t_seg"] / 1e3, 6),
                                    "variable": "ipump_soma", "value": ip[0] * 1e3,
                                    "unit": "uA/cm2"}))
    frames.append(pd.DataFrame({"condition": "control", "t_s": np.round(t[::step], 6),
                                "variable": "na_excess", "value": excess[::step], "unit": "mM"}))
    return pd.concat(frames, ignore_index=True)


def _figure(t, runs, v_rest, excess, ts, t1_s, train_end_s, fit_v, fit_na, d_pred, s_pump,
            s_qs, summary):
    from matplotlib.figure import Figure

    values = dict(zip(summary["quantity"], summary["value"]))
    fig = Figure(figsize=(9.0, 9.5), layout="constrained")
    ax_v, ax_n, ax_o = fig.subplots(3, 1, sharex=True)
    ctrl = runs["control"][0]
    dv = ctrl["v"] - v_rest
    after = t >= train_end_s + 0.2
    ax_v.plot(t[after], dv[after], color="k", lw=1.0, label="control: V - rest")
    ax_v.plot(t[after], s_pump * excess[after], color="tab:blue", ls="--", lw=1.0,
              label="pump alone: -(dIp/dNai) Na excess / G_m")
    if math.isfinite(s_qs):
        ax_v.plot(t[after], s_qs * excess[after], color="tab:green", ls="--", lw=1.0,
                  label="every mechanism, quasi-steady: (dV/dNai) Na excess")
    tt = t[t >= t1_s]
    if math.isfinite(fit_v["tau_s"]):
        ax_v.plot(tt, fit_v["c"] + fit_v["a"] * np.exp(-(tt - t1_s) / fit_v["tau_s"]),
                  color="tab:red", ls=":", lw=1.5, label=f"fit, tau {fit_v['tau_s']:.1f} s")
    ax_v.axvspan(TRAIN_START_S, train_end_s, color="tab:orange", alpha=0.25, lw=0,
                 label="spike train")
    ax_v.axhline(0, color="0.5", lw=0.6)
    ax_v.set_ylabel("V - rest (mV)")
    ax_v.legend(fontsize=8, loc="lower right")
    ax_n.plot(t, excess, color="k", lw=1.0, label="Na excess")
    if math.isfinite(fit_na["tau_s"]):
        ax_n.plot(tt, fit_na["c"] + fit_na["a"] * np.exp(-(tt - t1_s) / fit_na["tau_s"]),
                  color="tab:red", ls=":", lw=1.5, label=f"fit, tau {fit_na['tau_s']:.1f} s")
    ax_n.axvspan(TRAIN_START_S, train_end_s, color="tab:orange", alpha=0.25, lw=0)
    ax_n.set_ylabel("Na$_i$ - rest (mM)")
    ax_n.legend(fontsize=8)
    oua, base = runs["ouabain"][0], runs["ouabain_no_train"][0]
    n = min(oua["v"].size, base["v"].size, t.size)
    ax_o.plot(t[after], dv[after], color="k", lw=1.0, label="control: V - rest")
    ax_o.plot(t[:n][after[:n]], (oua["v"][:n] - base["v"][:n])[after[:n]], color="tab:green",
              lw=1.0, label="pump blocked after the train: V - V(blocked, no train)")
    ax_o.plot(t[:n][after[:n]], (base["v"][:n] - v_rest)[after[:n]], color="tab:green", ls=":",
              lw=1.0, label="blocked, no train: V - rest")
    ax_o.axhline(0, color="0.5", lw=0.6)
    ax_o.set_ylabel("mV")
    ax_o.set_xlabel("time (s)")
    ax_o.legend(fontsize=8)
    ax_o.set_xlim(t[0], t[-1])
    fig.suptitle(f"Pump AHP: {values['AHP']:.2f} mV, duration {values['duration']:.1f} s "
                 f"(predicted {d_pred:.1f} s from tau_Na); tau_AHP {values['tau_AHP']:.1f} s, "
                 f"tau_Nai {values['tau_Nai']:.1f} s;\nwith the pump blocked: "
                 f"{values['AHP_ouabain']:.3f} mV. A 20 um soma: tau_Na "
                 f"{values['tau_Na_20um']:.0f} s, AHP {values['AHP_20um']:.3f} mV",
                 fontsize=10)
    return fig
