"""DijetAnomalyProcessor: two leading fat jets, m_jj, event scores of N models, QUAK space."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import awkward as ak
import hist
from coffea import processor

from coffea_anomaly.histograms import dataset_axis, is_dask, make_hist, mass_axis, mjj_axis
from coffea_anomaly.representations import fatjet_constituents
from coffea_anomaly.selection import DijetSelection, select_dijets

from .common import (
    choose_selection,
    count,
    dataset_name,
    event_weight,
    load_models,
    model_score_axis,
    model_scores,
    require_fields,
)

__all__ = ["DEFAULT_DIJET_SELECTION", "DijetAnomalyProcessor"]

#: for models whose card records no training selection: LHC-Olympics-like cuts
DEFAULT_DIJET_SELECTION = DijetSelection(
    jet_pt_min=300.0, lead_pt_min=1200.0, eta_max=2.5, deta_max=1.3, mjj_min=1500.0, mjj_max=8000.0
)

#: score bins of the 2-D QUAK-space projections and of the m_jj x score1 x score2 histograms
QUAK_BINS = 50
MJJ_QUAK_BINS = 25

#: truth labels: -1 unknown (data, or a sample without truth), 0 background, 1 signal
LABELS = [-1, 0, 1]


def _label_axis() -> hist.axis.IntCategory:
    return hist.axis.IntCategory(LABELS, name="label", label="truth label")


class DijetAnomalyProcessor(processor.ProcessorABC):
    """Dijet events scored by event-level models, histogrammed for bump hunts.

    Histograms (all with a ``dataset`` axis and a truth ``label`` axis):

    * ``mjj``: m_jj of the selected events;
    * ``mjj_score_<S>``: m_jj × score S, fine score binning (background quantile edges
      of the model card), so selections and uniformly populated categories can be formed
      after the job;
    * ``quak_<S1>__<S2>``: 2-D projections of the N-dim loss (QUAK) space;
    * ``mjj_quak_<S1>__<S2>``: m_jj × S1 × S2 with coarser quantile binning (at most 25
      bins per score), for 2-D categories;
    * ``jet_masses``: m_J1 × m_J2 (heavier jet first).

    The cutflow counts the events kept after each step; the last steps drop events whose
    pair holds a jet with a non-finite ``pt, eta, phi, mass``, without stored
    constituents or with a non-finite constituent (``pair: ...``), so no such number
    reaches fastjet, onnxruntime or a histogram.

    Args:
        models: event-level ONNX models (paths, shipped names, OnnxModel objects) or a
            mapping name -> model; may be empty (then only m_jj is histogrammed).
        selection: the dijet selection (:mod:`coffea_anomaly.selection`); None: the one
            the models were trained with (their cards); a mapping: options that replace
            the trained selection's. A looser one than training is run, and said in
            :attr:`selection_warnings`.
        mjj_range: m_jj histogram range in GeV.
        model_options: OnnxModel options (batch_size, intra_op_threads, ...).
    """

    def __init__(
        self,
        models: Sequence[Any] | Mapping[str, Any] = (),
        selection: DijetSelection | Mapping[str, Any] | None = None,
        mjj_range: tuple[float, float] = (1000.0, 8000.0),
        model_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.models = load_models(models, **(model_options or {}))
        self.selection, self.selection_warnings = choose_selection(
            self.models, selection, DEFAULT_DIJET_SELECTION
        )
        self.mjj_range = mjj_range

    def process(self, events: Any) -> dict[str, Any]:
        dataset = dataset_name(events)
        require_fields(events, "FatJet", where=f"dataset {dataset!r}")
        sel = self.selection
        dask = is_dask(events)
        weight = event_weight(events)
        label = events.truthLabel if "truthLabel" in events.fields else ak.full_like(weight, -1, dtype="int32")

        fatjets = events.FatJet
        if sel.truth_match:
            require_fields(fatjets, "truthMatch", where=f"FatJet of dataset {dataset!r}")
        jets, cons, keep, steps = select_dijets(fatjets, fatjet_constituents(events), sel)
        cutflow: dict[str, Any] = {"events": ak.num(events, axis=0)}
        cutflow.update({name: count(mask) for name, mask in steps.items()})
        weight, label = weight[keep], label[keep]
        mjj = (jets[:, 0] + jets[:, 1]).mass
        heavy_first = jets[ak.argsort(jets.mass, axis=1, ascending=False)]

        hists: dict[str, Any] = {}
        h = make_hist(dataset_axis(), mjj_axis(*self.mjj_range), _label_axis(), dask=dask, name="mjj")
        h.fill(dataset=dataset, mjj=mjj, label=label, weight=weight)
        hists["mjj"] = h
        hj = make_hist(dataset_axis(), mass_axis("mj1", 0, 1000, 100), mass_axis("mj2", 0, 1000, 100),
                       dask=dask, name="jet_masses")
        hj.fill(dataset=dataset, mj1=heavy_first.mass[:, 0], mj2=heavy_first.mass[:, 1], weight=weight)
        hists["jet_masses"] = hj

        scores: dict[str, Any] = {}
        score_axes: dict[str, tuple[Any, str]] = {}
        for name, model in self.models.items():
            for key, (score_name, values) in model_scores(name, model, jets, cons).items():
                scores[key] = values
                score_axes[key] = (model, score_name)
        if scores:
            cutflow["events scored"] = ak.num(mjj, axis=0)
        for key, values in scores.items():
            model, sname = score_axes[key]
            hs = make_hist(dataset_axis(), mjj_axis(*self.mjj_range), model_score_axis(model, sname, "score"),
                           _label_axis(), dask=dask, name=f"mjj_score_{key}")
            hs.fill(dataset=dataset, mjj=mjj, score=values, label=label, weight=weight)
            hists[f"mjj_score_{key}"] = hs
        for a, b in itertools.combinations(scores, 2):
            (ma, sa), (mb, sb) = score_axes[a], score_axes[b]
            hq = make_hist(dataset_axis(), model_score_axis(ma, sa, "score1", QUAK_BINS), model_score_axis(mb, sb, "score2", QUAK_BINS),
                           _label_axis(), dask=dask, name=f"quak_{a}__{b}")
            hq.fill(dataset=dataset, score1=scores[a], score2=scores[b], label=label, weight=weight)
            hists[f"quak_{a}__{b}"] = hq
            h3 = make_hist(dataset_axis(), mjj_axis(*self.mjj_range), model_score_axis(ma, sa, "score1", MJJ_QUAK_BINS),
                           model_score_axis(mb, sb, "score2", MJJ_QUAK_BINS), dask=dask, name=f"mjj_quak_{a}__{b}")
            h3.fill(dataset=dataset, mjj=mjj, score1=scores[a], score2=scores[b], weight=weight)
            hists[f"mjj_quak_{a}__{b}"] = h3
        return {"hists": hists, "cutflow": {dataset: cutflow}}

    def postprocess(self, accumulator: Any) -> Any:
        return accumulator
