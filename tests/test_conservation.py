"""A sealed cell (fixed bath, no kext): the moles of each ion inside change
only by what crossed the membrane, through spikes, pumps, cotransport,
synaptic Cl current and axial diffusion between segments."""

import math

import numpy as np
import pytest

from ionhomeo import thermo

from cells import ALL_NAKCL, ball_and_sticks

ION_VALENCE = {"na": 1, "k": 1, "cl": -1}


def _volume_um3(seg):
    sec = seg.sec
    return math.pi * seg.diam ** 2 / 4 * sec.L / sec.nseg  # the owners' COMPARTMENT


def _content_mol(segs, ion):
    # c (mM) * vol (um3): 1 mM = 1e-18 mol/um3
    return sum(getattr(seg, f"{ion}i") * _volume_um3(seg) for seg in segs) * 1e-18


@pytest.mark.parametrize("secondorder", [0, 2])
def test_sealed_cell_conserves_each_ion_fixed_step(h, secondorder):
    soma, dends = ball_and_sticks(h, ALL_NAKCL)
    segs = [seg for sec in [soma, *dends] for seg in sec]
    stim = h.IClamp(soma(0.5))
    stim.delay, stim.dur, stim.amp = 5, 150, 1.0  # nA: a spike train
    syn = h.GabaA(dends[0](0.8))
    ns = h.NetStim()
    ns.start, ns.interval, ns.number, ns.noise = 2, 5, 40, 0
    nc = h.NetCon(ns, syn)
    nc.weight[0] = 0.01  # uS
    # record the summed ionic current densities at every step (see below)
    recs = {ion: [h.Vector().record(getattr(seg, f"_ref_i{ion}")) for seg in segs]
            for ion in ION_VALENCE}
    vrec = h.Vector().record(soma(0.5)._ref_v)
    h.dt = 0.025
    h.secondorder = secondorder
    h.finitialize(-70)
    before = {ion: _content_mol(segs, ion) for ion in ION_VALENCE}
    h.continuerun(200)
    assert vrec.max() > 0, "the stimulus must make spikes"
    for ion, z in ION_VALENCE.items():
        after = _content_mol(segs, ion)
        # Fixed step: in each step NEURON computes currents once (BREAKPOINT;
        # with secondorder=2 then corrected to mid-step), advances the
        # concentrations with them and records; so the value recorded at
        # step n (n >= 1) is the current that moved ions in step n.
        # crossed (mol) = -sum dt * i (mA/cm2) * area (um2 = 1e-8 cm2) / (z F)
        crossed = 0.0
        for seg, rec in zip(segs, recs[ion]):
            i = np.asarray(rec)[1:]
            crossed -= np.sum(i) * h.dt * 1e-3 * seg.area() * 1e-8 * 1e-3 / (z * thermo.FARADAY)
        change = after - before[ion]
        assert abs(change) > 1e-6 * before[ion] * 1e-3, f"{ion}: nothing moved, test is vacuous"
        # 8000 steps of double-precision sums: round-off of order 1e-13 of the content
        assert abs(change - crossed) <= 1e-9 * abs(change), (ion, change, crossed)
    del nc, ns, syn, stim
