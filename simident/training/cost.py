"""Cost of a training run, known before the work: memory, FLOPs per step, batch size.

Estimates are upper-bound style counts of the arrays a run holds (float32 = 4 bytes):
per lane the parameters, their gradient, the optimiser's moments, the early-stopping copy,
and the activations of one step; shared, the world's training data. `memory.check_fits`
compares the total with this machine's RAM and refuses with a one-line message naming the
knob to turn. Imports no JAX.
"""

from __future__ import annotations

from dataclasses import dataclass

from simident.util.memory import gib

AUTO_BATCH_BYTES = 32 * 2**20  # auto batch: full batch while one lane's step fits in this
AUTO_BATCH_MIN = 64  # smallest automatic minibatch


def param_count(model: str, *, n: int, V: int, T: int, d: int, width: int, depth: int,
                mlp_ratio: int) -> int:  # fmt: skip
    """Number of trained parameters of one model."""
    if model == "table":
        return (n + V) * d
    W, H = width, mlp_ratio * width
    block = (W * 3 * W + 3 * W) + (W * W + W) + 2 * 2 * W + (W * H + H) + (H * W + W)
    return (V + 1) * W + T * W + depth * block + 2 * W + (W * d + d) + V * d


def activation_bytes(model: str, B: int, *, V: int, T: int, width: int, depth: int,
                     mlp_ratio: int) -> int:  # fmt: skip
    """Bytes of the intermediates one lane keeps for the backward pass of one step on B
    contexts (logits, softmax and their gradients; per block the residual stream, q/k/v,
    attention weights and the MLP's hidden layer)."""
    logits = 4 * B * V * 4
    if model == "table":
        return logits
    W = width
    per_block = B * T * (6 * W + 2 * mlp_ratio * W + 2 * T) * 4
    embed = B * T * (V + 1 + T + 2 * W) * 4  # one-hot products
    return logits + depth * per_block + embed


def auto_batch_size(model: str, m: int, *, V: int, T: int, width: int, depth: int,
                    mlp_ratio: int) -> int:  # fmt: skip
    """Batch size when the config leaves it to the run (batch_size None): the full batch
    (0) while one lane's step fits in AUTO_BATCH_BYTES, else the largest power of two
    that fits (at least AUTO_BATCH_MIN)."""
    size = dict(V=V, T=T, width=width, depth=depth, mlp_ratio=mlp_ratio)
    if activation_bytes(model, m, **size) <= AUTO_BATCH_BYTES:
        return 0
    B = AUTO_BATCH_MIN
    while 2 * B < m and activation_bytes(model, 2 * B, **size) <= AUTO_BATCH_BYTES:
        B *= 2
    return B if B < m else 0


def step_flops(model: str, B: int, *, V: int, T: int, d: int, width: int, depth: int,
               mlp_ratio: int) -> int:  # fmt: skip
    """Matrix-product FLOPs of one optimiser step of one lane on B contexts."""
    if model == "table":
        from simident.models.table import table_matmul_flops

        return table_matmul_flops(B, V, d)
    from simident.models.transformer import transformer_matmul_flops

    return transformer_matmul_flops(B, T, V, d, width, depth, mlp_ratio)


@dataclass(frozen=True)
class TrainCost:
    """Estimated cost of a run (bytes, FLOPs), before anything is allocated."""

    lanes: int
    batch: int  # contexts per step (the full batch when batch_size is 0)
    params_per_lane: int
    memory_bytes: int  # peak host/device memory of the run, estimated
    step_flops: int  # all lanes, one step
    total_flops: int  # all lanes, all steps (validation excluded)

    def to_dict(self) -> dict:
        return {
            "lanes": self.lanes,
            "batch": self.batch,
            "params_per_lane": self.params_per_lane,
            "memory_bytes": self.memory_bytes,
            "memory_gib": self.memory_bytes / 2**30,
            "step_gflop": self.step_flops / 1e9,
            "total_tflop": self.total_flops / 1e12,
        }

    def line(self) -> str:
        return (
            f"{self.lanes} lane(s) × {self.params_per_lane:,} parameters, batch {self.batch}: "
            f"memory ≈ {gib(self.memory_bytes)}, {self.step_flops / 1e9:.3g} GFLOP "
            f"per step, {self.total_flops / 1e12:.3g} TFLOP in all"
        )


def train_cost(config, *, n: int, V: int, T: int, m: int, d_star: int, n_samples: int,
               lanes: int) -> TrainCost:  # fmt: skip
    """Cost of training `config` (resolved) with `lanes` lanes on a world with n contexts
    (m for training), vocabulary V, max length T, true dimension d_star."""
    c = config
    size = dict(V=V, T=T, width=c.width, depth=c.depth, mlp_ratio=c.mlp_ratio)
    B = c.batch_size if c.batch_size and c.batch_size < m else m
    p = param_count(c.model, n=n, d=c.d, **size)
    copies = 5 + (1 if c.early_stop else 0)  # params, grad, update, 2 Adam moments (+ best)
    per_lane = 4 * p * copies + activation_bytes(c.model, B, **size)
    data = 4 * (m * (T + 2 + d_star) + V * d_star + m * n_samples)
    if m * V <= 2**22:
        data += 4 * m * V  # precomputed log p*
    evals = lanes * 4 * n * c.d + 8 * (n * V * 3)  # F of every lane, float64 KL per lane
    memory = lanes * per_lane + data + evals + 4 * n * T
    flops = step_flops(c.model, B, d=c.d, **size) * lanes
    return TrainCost(lanes, B, p, int(memory), int(flops), int(flops) * int(c.steps))
