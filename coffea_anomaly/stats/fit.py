"""Binned Poisson maximum-likelihood fits with iminuit (MIGRAD + HESSE).

One function, :func:`fit_binned`, fits a background model, optionally plus a signal of
fixed shape whose yield is free (allowed to go negative). Gradient and Hessian are
analytic (HESSE then inverts the exact Hessian: the dijet parameters are strongly
correlated and finite differences would lose precision), the
starting values come from the model (or a warm start), and the result is checked: a fit
that MIGRAD does not declare valid raises :class:`~coffea_anomaly.errors.FitFailedError`
with the :class:`FitResult` attached, so nothing about the failure is lost.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import FitFailedError
from .background import BackgroundModel
from .likelihood import expected as model_expected
from .likelihood import gradient_hessian, nll, saturated

__all__ = ["FitResult", "fit_binned", "signal_start"]


@dataclass(frozen=True, eq=False)
class FitResult:
    """Outcome of one binned fit.

    Attributes:
        model: background model name, with ``+signal`` when a signal was fitted.
        background_model: the background model.
        values: internal parameters (background ``theta``, then the signal yield if any).
        errors: HESSE errors of ``values`` (NaN when no covariance).
        covariance: HESSE covariance of ``values`` or None.
        nll: minimum of the cost (half the Poisson deviance).
        valid: MIGRAD's verdict.
        accurate: whether the covariance is accurate (not forced positive definite).
        edm: estimated distance to minimum.
        nfcn: number of cost evaluations.
        message: reasons for failure and warnings met, empty when all went well.
        expected: fitted total expected counts per bin.
        background: fitted background expected counts per bin.
        mass: the signal mass, or None for background-only fits.
    """

    model: str
    background_model: BackgroundModel
    values: np.ndarray
    errors: np.ndarray
    covariance: np.ndarray | None
    nll: float
    valid: bool
    accurate: bool
    edm: float
    nfcn: int
    message: str
    expected: np.ndarray
    background: np.ndarray
    mass: float | None = None

    @property
    def deviance(self) -> float:
        """Poisson deviance ``2 NLL`` (goodness of fit against the saturated model)."""
        return 2.0 * self.nll

    @property
    def n_params(self) -> int:
        """Number of fitted parameters."""
        return int(self.values.size)

    @property
    def ndf(self) -> int:
        """Bins minus fitted parameters."""
        return int(self.expected.size - self.values.size)

    @property
    def theta(self) -> np.ndarray:
        """The background's internal parameters."""
        return self.values[: self.background_model.n_params]

    @property
    def signal_yield(self) -> float | None:
        """Fitted signal yield (None for background-only fits)."""
        return float(self.values[-1]) if self.mass is not None else None

    @property
    def signal_error(self) -> float | None:
        """HESSE error of the signal yield."""
        return float(self.errors[-1]) if self.mass is not None else None

    def physical(self) -> dict[str, tuple[float, float]]:
        """Reported background parameters (e.g. the dijet ``p0..p4``) as ``name: (value, error)``."""
        k = self.background_model.n_params
        cov = None if self.covariance is None else self.covariance[:k, :k]
        vals, errs = self.background_model.physical(self.theta, cov)
        return {n: (float(v), float(e)) for n, v, e in zip(self.background_model.param_names, vals, errs, strict=True)}


def signal_start(counts: np.ndarray, background: np.ndarray, shape: np.ndarray) -> float:
    """Linearised signal-yield estimate ``sum S (n - b)/b / sum S^2/b`` (a starting value)."""
    b = np.maximum(np.asarray(background, dtype=float), 1e-9)
    s = np.asarray(shape, dtype=float)
    den = float(np.sum(s * s / b))
    return float(np.sum(s * (np.asarray(counts) - b) / b) / den) if den > 0 else 0.0


def fit_binned(
    counts: np.ndarray,
    background: BackgroundModel,
    signal: np.ndarray | None = None,
    *,
    mass: float | None = None,
    start: np.ndarray | None = None,
    strategy: int = 1,
    check: bool = True,
    refine: bool = True,
) -> FitResult:
    """Fit ``counts`` with ``background`` (+ ``signal`` of free yield) by binned Poisson ML.

    Args:
        counts: observed counts in the bins of ``background.edges``.
        background: the background model.
        signal: signal fractions per bin (a row of a signal shape), or None.
        mass: the signal mass (recorded in the result).
        start: starting values (background ``theta`` [+ yield]); default from the model.
        strategy: MINUIT strategy (0 fast, 1 default, 2 careful).
        check: raise :class:`FitFailedError` (keeping the result) when the fit is invalid.
        refine: first move the start to the minimum found by the compiled Newton
            minimiser (:mod:`.newton`), when it converges lower; MIGRAD then confirms the
            minimum and HESSE gives the covariance. MIGRAD alone can stall on the strongly
            correlated dijet parameters from a poor start.

    Returns:
        The :class:`FitResult`.
    """
    from iminuit import Minuit

    n = np.asarray(counts, dtype=float)
    sat = saturated(n)
    k = background.n_params
    sig = None if signal is None else np.asarray(signal, dtype=float)
    if start is None:
        theta0 = background.start(n)
        start = theta0 if sig is None else np.append(theta0, signal_start(n, background.expected(theta0), sig))
    start = np.asarray(start, dtype=float)
    if refine:
        start = _refined(n, background, sig, start)

    shapes = None if sig is None else sig[None, :]

    def expected(p: np.ndarray) -> np.ndarray:
        return model_expected(np.asarray(p)[None, :], background, shapes)[0]

    # MIGRAD may probe extreme parameters where exp() overflows: inf is a valid "worse"
    # answer for it, so floating-point warnings are silenced inside the cost only
    def cost(p: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            return float(nll(expected(p), n, sat))

    def grad(p: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return gradient_hessian(np.asarray(p)[None, :], n[None], sat[None], background, shapes)[0][0]

    def hessian(p: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return gradient_hessian(np.asarray(p)[None, :], n[None], sat[None], background, shapes)[1][0]

    names = [f"theta{j}" for j in range(k)] + ([] if sig is None else ["s"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = Minuit(cost, start, grad=grad, hessian=hessian, name=names)
        m.errordef = Minuit.LIKELIHOOD
        m.strategy = strategy
        m.tol = 0.01  # EDM goal 1e-5 in NLL units: q0 differences stay precise
        # MIGRAD, then HESSE with the exact Hessian; HESSE recomputes the EDM, and when that
        # shows MIGRAD stopped early, MIGRAD goes on from there with the better metric
        for _ in range(3):
            m.migrad()
            if m.valid:
                m.hesse()
                if m.valid:
                    break
            m.strategy = 2
    notes = list(dict.fromkeys(str(w.message) for w in caught))  # each warning once
    fmin = m.fmin
    valid = bool(m.valid)
    cov = None if m.covariance is None or not valid else np.array(m.covariance)
    if not valid:
        notes.insert(0, _reason(fmin))
    values = np.array(m.values)
    result = FitResult(
        model=background.name + ("" if sig is None else "+signal"),
        background_model=background,
        values=values,
        errors=np.array(m.errors) if cov is not None else np.full(values.size, np.nan),
        covariance=cov,
        nll=float(m.fval),
        valid=valid,
        accurate=bool(valid and fmin is not None and fmin.has_accurate_covar),
        edm=float(fmin.edm) if fmin is not None else float("nan"),
        nfcn=int(m.nfcn),
        message="; ".join(notes),
        expected=expected(values),
        background=background.expected(values[:k]),
        mass=mass,
    )
    if check and not valid:
        where = f" at m = {mass:g} GeV" if mass is not None else ""
        raise FitFailedError(f"{result.model} fit{where} did not converge: {result.message}", result)
    return result


def _refined(n: np.ndarray, background: BackgroundModel, sig: np.ndarray | None, start: np.ndarray) -> np.ndarray:
    from .newton import minimize_batch

    res = minimize_batch(n[None], background, start[None], None if sig is None else sig[None])
    shapes = None if sig is None else sig[None, :]
    before = float(nll(model_expected(start[None], background, shapes)[0], n))
    if res.converged[0] and res.nll[0] <= before:
        return res.params[0]
    return start


def _reason(fmin: object) -> str:
    if fmin is None:
        return "no function minimum"
    flags = [
        ("is_above_max_edm", "EDM above maximum"),
        ("has_reached_call_limit", "call limit reached"),
        ("has_parameters_at_limit", "parameters at limit"),
        ("hesse_failed", "HESSE failed"),
        ("has_posdef_covar", None),
    ]
    out = [text for attr, text in flags if text and getattr(fmin, attr, False)]
    if not getattr(fmin, "has_posdef_covar", True):
        out.append("covariance not positive definite")
    return ", ".join(out) or "MIGRAD did not converge"
