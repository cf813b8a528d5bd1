"""Physics sanity of the generated samples (a few hundred events each)."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
from gen_helpers import in_window

from coffea_anomaly.generation.filters import dijet_mass

pytestmark = pytest.mark.slow


def test_every_event_has_a_fat_jet_in_the_requested_window(qcd_events, top_events):
    assert ak.all(ak.any(in_window(qcd_events), axis=1))
    assert ak.all(ak.any(in_window(top_events) & (top_events.FatJet_truthMatch == 1), axis=1))


def test_top_jet_mass_peaks_at_the_top_mass(top_events):
    jets = in_window(top_events) & (top_events.FatJet_truthMatch == 1)
    mass = ak.to_numpy(ak.flatten(top_events.FatJet_mass[jets]))
    counts, edges = np.histogram(mass, bins=np.arange(100.0, 260.0, 10.0))
    peak = edges[np.argmax(counts)] + 5.0
    assert 160.0 <= peak <= 185.0
    assert np.median(mass) == pytest.approx(173.0, abs=12.0)
    assert np.mean(np.abs(mass - 173.0) < 25.0) > 0.6


def test_qcd_jet_mass_falls_smoothly_without_a_top_peak(qcd_events):
    mass = ak.to_numpy(ak.flatten(qcd_events.FatJet_mass[in_window(qcd_events)]))
    counts, _ = np.histogram(mass, bins=[60.0, 120.0, 180.0, 240.0, 400.0])
    assert np.all(np.diff(counts) < 0), counts
    # nothing like the top-jet concentration: most QCD jets are light
    assert np.mean(np.abs(mass - 173.0) < 25.0) < 0.2
    assert np.median(mass) < 110.0


def test_wprime_dijet_mass_peaks_at_the_wprime_mass(wprime_events):
    mjj = dijet_mass(wprime_events.FatJet_pt, wprime_events.FatJet_eta, wprime_events.FatJet_phi,
                     wprime_events.FatJet_mass)
    counts, edges = np.histogram(mjj, bins=np.arange(2000.0, 5000.0, 200.0))
    peak = edges[np.argmax(counts)] + 100.0
    assert 3100.0 <= peak <= 3700.0
    assert np.mean(np.abs(mjj - 3500.0) < 500.0) > 0.7


def test_wprime_jets_carry_the_x_and_y_masses(wprime_events):
    # of the two leading jets, the heavier is X (500 GeV), the lighter Y (100 GeV)
    mass = ak.to_numpy(ak.pad_none(wprime_events.FatJet_mass, 2, axis=1, clip=True)).filled(0.0)
    heavy, light = mass.max(axis=1), mass.min(axis=1)
    heavy_counts, heavy_edges = np.histogram(heavy, bins=np.arange(0.0, 800.0, 50.0))
    assert heavy_edges[np.argmax(heavy_counts)] in (450.0, 500.0)
    assert np.mean(np.abs(heavy - 500.0) < 100.0) > 0.45
    light_counts, light_edges = np.histogram(light, bins=np.arange(0.0, 300.0, 20.0))
    assert light_edges[np.argmax(light_counts)] in (80.0, 100.0)
    assert np.mean(np.abs(light - 100.0) < 40.0) > 0.7
