"""The outcome of one claim: statement, verdict with its checks, key numbers, figures."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from simident.claims.verdicts import ClaimEvidence, Verdict, evidence_to_dict


@dataclass
class Presentation:
    """How a claim's evidence reads in the report: its `present(ev, ctx)`, computed from
    the evidence (and the context's settings, for `config`)."""

    key_numbers: list = field(default_factory=list)  # [(label, value, unit/meaning)]
    tables: list = field(default_factory=list)  # [(caption, header, rows)]
    per_model: list = field(default_factory=list)  # per-seed scores
    notes: list = field(default_factory=list)  # sentences computed from the numbers
    config: dict = field(default_factory=dict)  # what was trained / compared
    # the evidence as the record stores it when that is not the Evidence's own JSON form
    # (claim 6: `measure`'s numbers and the pairs; its models are the per_model rows)
    evidence: Mapping | None = None


@dataclass
class ClaimResult:
    """What `report.py` writes for one claim (results.json entry and report section)."""

    id: int
    title: str
    statement: str
    verdict: Verdict
    # the numbers the checks used, plus observations: the claim module's `Evidence` (or a
    # plain mapping of the same JSON form)
    evidence: ClaimEvidence | Mapping
    key_numbers: list = field(default_factory=list)  # [(label, value, unit/meaning)]
    tables: list = field(default_factory=list)  # [(caption, header, rows)] for the report
    per_model: list = field(default_factory=list)  # per-seed scores
    figures: list = field(default_factory=list)  # paths relative to the output folder
    notes: list = field(default_factory=list)  # sentences computed from the numbers
    config: dict = field(default_factory=dict)  # what was trained / compared
    seconds: float = 0.0

    def to_dict(self) -> dict:
        v = self.verdict.to_dict()
        return {
            "id": self.id,
            "title": self.title,
            "statement": self.statement,
            "verdict": v["verdict"],
            "reasons": v["reasons"],
            "checks": v["checks"],
            "evidence": evidence_to_dict(self.evidence),
            "key_numbers": [{"label": a, "value": b, "unit": c} for a, b, c in self.key_numbers],
            "per_model": self.per_model,
            "figures": self.figures,
            "notes": self.notes,
            "config": self.config,
            "seconds": self.seconds,
        }
