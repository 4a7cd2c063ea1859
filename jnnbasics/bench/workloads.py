"""The benchmark's workloads: an MLP, a batch size, a loss and synthetic data for each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Workload:
    """One benchmark workload: an MLP, a batch size, a loss and a synthetic data set.

    Attributes:
        name: ``"tiny"``, ``"seed"`` or ``"wide"``.
        layer_sizes: ``(in, hidden..., out)``.
        batch_size: optimizer-step batch size.
        loss_type: ``"bce_with_logits"`` (one output, float 0/1 targets) or ``"cross_entropy"``
            (integer class labels).
        n_samples: samples per epoch (a multiple of ``batch_size``, so every step has full size).
    """

    name: str
    layer_sizes: tuple[int, ...]
    batch_size: int
    loss_type: str
    n_samples: int

    @property
    def steps_per_epoch(self) -> int:
        """Optimizer steps in one epoch."""
        return self.n_samples // self.batch_size

    @property
    def flops_per_step(self) -> float:
        """≈ 6 × batch × Σ in×out: forward (2), backward (4) multiply-adds of the dense layers."""
        sizes = self.layer_sizes
        return 6.0 * self.batch_size * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))

    def as_dict(self) -> dict[str, Any]:
        """The definition as JSON-ready data, with ``steps_per_epoch`` and ``flops_per_step``."""
        return {
            "name": self.name,
            "layer_sizes": list(self.layer_sizes),
            "batch_size": self.batch_size,
            "loss_type": self.loss_type,
            "n_samples": self.n_samples,
            "steps_per_epoch": self.steps_per_epoch,
            "flops_per_step": self.flops_per_step,
        }


WORKLOADS: dict[str, Workload] = {
    "tiny": Workload("tiny", (2, 64, 32, 1), 32, "bce_with_logits", 2048),
    "seed": Workload("seed", (784, 128, 64, 10), 128, "cross_entropy", 128 * 50),
    "wide": Workload("wide", (1024, 2048, 2048, 10), 512, "cross_entropy", 512 * 8),
}
"""The workloads at full size (float32, Adam 1e-3)."""

QUICK_WORKLOADS: dict[str, Workload] = {
    "tiny": Workload("tiny", (2, 64, 32, 1), 32, "bce_with_logits", 32 * 16),
    "seed": Workload("seed", (784, 128, 64, 10), 128, "cross_entropy", 128 * 8),
    "wide": Workload("wide", (1024, 256, 256, 10), 512, "cross_entropy", 512 * 2),
}
"""``--quick``: the same shapes except ``wide``'s hidden layers (256, not 2048), fewer samples (8-16
steps per epoch; several epochs per timed call keep ``train_model``'s per-call cost small)."""


def make_data(
    workload: Workload, *, seed: int = 0, n_samples: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic float32 training data for a workload (no download).

    ``tiny`` uses two moons (:func:`jnnbasics.make_moons`) with float 0/1 targets of shape
    (n, 1); the others standard-normal inputs of shape (n, in) and integer labels (n,).

    Args:
        workload: the workload.
        seed: seed of the generator.
        n_samples: number of samples (default ``workload.n_samples``).

    Returns:
        ``(x, y)`` as NumPy arrays: ``x`` float32 of shape (n, in); ``y`` float32 of shape
        (n, 1) for ``bce_with_logits``, int32 of shape (n,) for ``cross_entropy``.
    """
    n = workload.n_samples if n_samples is None else n_samples
    n_in, n_out = workload.layer_sizes[0], workload.layer_sizes[-1]
    if workload.name == "tiny" and n_in == 2:
        import jax

        from jnnbasics import make_moons

        x, y = make_moons(jax.random.key(seed), n, noise=0.1)
        return np.array(x, np.float32), np.array(y, np.float32).reshape(n, 1)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, n_in), dtype=np.float32)
    if workload.loss_type == "bce_with_logits":
        return x, (rng.random((n, 1)) > 0.5).astype(np.float32)
    return x, rng.integers(0, n_out, size=n).astype(np.int32)
