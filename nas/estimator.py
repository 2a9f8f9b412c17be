"""``NASClassifier`` and ``NASRegressor``: a search as a scikit-learn estimator.

``fit(X, y)`` searches on the data (the ``arrays`` task, reached through the task
registry), trains the winner with a full budget and keeps it as ``best_model_`` (a plain
``nn.Module``); ``predict``, ``predict_proba`` and ``score`` use it. With scikit-learn
installed (the ``sklearn`` extra) the estimators are its ``BaseEstimator`` with the
classifier or regressor mixin, so they work in ``Pipeline``, ``cross_val_score`` and
``GridSearchCV``; without it they keep the same ``get_params`` / ``set_params``.
"""

from __future__ import annotations

import inspect
import os

import numpy as np
import torch

from nas.compile import compile_graph
from nas.own_data import data_task
from nas.runner import search

PREDICT_BATCH = 1024  # rows per forward pass in predict
MIN_SAMPLES = 3  # one each for training, validation and test


class _Params:
    """``get_params`` / ``set_params`` as scikit-learn defines them (used without it):
    the constructor's arguments, kept as given."""

    @classmethod
    def _get_param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return sorted(p for p in sig.parameters if p != "self")

    def get_params(self, deep: bool = True) -> dict:
        return {k: getattr(self, k) for k in self._get_param_names()}

    def set_params(self, **params):
        for key, value in params.items():
            if key not in self._get_param_names():
                raise ValueError(f"invalid parameter {key!r} for {type(self).__name__} "
                                 f"(parameters: {', '.join(self._get_param_names())})")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


class _Accuracy:
    def score(self, X, y, sample_weight=None) -> float:
        """Mean accuracy of ``predict(X)`` against ``y``."""
        return float(np.average(self.predict(X) == np.asarray(y), weights=sample_weight))


class _R2:
    def score(self, X, y, sample_weight=None) -> float:
        """The coefficient of determination R^2 of ``predict(X)`` against ``y``."""
        y = np.asarray(y, dtype=np.float64)
        pred = np.asarray(self.predict(X), dtype=np.float64)
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight)
        w = w.reshape(-1, *([1] * (y.ndim - 1)))
        ss_res = (w * (y - pred) ** 2).sum(axis=0)
        ss_tot = (w * (y - np.average(y, axis=0, weights=w.ravel())) ** 2).sum(axis=0)
        return float(np.mean(1 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0)))


try:  # the sklearn extra: its base classes, so sklearn's tools know these estimators
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
except ImportError:  # pragma: no cover - exercised where scikit-learn is not installed
    BaseEstimator, ClassifierMixin, RegressorMixin = _Params, _Accuracy, _R2


class _NASEstimator(BaseEstimator):
    """The search and final training shared by the classifier and the regressor."""

    _kind = "classification"

    def __init__(self, space: str = "auto", strategy: str = "evolution", trials: int = 20,
                 timeout: float | None = None, budget: str | None = None,
                 final_budget: str = "4000steps", objectives: list | None = None,
                 run_dir: str | os.PathLike | None = None, seed: int = 0,
                 device: str = "auto", task_config: dict | None = None, verbose: int = 0):
        self.space = space  # a registered space, or "auto": chosen from the data
        self.strategy = strategy
        self.trials = trials  # trial budget of the search
        self.timeout = timeout  # or a time budget, in seconds
        self.budget = budget  # training per candidate (e.g. "500steps"); None: the task's
        self.final_budget = final_budget  # training of the winner
        self.objectives = objectives
        self.run_dir = run_dir  # None: the study is kept in memory
        self.seed = seed
        self.device = device
        self.task_config = task_config  # options of the arrays task (val_size, ...)
        self.verbose = verbose  # 0: silent; 1: the search's lines

    def fit(self, X, y):
        """Search on ``(X, y)``, then train the best architecture with ``final_budget``."""
        X, y = self._check_data(X, y, fitting=True)
        if len(X) < MIN_SAMPLES:
            raise ValueError(f"n_samples={len(X)}: a search needs at least {MIN_SAMPLES} "
                             "samples (training, validation and test)")
        options = {"inputs": "features", **(self.task_config or {}), "kind": self._kind}
        task = data_task((X, y), task_config=options)
        study = search(self.space, data=task, run_dir=self.run_dir, strategy=self.strategy,
                       trials=self.trials, timeout=self.timeout, budget=self.budget,
                       objectives=self.objectives, seed=self.seed, device=self.device,
                       task_config=options, progress=bool(self.verbose))
        best = study.best
        if best is None:
            raise RuntimeError(f"no candidate trained successfully in {study.finished_count()} "
                               "trials (see leaderboard_ for the reasons): raise trials or "
                               "budget")
        result = task.evaluate(best.graph, budget=self.final_budget, seed=self.seed,
                               device=self.device, keep_weights=True)
        if not result.ok:
            raise RuntimeError(f"training the best architecture failed: {result.error}")
        model = compile_graph(best.graph)
        model.load_state_dict(result.state_dict)
        self.best_model_ = model.eval()
        self.study_, self.leaderboard_, self.task_ = study, study.leaderboard(), task
        self.best_trial_, self.final_result_ = best, result
        return self

    def _check_data(self, X, y=None, fitting: bool = False):
        """``X`` (and ``y``) checked as scikit-learn checks them when it is installed
        (``n_features_in_``, ``feature_names_in_``, sparse and complex data refused...),
        else as numbers of at least two dimensions."""
        if fitting and y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target "
                             "y is None")
        try:
            from sklearn.utils.multiclass import check_classification_targets
            from sklearn.utils.validation import check_is_fitted, validate_data
        except ImportError:  # scikit-learn not installed, or older than 1.6
            if not fitting and not hasattr(self, "best_model_"):
                raise _not_fitted(self) from None
            X = _features(X)
            return (X, np.asarray(y)) if fitting else X
        if not fitting:
            check_is_fitted(self, "best_model_")
            return validate_data(self, X, reset=False, allow_nd=True, dtype="numeric")
        X, y = validate_data(self, X, y, allow_nd=True, dtype="numeric",
                             multi_output=self._kind == "regression",
                             y_numeric=self._kind == "regression")
        if self._kind == "classification":
            check_classification_targets(y)
        return X, y

    def _outputs(self, X) -> torch.Tensor:
        X = self._check_data(X)  # raises when not fitted
        x = self.task_.prepare(X)
        with torch.no_grad():
            return torch.cat([self.best_model_(x[i:i + PREDICT_BATCH])
                              for i in range(0, len(x), PREDICT_BATCH)])

    def predict(self, X) -> np.ndarray:
        """Class labels (classifier) or targets in their own units (regressor)."""
        out = self._outputs(X)  # first: raises NotFittedError before fit
        return self.task_.predictions(out)


class NASClassifier(ClassifierMixin, _NASEstimator):
    """A neural architecture search as a scikit-learn classifier: ``fit`` searches and
    trains the winner; ``predict``, ``predict_proba``, ``score`` (accuracy).

    Fitted attributes: ``best_model_`` (``nn.Module``), ``study_``, ``leaderboard_``,
    ``classes_``, ``best_trial_``, ``final_result_`` (its validation and test metrics).
    """

    _kind = "classification"

    def fit(self, X, y):
        super().fit(X, y)
        self.classes_ = self.task_.classes
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities ``(N, n_classes)``, columns in the order of ``classes_``."""
        out = self._outputs(X)
        return self.task_.probabilities(out)


class NASRegressor(RegressorMixin, _NASEstimator):
    """A neural architecture search as a scikit-learn regressor: ``fit`` searches and
    trains the winner; ``predict``, ``score`` (R^2). Fitted attributes as for
    ``NASClassifier`` (without ``classes_``)."""

    _kind = "regression"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # y (N, k): k outputs, predicted (N, k)
        return tags


def _features(X) -> np.ndarray:
    """``X`` as a numeric array of at least two dimensions (without scikit-learn)."""
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    try:
        X = np.asarray(X)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"X must be an array of numbers: {exc}") from None
    if X.dtype.kind not in "biuf":
        raise ValueError(f"X holds {X.dtype} values, not numbers: encode them as numbers")
    if X.ndim < 2:
        raise ValueError(f"X must be 2-D or more (samples first), got shape {X.shape}: "
                         "reshape a single feature with X.reshape(-1, 1)")
    if X.dtype.kind == "f" and not np.isfinite(X).all():
        raise ValueError("X has NaN or infinite values: drop or fill them first")
    return X


def _not_fitted(est) -> Exception:
    message = (f"This {type(est).__name__} instance is not fitted yet: call fit(X, y) first")
    try:
        from sklearn.exceptions import NotFittedError
    except ImportError:  # pragma: no cover
        return AttributeError(message)
    return NotFittedError(message)


__all__ = ["NASClassifier", "NASRegressor"]
