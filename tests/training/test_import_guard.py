"""Without torch, the training stage says which extra to install; importing the rest works."""

from __future__ import annotations

import importlib
import sys

import pytest

import coffea_anomaly.training as training
from coffea_anomaly.errors import MissingDependencyError


@pytest.fixture
def no_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import torch`` fail and forget our modules that imported it."""
    monkeypatch.setitem(sys.modules, "torch", None)
    for name in list(sys.modules):
        if name.startswith("coffea_anomaly.training.families") or (
            name.startswith("coffea_anomaly.training.")
            and name.rsplit(".", 1)[1] in ("torch_family", "export", "loop")
        ):
            monkeypatch.delitem(sys.modules, name)
    # a registry that has not looked for its families yet
    from coffea_anomaly.training import family

    monkeypatch.setattr(family, "_REGISTRY", {})
    monkeypatch.setattr(family, "_UNAVAILABLE", {})
    monkeypatch.setattr(family, "_DISCOVERED", False)


@pytest.mark.usefixtures("no_torch")
@pytest.mark.parametrize("name", ["TorchFamily", "Phase", "run_phases", "to_onnx"])
def test_torch_names_raise_missing_dependency(name: str) -> None:
    with pytest.raises(MissingDependencyError) as info:
        getattr(training, name)
    assert "pip install 'coffea-anomaly[train]'" in str(info.value)
    assert info.value.package == "torch"
    assert info.value.extra == "train"


@pytest.mark.usefixtures("no_torch")
def test_torch_free_parts_work_without_torch() -> None:
    assert training.roc_auc([2.0], [1.0]) == 1.0
    assert training.TrainingConfig.__name__ == "TrainingConfig"
    # evaluating a shipped model needs onnxruntime only
    assert training.evaluate_model.__module__ == "coffea_anomaly.training.evaluate"
    assert training.load_inputs.__module__ == "coffea_anomaly.training.data"


def test_public_names_are_listed_and_resolve() -> None:
    assert set(dir(training)) == set(training.__all__)
    for name in training.__all__:
        obj = getattr(training, name)
        # the object defined under that name in a coffea_anomaly module, not a stand-in
        assert obj.__name__ == name
        assert obj.__module__.startswith("coffea_anomaly."), (name, obj.__module__)
        assert getattr(importlib.import_module(obj.__module__), name) is obj, name
    with pytest.raises(AttributeError):
        training.not_a_name  # noqa: B018


@pytest.mark.usefixtures("no_torch")
def test_a_family_that_needs_torch_says_which_extra_when_asked_for() -> None:
    from coffea_anomaly.training.family import family_names, get_family

    assert {"dense_ae", "image_cnn_ae"} <= set(family_names())  # still listed
    with pytest.raises(MissingDependencyError, match=r"coffea-anomaly\[train\]"):
        get_family("image_cnn_ae")
