"""Q2 runner: count the TDNN's parameters and check its manual backprop; writes metrics.json.

metrics.json holds measurements only (see ``docs/tdnn.md``): the per-layer parameter table,
the frames that exist, the gradient-check errors against autograd and finite differences, the
random architectures checked and the loss before and after one update step. The report's
sentences, equations and figures are made from it by :mod:`.summary`.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import torch

from mlsplab.analysis.tdnn import TDNN, gradient_check, random_config, update_step_check
from mlsplab.analysis.tdnn_arch import (
    closed_form_total,
    contexts_text,
    count_parameters,
    frames_lost,
    output_frames,
    receptive_field,
)
from mlsplab.executors import where
from mlsplab.experiments.common import experiment_dir, finished_metrics, write_metrics
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q2.config import AUTOGRAD_TOL, EXPERIMENT_ID, FD_EPS, FD_TOL, Q2Config
from mlsplab.seeding import set_seed

log = logging.getLogger(__name__)


def _max_errors(check: dict[str, Any]) -> tuple[float, float]:
    rows = check["params"]
    return (max(r["rel_err_autograd"] for r in rows), max(r["rel_err_fd"] for r in rows))


def _random_checks(config: Q2Config) -> list[dict[str, Any]]:
    """The gradient check on ``config.n_random_architectures`` small random TDNNs."""
    rng = np.random.default_rng(config.seed)
    rows = []
    for i in range(config.n_random_architectures):
        net, n_frames = random_config(rng)
        res = gradient_check(net, n_frames=n_frames, seed=config.seed + 100 + i,
                             fd_entries=config.fd_entries, eps=FD_EPS)
        err_auto, err_fd = _max_errors(res)
        rows.append({"input_dim": net.input_dim, "contexts": [list(c) for c in net.contexts],
                     "contexts_text": contexts_text(net.contexts), "hidden": net.hidden,
                     "classes": net.classes, "output_context": list(net.output_context),
                     "output_bias": net.output_bias, "n_frames": n_frames,
                     "n_out_frames": res["n_out_frames"], "n_params": closed_form_total(net),
                     "max_rel_err_autograd": err_auto, "max_rel_err_fd": err_fd})
    return rows


def measure(config: Q2Config) -> dict[str, Any]:
    """Every Q2 measurement for ``config`` (seeded here, once).

    Returns
    -------
    dict
        ``layers`` (per layer: ``layer, kind, context, in_dim, out_dim, weights, bias, params,
        numel``), ``total_params`` (torch numel), ``total_params_closed_form``,
        ``params_match``, ``receptive_field``, ``frames``, ``gradient_check``,
        ``random_architectures``, ``max_rel_err_autograd``, ``max_rel_err_fd``, ``tolerances``,
        ``gradient_check_passed``, ``update_step``, ``quick``, ``host``, ``seconds``.
    """
    set_seed(config.seed)
    t0 = time.perf_counter()
    net = config.net()
    assert config.n_frames is not None  # filled by Q2Config.__post_init__
    layers = count_parameters(net)
    weights = TDNN(net, dtype=torch.float64).weights
    for row, W in zip(layers, weights):
        row["numel"] = int(W.numel()) + int(row["bias"])  # type: ignore[call-overload]
    total_numel = sum(p.numel() for p in TDNN(net).parameters())
    first, n_out = output_frames(config.n_frames, net.layer_contexts)
    field = receptive_field(net.layer_contexts)

    log.info("gradient check on the requested architecture (T=%d)", config.n_frames)
    check = gradient_check(net, n_frames=config.n_frames, seed=config.seed,
                           fd_entries=config.fd_entries, eps=FD_EPS)
    random_checks = _random_checks(config)
    err_auto, err_fd = _max_errors(check)
    all_auto = max([err_auto] + [r["max_rel_err_autograd"] for r in random_checks])
    all_fd = max([err_fd] + [r["max_rel_err_fd"] for r in random_checks])
    total = closed_form_total(net)
    return {
        "quick": config.quick,
        "layers": layers,
        "total_params": total_numel,
        "total_params_closed_form": total,
        "params_match": total == total_numel,
        "receptive_field": field,
        "frames": {"n_frames": config.n_frames, "first_output_frame": first,
                   "n_out_frames": n_out, "frames_lost": frames_lost(net.layer_contexts),
                   "left_context": -field["first_offset"],  # type: ignore[operator]
                   "right_context": field["last_offset"]},
        "gradient_check": check,
        "random_architectures": random_checks,
        "max_rel_err_autograd": all_auto,
        "max_rel_err_fd": all_fd,
        "tolerances": {"autograd": AUTOGRAD_TOL, "finite_difference": FD_TOL,
                       "finite_difference_eps": FD_EPS},
        "gradient_check_passed": all_auto <= AUTOGRAD_TOL and all_fd <= FD_TOL,
        "update_step": update_step_check(net, n_frames=config.n_frames, seed=config.seed,
                                         lr=config.update_lr),
        "host": where(),
        "seconds": time.perf_counter() - t0,
    }


def run(options: RunOptions, **params: Any) -> None:
    """Runner of step ``q2``: writes ``<options.out>/q2-tdnn/metrics.json``.

    Parameters
    ----------
    options : RunOptions
        ``out``, ``seed`` and ``quick`` are used (quick: fewer finite-difference entries).
    **params
        Architecture overrides, as :class:`Q2Config` fields (``contexts``, ``hidden``, ...).
    """
    config = Q2Config.from_options(options, **params)
    exp_dir = experiment_dir(options.out, EXPERIMENT_ID)
    record = config.record()
    if finished_metrics(exp_dir, record) is not None:
        return
    write_metrics(exp_dir, EXPERIMENT_ID, record, measure(config))
