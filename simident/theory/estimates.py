"""KL and r_p estimated on a uniform random subset of contexts, with 95% intervals.

At real-model scale (n ≈ 10⁶ contexts, V ≈ 5·10⁴ tokens) the exact pass over all n·V
cells is out of reach, while the identification is cheap (O((n + V) d²)). `compare`
then evaluates the per-context KL and r_p sums on N contexts drawn uniformly without
replacement (seeded) and reports

  kl_mean  the sample mean, CI mean ± 1.96·s/√N·√(1 − N/n) (finite-population factor);
  r_p      √R with R = Σ num / Σ den the ratio estimator, CI from the delta-method
           standard error √(1 − N/n)·s(num − R·den)/(√N·mean(den)) on R;
  kl_max   the sample maximum (a lower bound on the maximum over all contexts).

The logit residual r and everything else stays exact. Default: sampled when
n·V > `EXACT_CELLS`, with `DEFAULT_CONTEXTS` contexts.
"""

from __future__ import annotations

import numpy as np

EXACT_CELLS = 10**10  # above this many context-token cells the KL pass is sampled
DEFAULT_CONTEXTS = 4096
Z95 = 1.959963984540054


def sample_ids(n: int, size: int, seed: int) -> np.ndarray:
    """`size` distinct context ids in [0, n), uniform, sorted; seeded."""
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def plan(n: int, V: int, kl_contexts) -> int | None:
    """How many contexts the KL pass uses: None for all (exact), else N < n."""
    if kl_contexts is None:
        return DEFAULT_CONTEXTS if n * V > EXACT_CELLS and n > DEFAULT_CONTEXTS else None
    return None if kl_contexts >= n else int(kl_contexts)


def estimate(kl, num, den, n_total: int, seed: int, decided_by: str) -> dict:
    """Estimates of kl_mean, kl_max and r_p from the subset's per-context terms."""
    kl, num, den = (np.asarray(x, dtype=np.float64) for x in (kl, num, den))
    N = int(kl.size)
    fpc = np.sqrt(max(1.0 - N / n_total, 0.0))
    se = float(kl.std(ddof=1)) / np.sqrt(N) * fpc if N > 1 else float("inf")
    mean = float(kl.mean())
    R = float(num.sum() / den.sum()) if den.sum() > 0 else 0.0
    if N > 1 and den.mean() > 0:
        se_R = float((num - R * den).std(ddof=1)) / (np.sqrt(N) * float(den.mean())) * fpc
    else:
        se_R = float("inf")
    lo_R, hi_R = float(max(R - Z95 * se_R, 0.0)), float(R + Z95 * se_R)
    return {
        "n_used": N,
        "n_total": int(n_total),
        "seed": int(seed),
        "decided_by": decided_by,
        "kl_mean": mean,
        "kl_mean_ci95": [float(max(mean - Z95 * se, 0.0)), float(mean + Z95 * se)],
        "kl_max_sample": float(kl.max()),
        "weighted_residual": float(np.sqrt(R)),
        "weighted_residual_ci95": [float(np.sqrt(lo_R)), float(np.sqrt(hi_R))],
    }
