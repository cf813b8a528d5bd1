"""Hand-built NanoAOD-v15-style files: jets with the pT, eta and mass you choose.

Each fat jet gets eight massless constituents close to its axis (pT fractions 30, 20,
15, 10, 10, 5, 5, 5 %), enough for images and substructure features to be finite. Used
by the tests that check training, the processors and ``score()`` select the same jets.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from coffea_anomaly.generation.writer import write_events_file

FRACTIONS = np.array([0.30, 0.20, 0.15, 0.10, 0.10, 0.05, 0.05, 0.05])
OFFSETS = np.array([[0.0, 0.0], [0.05, 0.02], [-0.04, 0.06], [0.1, -0.08],
                    [-0.12, -0.05], [0.2, 0.15], [-0.25, 0.1], [0.05, -0.3]])  # fmt: skip


#: (event number, jet number) in the ``events`` list given to :func:`write_handmade`
JetId = tuple[int, int]

NAN, INF = float("nan"), float("inf")

#: ``write_handmade(path, **BAD_JETS)``: good jets in a 550-650 GeV window beside bad ones;
#: every jet has its own mass (one 5 GeV bin each)
BAD_JETS: dict[str, Any] = {
    "events": [
        [(600.0, 0.1, 101.0), (560.0, 0.3, 111.0)],  # jet 0: mass NaN
        [(600.0, 0.1, 121.0), (580.0, 0.3, 131.0)],  # jet 1: pt inf
        [(600.0, 0.1, 141.0), (580.0, 0.3, 151.0)],  # jet 0: a constituent's eta NaN
        [(600.0, 0.1, 161.0), (580.0, 0.3, 171.0)],  # jet 1: a constituent's pt inf
        [(600.0, 0.1, 181.0), (580.0, 3.4, 191.0)],  # jet 0: no constituents; jet 1 forward
        [(600.0, 0.1, 201.0), (700.0, 0.3, 211.0)],  # jet 1 above the window
    ],
    "jet_values": {(0, 0): {"mass": NAN}, (1, 1): {"pt": INF}},
    "constituent_values": {(2, 0): {"eta": NAN}, (3, 1): {"pt": INF}},
    "no_constituents": [(4, 0)],
}
#: the jets of BAD_JETS that can be scored (the others: NaN, inf or no constituents)
BAD_JETS_SCORABLE = [[False, True], [True, False], [False, True], [True, False], [False, True], [True, True]]

_PAIR = [(1300.0, 0.0, 101.0), (1250.0, 0.5, 91.0)]
#: ``write_handmade(path, **BAD_DIJETS)``: dijet events, the pair of events 1-6 holds a bad jet
BAD_DIJETS: dict[str, Any] = {
    "events": [_PAIR] * 7
    + [[*_PAIR, (400.0, 0.2, 81.0)]]  # event 7: a bad third jet, outside the pair
    + [[(1300.0, 0.0, 101.0), (600.0, 1.5, 91.0)]],  # event 8: |delta eta| 1.5
    "jet_values": {(1, 0): {"mass": NAN}, (2, 1): {"eta": INF}, (3, 0): {"pt": NAN}},
    "constituent_values": {(4, 0): {"phi": NAN}, (5, 1): {"pt": INF}, (7, 2): {"eta": NAN}},
    "no_constituents": [(6, 1)],
}


def run_isolated(script: str, *args: str) -> Any:
    """Run ``script`` in a fresh interpreter and parse the JSON of its last line of output.

    For code that once crashed the interpreter (fastjet segfaults on NaN): a crash
    (rc -11/139) fails the calling test instead of killing pytest.
    """
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(script), *args],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, f"rc {proc.returncode}\n{proc.stderr[-3000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def write_handmade(
    path: Path,
    events: list[list[tuple[float, float, float]]],
    *,
    phi_step: float = 2.5,
    jet_values: Mapping[JetId, Mapping[str, float]] | None = None,
    constituent_values: Mapping[JetId, Mapping[str, float]] | None = None,
    no_constituents: Collection[JetId] = (),
) -> Path:
    """Write events whose fat jets are ``(pt, eta, mass)``; jet i of an event has phi = i * phi_step.

    Bad inputs, for the tests that they are caught: ``jet_values`` overwrites FatJet fields
    of some jets (e.g. ``{(0, 1): {"mass": float("nan")}}``), ``constituent_values`` the
    fields of their leading constituent (e.g. ``{(2, 0): {"pt": float("inf")}}``), and
    the jets in ``no_constituents`` get no stored constituent (like forward jets in real
    NanoAOD v15 files). The constituents are made from the jet's values as given in
    ``events``.
    """
    jet_values, constituent_values = jet_values or {}, constituent_values or {}
    rows = []
    for e, ev in enumerate(events):
        fatjets, cands, links = [], [], []
        for i, (pt, eta, mass) in enumerate(ev):
            phi = float(np.mod(i * phi_step + np.pi, 2 * np.pi) - np.pi)
            stored = (e, i) not in no_constituents
            fatjets.append({"pt": pt, "eta": eta, "phi": phi, "mass": mass, "msoftdrop": 0.8 * mass,
                            "nConstituents": len(FRACTIONS), "truthMatch": 0,
                            **jet_values.get((e, i), {})})  # fmt: skip
            for k, (f, (de, dp)) in enumerate(zip(FRACTIONS, OFFSETS, strict=True)):
                if not stored:
                    continue
                links.append({"jetIdx": i, "pfCandIdx": len(cands)})
                cands.append({"pt": pt * f, "eta": eta + de, "phi": float(np.mod(phi + dp + np.pi, 2 * np.pi) - np.pi),
                              "mass": 0.0, "charge": 1 if len(cands) % 2 else 0, "pdgId": 211,
                              **(constituent_values.get((e, i), {}) if k == 0 else {})})  # fmt: skip
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
