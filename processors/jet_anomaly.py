"""JetAnomalyProcessor: score selected fat jets, fill score and mass-sculpting histograms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import awkward as ak
from coffea import processor

from coffea_anomaly.histograms import dataset_axis, is_dask, make_hist, mass_axis
from coffea_anomaly.representations import fatjet_constituents
from coffea_anomaly.selection import JetSelection, select_jets

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

__all__ = ["DEFAULT_JET_SELECTION", "JetAnomalyProcessor"]

#: for models whose card records no training selection: the top-tagging benchmark window
DEFAULT_JET_SELECTION = JetSelection(pt_min=550.0, pt_max=650.0, eta_max=2.0)


class JetAnomalyProcessor(processor.ProcessorABC):
    """Fat-jet anomaly scores for mass-sculpting checks.

    For every dataset it fills, per model score ``S``:

    * ``score_<S>``: the score distribution of the selected jets;
    * ``mass_score_<S>``: jet mass × score, the score axis fine enough (background
      quantile edges from the model card) to take any "least background-like x %"
      slice after the job;
    * ``msd_score_<S>``: the same with the soft-drop mass;

    and a cutflow ``{dataset: {cut: count}}`` in which every event and every jet read is
    accounted for: after ``fat jets`` (jets read), the quality checks count the jets they
    drop (``jets with non-finite kinematics``, ``jets without constituents``, ``jets with
    non-finite constituents``: never histogrammed nor scored), the cuts that follow count
    the jets they keep, down to ``jets scored``.

    Args:
        models: ONNX models (paths, shipped names, or OnnxModel objects), or a mapping
            name -> model.
        selection: the fat-jet selection (:mod:`coffea_anomaly.selection`); None: the
            one the models were trained with (their cards); a mapping: options that
            replace the trained selection's. A looser one than training is run, and
            said in :attr:`selection_warnings`.
        model_options: OnnxModel options (batch_size, intra_op_threads, ...).
    """

    def __init__(
        self,
        models: Sequence[Any] | Mapping[str, Any],
        selection: JetSelection | Mapping[str, Any] | None = None,
        model_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.models = load_models(models, **(model_options or {}))
        self.selection, self.selection_warnings = choose_selection(
            self.models, selection, DEFAULT_JET_SELECTION
        )

    def process(self, events: Any) -> dict[str, Any]:
        require_fields(events, "FatJet", where=f"dataset {dataset_name(events)!r}")
        sel = self.selection
        dataset = dataset_name(events)
        dask = is_dask(events)
        weight = event_weight(events)

        fatjets = events.FatJet
        if sel.truth_match:
            require_fields(fatjets, "truthMatch", where=f"FatJet of dataset {dataset!r}")
        jets, cons, steps = select_jets(fatjets, fatjet_constituents(events), sel)
        cutflow: dict[str, Any] = {
            "events": ak.num(events, axis=0),
            "fat jets": count(ak.num(fatjets, axis=1)),
            **{name: count(mask) for name, mask in steps.items()},
        }
        cutflow["events with a selected jet"] = count(ak.num(jets, axis=1) > 0)

        jet_w = ak.flatten(ak.broadcast_arrays(weight, jets.pt)[0])
        mass = ak.flatten(jets.mass)
        msd = ak.flatten(jets.msoftdrop) if "msoftdrop" in jets.fields else None

        hists: dict[str, Any] = {}
        n_scored = None
        for name, model in self.models.items():
            for key, (score_name, scores) in model_scores(name, model, jets, cons).items():
                s = ak.flatten(scores)
                n_scored = count(ak.num(scores, axis=1))
                ax = model_score_axis(model, score_name)
                h = make_hist(dataset_axis(), ax, dask=dask, name=f"score_{key}")
                h.fill(dataset=dataset, score=s, weight=jet_w)
                hists[f"score_{key}"] = h
                hm = make_hist(dataset_axis(), mass_axis(), ax, dask=dask, name=f"mass_score_{key}")
                hm.fill(dataset=dataset, mass=mass, score=s, weight=jet_w)
                hists[f"mass_score_{key}"] = hm
                if msd is not None:
                    hs = make_hist(dataset_axis(), mass_axis("msd"), ax, dask=dask, name=f"msd_score_{key}")
                    hs.fill(dataset=dataset, msd=msd, score=s, weight=jet_w)
                    hists[f"msd_score_{key}"] = hs
        if n_scored is not None:
            cutflow["jets scored"] = n_scored
        hm = make_hist(dataset_axis(), mass_axis(), dask=dask, name="mass")
        hm.fill(dataset=dataset, mass=mass, weight=jet_w)
        hists["mass"] = hm
        return {"hists": hists, "cutflow": {dataset: cutflow}}

    def postprocess(self, accumulator: Any) -> Any:
        return accumulator
