"""The shared training loop: learns, is reproducible, stops early, respects the time limit,
logs every loss term, runs a family's phases and stopping rule."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from coffea_anomaly.errors import InputDataError  # noqa: E402
from coffea_anomaly.training.families.dense_ae import DenseAutoencoder  # noqa: E402
from coffea_anomaly.training.family import FitData, get_family  # noqa: E402
from coffea_anomaly.training.pipeline import split_indices  # noqa: E402
from coffea_anomaly.training.settings import LoopConfig  # noqa: E402
from coffea_anomaly.training.stopping import Decision  # noqa: E402
from coffea_anomaly.training.torch_family import Phase  # noqa: E402

DENSE = get_family("dense_ae")


def fit(model, x, xv, loop, w_train=None, progress=False, family=DENSE):
    """Train through the family protocol, as the pipeline does."""
    return family.fit(model, FitData(x, xv, w_train=w_train), loop, None, progress=progress)


def predict_scores(model, x):
    return DENSE.predict(model, x)["score"]


def _low_rank(n: int, seed: int) -> np.ndarray:
    """12 features driven by 2 latent factors: an autoencoder with latent 2 can learn them."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 2))
    mix = np.random.default_rng(0).normal(size=(2, 12))
    return (z @ mix + 0.05 * rng.normal(size=(n, 12))).astype(np.float32)


def _model(x: np.ndarray, seed: int = 0) -> DenseAutoencoder:
    torch.manual_seed(seed)
    model = DenseAutoencoder(n_features=12, hidden=(16,), latent=2)
    model.set_standardisation(x)
    return model


def test_fit_lowers_the_validation_loss_and_keeps_the_best_epoch() -> None:
    x, xv = _low_rank(1000, 1), _low_rank(300, 2)
    model = _model(x)
    before = predict_scores(model, xv).mean()
    result = fit(model, x, xv, LoopConfig(epochs=15, batch_size=64, patience=15), progress=False)
    after = predict_scores(model, xv).mean()
    assert after < 0.5 * before
    assert after == pytest.approx(min(result.val_loss), rel=1e-5)
    assert result.val_loss[result.best_epoch - 1] == min(result.val_loss)
    assert result.epochs_run == len(result.train_loss) == 15
    # every loss term is logged on its own (the dense AE has one: the MSE)
    (phase,) = result.phases
    assert phase.train["mse"] == phase.train["loss"] and len(phase.val["mse"]) == 15


def test_same_seed_same_losses_other_seed_other_losses() -> None:
    x, xv = _low_rank(300, 1), _low_rank(100, 2)
    loop = LoopConfig(epochs=3, batch_size=32, seed=5)
    a = fit(_model(x), x, xv, loop, progress=False)
    b = fit(_model(x), x, xv, loop, progress=False)
    c = fit(_model(x), x, xv, LoopConfig(epochs=3, batch_size=32, seed=6), progress=False)
    assert a.val_loss == b.val_loss
    assert a.val_loss != c.val_loss


def test_early_stopping_after_patience_epochs_without_improvement() -> None:
    x, xv = _low_rank(200, 1), _low_rank(50, 2)
    # a learning rate too small to move the loss by min_delta: no epoch is better than the first
    loop = LoopConfig(epochs=50, patience=3, learning_rate=1e-12, min_delta=0.01)
    result = fit(_model(x), x, xv, loop, progress=False)
    assert result.stop_reason == "early_stopping"
    assert (result.best_epoch, result.epochs_run) == (1, 4)


def test_max_time_stops_after_the_first_epoch_past_it() -> None:
    x, xv = _low_rank(200, 1), _low_rank(50, 2)
    result = fit(_model(x), x, xv, LoopConfig(epochs=50, max_time_s=1e-9), progress=False)
    assert (result.stop_reason, result.epochs_run) == ("max_time", 1)


def test_weighted_loss_ignores_zero_weight_items() -> None:
    x, xv = _low_rank(200, 1), _low_rank(50, 2)
    garbage = np.full((200, 12), 1e3, dtype=np.float32)
    both = np.concatenate([x, garbage])
    w = np.r_[np.ones(200), np.zeros(200)]
    loop = LoopConfig(epochs=2, batch_size=400)
    # one batch holding everything: zero-weight rows must not change the update
    a = fit(_model(x), x, xv, LoopConfig(epochs=2, batch_size=200), progress=False)
    b = fit(_model(x), both, xv, loop, w_train=w, progress=False)
    assert a.val_loss == pytest.approx(b.val_loss, rel=1e-4)


def test_non_finite_inputs_are_refused() -> None:
    x, xv = _low_rank(20, 1), _low_rank(10, 2)
    x[3, 4] = np.nan
    with pytest.raises(InputDataError, match="NaN"):
        fit(_model(xv), x, xv, LoopConfig(epochs=1), progress=False)


def test_split_is_disjoint_complete_and_seeded() -> None:
    tr, va, te = split_indices(100, 0.2, 0.1, seed=3)
    assert (len(tr), len(va), len(te)) == (70, 20, 10)
    assert sorted(np.concatenate([tr, va, te]).tolist()) == list(range(100))
    again = split_indices(100, 0.2, 0.1, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip((tr, va, te), again))
    assert not np.array_equal(tr, split_indices(100, 0.2, 0.1, seed=4)[0])


class _TwoPhaseFamily(type(DENSE)):
    """The dense AE with a second phase at a tenth of the learning rate and a rule that
    stops each phase after its second epoch, keeping the first."""

    name = "test_two_phase"

    def phases(self, loop, options):
        return [Phase("pretrain", epochs=5), Phase("finetune", epochs=5, learning_rate=loop.learning_rate / 10)]

    def stopping(self, phase, loop, options):
        class FirstEpoch:
            def update(self, epoch, val):
                return Decision(best=epoch == 1, stop=epoch == 2, reason="second_epoch")

        return FirstEpoch()


def test_a_family_brings_its_own_phases_and_stopping_rule() -> None:
    x, xv = _low_rank(300, 1), _low_rank(100, 2)
    result = fit(_model(x), x, xv, LoopConfig(epochs=50, batch_size=32), family=_TwoPhaseFamily())
    assert [p.name for p in result.phases] == ["pretrain", "finetune"]
    assert [(p.epochs_run, p.best_epoch, p.stop_reason) for p in result.phases] == [(2, 1, "second_epoch")] * 2
    # the second phase starts from the weights the first one kept
    assert result.phases[1].initial_val["loss"] == pytest.approx(result.phases[0].val["loss"][0], rel=1e-6)
    assert result.epochs_run == 4


def test_bfloat16_precision_trains_in_low_precision_and_validates_in_float32(monkeypatch) -> None:
    """``precision: bfloat16`` runs the steps under CPU autocast: the linear layers compute
    in bfloat16 during training, in float32 during validation; the loss still falls, the
    weights stay float32, and the default is untouched float32."""
    x, xv = _low_rank(1000, 1), _low_rank(300, 2)
    seen: dict[bool, set] = {True: set(), False: set()}

    def record(module, args, out):
        seen[module.training].add(out.dtype)

    model = _model(x)
    for layer in model.modules():
        if isinstance(layer, torch.nn.Linear):
            layer.register_forward_hook(record)
    before = predict_scores(model, xv).mean()
    result = fit(model, x, xv, LoopConfig(epochs=10, batch_size=64, patience=10, precision="bfloat16"))
    assert seen[True] == {torch.bfloat16} and seen[False] == {torch.float32}
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert predict_scores(model, xv).mean() < 0.5 * before
    assert result.val_loss[result.best_epoch - 1] == min(result.val_loss)
    default = LoopConfig()
    assert default.precision == "float32"


def test_unknown_precision_is_one_config_error() -> None:
    from coffea_anomaly.errors import ConfigError

    with pytest.raises(ConfigError, match="precision must be one of float32, bfloat16"):
        LoopConfig(precision="float16")
