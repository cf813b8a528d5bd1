"""Hand-built NanoAOD-v15-style files: jets with the pT, eta and mass you choose.

Each fat jet gets eight massless constituents close to its axis (pT fractions 30, 20,
15, 10, 10, 5, 5, 5 %), enough for images and substructure features to be finite. Used
by the tests that check training, the processors and ``score()`` select the same jets.
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np

from coffea_anomaly.generation.writer import write_events_file

FRACTIONS = np.array([0.30, 0.20, 0.15, 0.10, 0.10, 0.05, 0.05, 0.05])
OFFSETS = np.array([[0.0, 0.0], [0.05, 0.02], [-0.04, 0.06], [0.1, -0.08],
                    [-0.12, -0.05], [0.2, 0.15], [-0.25, 0.1], [0.05, -0.3]])  # fmt: skip


def write_handmade(path: Path, events: list[list[tuple[float, float, float]]], *, phi_step: float = 2.5) -> Path:
    """Write events whose fat jets are ``(pt, eta, mass)``; jet i of an event has phi = i * phi_step."""
    rows = []
    for ev in events:
        fatjets, cands, links = [], [], []
        for i, (pt, eta, mass) in enumerate(ev):
            phi = float(np.mod(i * phi_step + np.pi, 2 * np.pi) - np.pi)
            fatjets.append({"pt": pt, "eta": eta, "phi": phi, "mass": mass, "msoftdrop": 0.8 * mass,
                            "nConstituents": len(FRACTIONS), "truthMatch": 0})  # fmt: skip
            for f, (de, dp) in zip(FRACTIONS, OFFSETS):
                links.append({"jetIdx": i, "pfCandIdx": len(cands)})
                cands.append({"pt": pt * f, "eta": eta + de, "phi": float(np.mod(phi + dp + np.pi, 2 * np.pi) - np.pi),
                              "mass": 0.0, "charge": 1 if len(cands) % 2 else 0, "pdgId": 211})  # fmt: skip
        rows.append({"genWeight": 1.0, "truthLabel": 0, "FatJet": fatjets, "PFCand": cands, "FatJetPFCand": links})
    array = ak.Array(rows)
    array = ak.zip(
        {
            "genWeight": ak.values_astype(array.genWeight, np.float32),
            "truthLabel": ak.values_astype(array.truthLabel, np.int32),
            **{c: ak.zip({f: _typed(array[c][f]) for f in ak.fields(array[c])}) for c in ("FatJet", "PFCand", "FatJetPFCand")},
        },
        depth_limit=1,
    )
    write_events_file(path, array, run=1, luminosity_block=1, first_event=1)
    return path


def _typed(column: ak.Array) -> ak.Array:
    kind = ak.type(column).content.content
    return ak.values_astype(column, np.int32 if "int" in str(kind) else np.float32)
