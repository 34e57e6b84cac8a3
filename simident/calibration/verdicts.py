"""Every decided verdict of a comparison, next to what the truth implies for it.

The truth's exact comparison (truth with itself, default tolerance) gives each property's
distribution-level status in p*. What that implies for a trained pair:
  distribution_level            = the truth's (every model of p* shares it, §3)
  projected_a/b (P1, P2)        = the truth's distribution level (projected ⇔ log-ratio form)
  inclusion_a/b (P3)            = the truth's D3 (RL with IC ⇔ D3)
  holds_a/b  P3, P4, P5         = True where the truth's distribution level holds
  holds_a/b  P1, P2             = False where it fails (parallel differences ⇒ equal ratios)
  guaranteed (P1, P2), True     via A5: both measured angles ≤ θ; via failing equal ratios:
                                  the truth's distribution level fails
  k                             = the truth's k (recorded apart: not a band verdict)
Verdicts p* does not determine (full parallelism where equal ratios hold, RL without IC
where D3 fails, ...) are not scored: every answer is compatible with p* there.
"""

from __future__ import annotations

from dataclasses import dataclass

PARALLEL = ("parallel_unembedding", "parallel_embedding")


@dataclass(frozen=True)
class Scored:
    """One verdict: which property and field, what compare decided (None: undecided), and
    what the truth implies."""

    prop: str
    kind: str
    field: str
    decided: bool | None
    truth: bool

    @property
    def right(self) -> bool | None:
        return None if self.decided is None else self.decided == self.truth


def _both(out, p, field, values, truth):
    for tag, v in zip("ab", values):
        out.append(Scored(p.name, p.kind, f"{field}_{tag}", v, truth))


def scored_verdicts(c, truth) -> list[Scored]:
    """The scored verdicts of Comparison `c` against the truth's exact Comparison `truth`
    (same properties)."""
    out: list[Scored] = []
    for p in c.properties:
        t = truth.property(p.name).distribution_level
        if t is None:  # the truth itself undecided (cannot happen for an exact pair)
            continue
        out.append(Scored(p.name, p.kind, "distribution_level", p.distribution_level, t))
        if p.kind in PARALLEL:
            _both(out, p, "projected", p.projected, t)
            if t is False:
                _both(out, p, "holds", (p.holds_a, p.holds_b), False)
            if p.guaranteed is True:
                if p.distribution_level is False:
                    ok = t is False
                else:  # A5: both measured full angles within θ
                    sin_theta = p.band.lower
                    ok = all(x.sin <= sin_theta for x in p.scores.parallel)
                out.append(Scored(p.name, p.kind, "guaranteed", True, bool(ok)))
        elif p.kind == "relational":
            _both(out, p, "inclusion", p.inclusion, t)
            if t:
                _both(out, p, "holds", (p.holds_a, p.holds_b), True)
        elif p.kind == "probe":
            if t:
                _both(out, p, "holds", (p.holds_a, p.holds_b), True)
        elif p.kind == "steering" and t:
            out.append(Scored(p.name, p.kind, "holds_b", p.holds_b, True))
    return out
