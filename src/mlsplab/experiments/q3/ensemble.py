"""Ensembles of trained Q3 models: weight fits, honest validation, measured agreement.

Every ensemble combines its members' posteriors linearly, ``sum_m w_m P_m``, with the weights
of :data:`WEIGHT_FITS` fitted on the validation fold. Weights fitted on the 80 validation clips
flatter those same clips, so methods are compared by their out-of-fold validation accuracy
(:func:`mlsplab.models.ensemble.out_of_fold_combination`); the test fold is only evaluated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mlsplab.errors import MlsplabError
from mlsplab.experiments.q3.config import (
    BEYOND_FAMILIES,
    HEADLINE_METHODS,
    WEIGHT_CV_FOLDS,
    Training,
)
from mlsplab.experiments.q3.train import confusion
from mlsplab.models.ensemble import (
    combine,
    fit_least_squares_weights,
    fit_simplex_weights,
    mixture_cross_entropy,
    out_of_fold_combination,
)

Runs = dict[str, list[dict[str, Any]]]  # member name -> its run_job results, one per seed


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample std (ddof=1; 0 for a single value)."""
    arr = np.asarray(values, dtype=np.float64)
    return float(arr.mean()), float(arr.std(ddof=1)) if len(arr) > 1 else 0.0


def _uniform_weights(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Equal weights (posterior averaging): a weight "fit" that ignores the labels."""
    return np.full(len(probs), 1.0 / len(probs))


# method -> weight fit (probs (M, N, C), labels (N,)) -> weights (M,)
WEIGHT_FITS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "average": _uniform_weights,
    "optimal-weights": fit_simplex_weights,
    "least-squares": fit_least_squares_weights,
}


def member_runs(trained: dict[tuple[str, int], dict[str, Any]], members: tuple[Training, ...],
                seeds: tuple[int, ...]) -> Runs:
    """``{member label: [result of seed s for s in seeds]}`` from the trained grid."""
    return {m.label: [trained[(m.key, s)] for s in seeds] for m in members}


def agreement(test_probs: list[np.ndarray], y_test: np.ndarray) -> dict[str, Any]:
    """How the members' test decisions agree, measured.

    Returns
    -------
    dict
        ``all_agree`` (fraction of clips where every member predicts the same class),
        ``accuracy_when_all_agree`` (accuracy of that shared decision), ``accuracy_when_not``
        (the members' mean accuracy on the other clips), ``oracle_accuracy`` (a clip counts if
        any member is right), ``pairwise`` (M x M fractions of equal decisions).
    """
    preds = np.stack([p.argmax(1) for p in test_probs])  # (M, N)
    same = (preds == preds[0]).all(axis=0)  # (N,)
    correct = preds == y_test[None, :]  # (M, N)
    pairwise = (preds[:, None, :] == preds[None, :, :]).mean(axis=2)  # (M, M)
    return {"all_agree": float(same.mean()),
            "accuracy_when_all_agree": float(correct[0, same].mean()) if same.any() else None,
            "accuracy_when_not": float(correct[:, ~same].mean()) if (~same).any() else None,
            "oracle_accuracy": float(correct.any(axis=0).mean()),
            "pairwise": pairwise.tolist()}


def posteriors(run: dict[str, Any], split: str) -> np.ndarray:
    """A member's posteriors on ``split``, shape (N, C); a row that is not finite (a diverged
    model's NaN output) becomes the uniform posterior, which favours no class."""
    p = np.asarray(run[f"{split}_probs"], dtype=np.float64)
    bad = ~np.isfinite(p).all(axis=1)  # (N,)
    p[bad] = 1.0 / p.shape[1]
    return p


def _one_seed(members: list[dict[str, Any]], folds: int) -> dict[str, dict[str, Any]]:
    """Every method's fit and scores for one seed's members; ``{method: {key: value}}``."""
    y_val = np.asarray(members[0]["val_labels"])
    y_test = np.asarray(members[0]["test_labels"])
    pv = np.stack([posteriors(r, "val") for r in members])  # (M, N_val, C)
    pt = np.stack([posteriors(r, "test") for r in members])  # (M, N_test, C)
    by_val = int(np.argmax([r["val_accuracy"] for r in members]))  # member chosen on validation
    member_pred = pt.argmax(2)  # (M, N_test)
    split = ~(member_pred == member_pred[0]).all(axis=0)  # (N_test,): members disagree
    out: dict[str, dict[str, Any]] = {}
    for method, fit in WEIGHT_FITS.items():
        w = fit(pv, y_val)
        test_pred = combine(pt, w).argmax(1)
        test_acc = float((test_pred == y_test).mean())
        oof = out_of_fold_combination(pv, y_val, fit, folds)  # (N_val, C)
        entry = {"weights": [float(x) for x in w], "test_accuracy": test_acc,
                 "val_accuracy": float((combine(pv, w).argmax(1) == y_val).mean()),
                 "val_accuracy_oof": float((oof.argmax(1) == y_val).mean()),
                 "gain_vs_member_chosen_on_val_points":
                     100 * (test_acc - members[by_val]["test_accuracy"]),
                 "gain_vs_best_member_on_test_points":
                     100 * (test_acc - max(r["test_accuracy"] for r in members)),
                 "gain_vs_mean_member_points":
                     100 * (test_acc - float(np.mean([r["test_accuracy"] for r in members]))),
                 "test_accuracy_where_members_disagree":
                     float((test_pred == y_test)[split].mean()) if split.any() else None,
                 "confusion_matrix": confusion(y_test, test_pred, pt.shape[2])}
        if method != "least-squares":  # a mixture posterior only for simplex weights
            entry["val_cross_entropy"] = mixture_cross_entropy(pv, y_val, w)
            entry["val_cross_entropy_oof"] = mixture_cross_entropy(oof[None], y_val, np.ones(1))
        out[method] = entry
    out["agreement"] = agreement(list(pt), y_test)
    return out


def ensemble(runs: Runs, folds: int = WEIGHT_CV_FOLDS) -> dict[str, Any]:
    """Fit and evaluate the ensembles seed by seed; mean ± std and per-seed values.

    Parameters
    ----------
    runs : dict
        Member name -> its results, one per seed, in the same seed order for every member; the
        ensemble of seed ``s`` combines the members' ``s``-th runs. One-run lists combine models
        of different seeds into a single ensemble.
    folds : int
        Folds of the out-of-fold validation of the weights.

    Returns
    -------
    dict
        ``members`` (names) and ``methods``: for each member (its accuracies) and each method
        of :data:`WEIGHT_FITS`: ``<key>``, ``<key>_std``, ``<key>_per_seed`` of every score,
        ``weights_per_seed``, ``weights_mean`` and ``confusion_matrix_per_seed``; ``agreement``
        (:func:`agreement` per seed, and the mean of each fraction).
    """
    names = list(runs)
    n_seeds = len(runs[names[0]])
    if any(len(r) != n_seeds for r in runs.values()):
        raise MlsplabError(f"ensemble members have different numbers of seeds: "
                           f"{ {n: len(r) for n, r in runs.items()} }")
    per_seed = [_one_seed([runs[m][s] for m in names], folds) for s in range(n_seeds)]
    methods: dict[str, Any] = {}
    for name in names:
        methods[name] = {}
        for key in ("test_accuracy", "test_accuracy_last", "val_accuracy"):
            if any(key not in r for r in runs[name]):  # e.g. no last epoch: a linear model
                continue
            values = [r[key] for r in runs[name]]
            methods[name][key], methods[name][f"{key}_std"] = mean_std(values)
            methods[name][f"{key}_per_seed"] = values
    for method in WEIGHT_FITS:
        rows = [seed[method] for seed in per_seed]
        entry: dict[str, Any] = {
            "weights_per_seed": [r["weights"] for r in rows],
            "weights_mean": np.mean([r["weights"] for r in rows], axis=0).tolist(),
            "confusion_matrix_per_seed": [r["confusion_matrix"] for r in rows]}
        for key in rows[0]:
            if key not in ("weights", "confusion_matrix"):
                values = [r[key] for r in rows]
                known = [v for v in values if v is not None]  # None: no clip to score
                entry[key], entry[f"{key}_std"] = mean_std(known) if known else (None, None)
                entry[f"{key}_per_seed"] = values
        methods[method] = entry
    agree = [seed["agreement"] for seed in per_seed]
    summary = {k: float(np.mean([a[k] for a in agree if a[k] is not None]))
               for k in agree[0] if k != "pairwise" and any(a[k] is not None for a in agree)}
    return {"members": names, "methods": methods,
            "agreement": {**summary, "per_seed": agree}}


def select_headline(candidates: dict[str, dict[str, Any]]) -> str:
    """The candidate with the best validation result; the test fold is never read.

    Only the methods of :data:`HEADLINE_METHODS` are eligible; the key is the mean out-of-fold
    validation accuracy, then the lower out-of-fold validation cross-entropy (values rounded to
    1e-9 so that float noise in means does not decide ties); remaining ties go to the first
    candidate in order.
    """
    eligible = [k for k, e in candidates.items() if e["method"] in HEADLINE_METHODS]
    if not eligible:
        raise MlsplabError(f"no candidate ensemble uses one of the methods {HEADLINE_METHODS}")
    return max(eligible, key=lambda k: (round(candidates[k]["val_accuracy_oof"], 9),
                                        -round(candidates[k]["val_cross_entropy_oof"], 9)))


def method_candidates(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The methods of one :func:`ensemble` result as candidates for :func:`select_headline`."""
    return {m: {**result["methods"][m], "method": m} for m in WEIGHT_FITS}


def beyond_candidates(members: Runs, augmented: str, folds: int = WEIGHT_CV_FOLDS
                      ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Every (member family, weighting method) ensemble of ``q3x-ensemble``.

    Parameters
    ----------
    members : dict
        Member name -> per-seed results; must include ``augmented``.
    augmented : str
        The name of the augmented Adam/BatchNorm member.

    Returns
    -------
    families : dict
        Family (:data:`BEYOND_FAMILIES`) -> :func:`ensemble` result.
    candidates : dict
        ``"<family> / <method>"`` -> that method's entry plus ``family``, ``method`` and
        ``n_models`` (models combined in one ensemble).
    """
    if augmented not in members:
        raise MlsplabError(f"q3x-ensemble needs the augmented member {augmented!r}; got "
                           f"{list(members)}")

    def pooled(names: list[str]) -> Runs:
        """One ensemble of every seed's model: each model is a member with a single 'seed'."""
        return {f"{n} seed {r['seed']}": [r] for n in names for r in members[n]}

    groups = {"per-seed": members, "augmented-pooled": pooled([augmented]),
              "all-pooled": pooled(list(members))}
    families = {f: ensemble(groups[f], folds) for f in BEYOND_FAMILIES}
    candidates = {f"{f} / {m}": {**families[f]["methods"][m], "family": f, "method": m,
                                "n_models": len(groups[f])}
                  for f in BEYOND_FAMILIES for m in WEIGHT_FITS}
    return families, candidates
