"""One seed drives everything: Python, NumPy and torch RNGs, seeded once per training.

:func:`set_seed` is called once at the start of each training (by
:func:`mlsplab.training.run_job`); :func:`forked_rngs` lets a stage draw from the seeded
generators and hands them back as they were, so that the stages after it (the model's
initialisation, then dropout) start from the seed too, whatever the stage before them drew.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator

import numpy as np
import torch


def set_seed(seed: int) -> None:
    """Seed every RNG the experiments use."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@contextlib.contextmanager
def forked_rngs(device: torch.device | None = None) -> Iterator[None]:
    """Run a block on the current Python, NumPy and torch RNG states, then restore them.

    ``device``: a CUDA device whose generator is restored too (torch's CPU generator always is).
    """
    py_state, np_state = random.getstate(), np.random.get_state()
    cuda = ([torch.cuda.current_device() if device.index is None else device.index]
            if device is not None and device.type == "cuda" else [])
    with torch.random.fork_rng(devices=cuda):
        try:
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)
