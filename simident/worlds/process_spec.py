"""Specs of process worlds (`kind = "language"`, `kind = "hmm"`) and the one parser that
dispatches on `kind` (absent or "planted": the planted `WorldSpec`).

Every key is validated before any work; the first violation raises SimidentError naming
the key (`attributes[1].visibility: ...`). `to_dict()` is the JSON form and round-trips
through `spec_from_dict`. docs/world.md has the table of keys.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from pathlib import Path

from simident.util.errors import SimidentError
from simident.util.io import read_toml
from simident.worlds.spec import (
    MAX_SEED,
    WorldSpec,
    check_float,
    check_int,
    check_keys,
    check_name,
    fail_field,
)

KINDS = ("planted", "language", "hmm")
SOURCES = ("subject", "latest")
MAX_LENGTH = 16  # tokens after the subject (language) / per sequence (hmm)
MAX_TUPLES = 1024  # ∏ K_j: the mixture over attribute tuples when noise > 0
MAX_VOCAB = 2048  # L* is formed n × V by the builder


@dataclass(frozen=True)
class AttributeSpec:
    """A latent attribute z_j with `values` = K_j values.

    source "subject": a lookup from the subject token (a memorised fact); "latest": the
    value of the most recent marker token of this attribute (the subject's value before
    any marker). visibility scales its signature in the plain-text logits (0: never
    visible in plain text).
    """

    name: str
    values: int
    source: str = "subject"
    visibility: float = 1.0

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "values": self.values,
            "source": self.source,
            "visibility": self.visibility,
        }


_ATTR_KEYS = ("name", "values", "source", "visibility")


def _set(spec, name, value):
    object.__setattr__(spec, name, value)


def _check_fraction(name: str, value, hi_open: bool = True) -> float:
    v = check_float(name, value)
    if not (0.0 <= v < 1.0 if hi_open else 0.0 <= v <= 1.0):
        fail_field(name, f"must lie in [0, 1{')' if hi_open else ']'} (got {v})")
    return v


def _attribute_from(a, i: int) -> AttributeSpec:
    where = f"attributes[{i}]"
    if isinstance(a, AttributeSpec):
        return a
    check_keys(where, a, _ATTR_KEYS)
    for key in ("name", "values"):
        if key not in a:
            fail_field(f"{where}.{key}", "required key missing")
    return AttributeSpec(
        name=a["name"],
        values=a["values"],
        source=a.get("source", "subject"),
        visibility=a.get("visibility", 1.0),
    )


@dataclass(frozen=True, kw_only=True)
class LanguageSpec:
    """The attribute language of THEORY.md §5 (docs/world.md: keys and vocabulary)."""

    kind: str = "language"
    name: str = "language"
    seed: int = 0
    subjects: int = 40  # subject tokens, each with an attribute tuple
    sequences_per_subject: int = 4  # sampled sequences per subject: their prefixes are S
    length: int = 6  # tokens after BOS and the subject (≤ 16)
    words: int = 16  # plain-text words the signatures act on
    signature_rank: int | None = None  # rank of the D signature columns (default D)
    adjective_pairs: int = 0  # (base, superlative) pairs sharing τ; > 0 adds one broken pair
    answer_sharpness: float = 4.0  # α: after query j, logits ρ + α e(answer of z_j)
    noise: float = 0.0  # ε: the subject's tuple is the table's w.p. 1 − ε, uniform otherwise
    heldout_subjects: float = 0.0  # share of subjects whose contexts are held out
    n_sequences: int = 0  # sampled training sequences (data.npz); 0 = exact targets
    # share of the training sequences prompted with a query: at one position a query token
    # is written instead of drawn (not a training target); p* is unchanged
    query_prompts: float = 0.0
    attributes: tuple[AttributeSpec, ...] = ()

    def __post_init__(self):
        _validate_language(self)

    @property
    def K(self) -> tuple[int, ...]:
        return tuple(a.values for a in self.attributes)

    @property
    def D(self) -> int:
        """Columns of M: Σ_j (K_j − 1)."""
        return sum(k - 1 for k in self.K)

    @property
    def n_heldout(self) -> int:
        return int(round(self.heldout_subjects * self.subjects))

    @property
    def vocab_size(self) -> int:
        """BOS, subjects, words, 2 tokens per adjective pair (with the broken one), the
        markers of `latest` attributes, one query per attribute, the answers."""
        pairs = self.adjective_pairs + 1 if self.adjective_pairs else 0
        markers = sum(a.values for a in self.attributes if a.source == "latest")
        J, answers = len(self.attributes), sum(self.K)
        return 1 + self.subjects + self.words + 2 * pairs + markers + J + answers

    def max_contexts(self) -> int:
        """Upper bound on |S|: every prefix distinct, plus s ⊕ q_j for each plain one."""
        n_plain = self.subjects * self.sequences_per_subject * self.length
        return n_plain * (1 + len(self.attributes))

    def memory_bytes(self) -> int:
        """Peak memory of generation: L* (n × V float64) a few times over, the mixture
        workspace and the token lists of world.json."""
        n, V = self.max_contexts(), self.vocab_size
        tuples = math.prod(self.K) if self.noise > 0 else 1
        chunk = min(n, 4096)
        return int(8 * 6 * n * V + 8 * 3 * chunk * tuples * V + n * ((self.length + 3) * 36 + 120))

    def to_dict(self) -> dict:
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "attributes":
                v = [a.to_dict() for a in v]
            out[f.name] = v
        return out

    @classmethod
    def from_dict(cls, data: dict, source: str = "spec") -> LanguageSpec:
        check_keys(source, data, [f.name for f in fields(cls)])
        kw = dict(data)
        attrs = data.get("attributes", [])
        if not isinstance(attrs, (list, tuple)):
            fail_field("attributes", f"expected a list of tables ([[attributes]]), got {attrs!r}")
        kw["attributes"] = tuple(_attribute_from(a, i) for i, a in enumerate(attrs))
        return cls(**kw)


def _validate_language(s: LanguageSpec) -> None:
    if s.kind != "language":
        fail_field("kind", f"expected 'language' (got {s.kind!r})")
    _set(s, "name", check_name("name", s.name))
    _set(s, "seed", check_int("seed", s.seed, 0, MAX_SEED))
    _set(s, "subjects", check_int("subjects", s.subjects, 2))
    _set(s, "sequences_per_subject", check_int("sequences_per_subject", s.sequences_per_subject, 1))
    T = check_int("length", s.length, 1)
    if T > MAX_LENGTH:
        fail_field("length", f"must be <= {MAX_LENGTH} tokens after the subject (got {T})")
    _set(s, "length", T)
    if not isinstance(s.attributes, tuple):
        _set(s, "attributes", tuple(_attribute_from(a, i) for i, a in enumerate(s.attributes)))
    if not s.attributes:
        fail_field("attributes", "at least one [[attributes]] table is required")
    names: set[str] = set()
    for i, a in enumerate(s.attributes):
        where = f"attributes[{i}]"
        if not isinstance(a, AttributeSpec):
            fail_field(where, f"expected an attribute table, got {a!r}")
        check_name(f"{where}.name", a.name)
        if a.name in names:
            fail_field(
                f"{where}.name", f"name '{a.name}' is already used; attribute names are unique"
            )
        names.add(a.name)
        k = check_int(f"{where}.values", a.values, 2)
        if k > 64:
            fail_field(f"{where}.values", f"must be <= 64 (got {k})")
        if a.source not in SOURCES:
            fail_field(f"{where}.source", f"must be one of {', '.join(SOURCES)} (got {a.source!r})")
        vis = check_float(f"{where}.visibility", a.visibility)
        if not 0.0 <= vis <= 10.0:
            fail_field(f"{where}.visibility", f"must lie in [0, 10] (got {vis})")
        object.__setattr__(a, "values", k)
        object.__setattr__(a, "visibility", vis)
    D = s.D
    W = check_int("words", s.words, 1)
    _set(s, "words", W)
    r = D if s.signature_rank is None else check_int("signature_rank", s.signature_rank, 1)
    if r > D:
        fail_field("signature_rank", f"must be <= D = Σ_j (values_j − 1) = {D} (got {r})")
    if W < r:
        fail_field(
            "words",
            f"signatures of rank {r} need at least signature_rank = {r} words (got {W}); "
            "raise words or lower signature_rank",
        )
    _set(s, "signature_rank", r)
    P = check_int("adjective_pairs", s.adjective_pairs, 0)
    if P == 1:
        fail_field("adjective_pairs", "must be 0 or >= 2 (two pairs share the propensity τ; got 1)")
    if P and len(s.attributes) < 2:
        fail_field(
            "adjective_pairs",
            "needs at least 2 attributes: τ is driven by attributes[0], the broken pair by "
            "attributes[1]",
        )
    _set(s, "adjective_pairs", P)
    alpha = check_float("answer_sharpness", s.answer_sharpness)
    if not 0.0 < alpha <= 20.0:
        fail_field("answer_sharpness", f"must lie in (0, 20] (got {alpha})")
    _set(s, "answer_sharpness", alpha)
    eps = _check_fraction("noise", s.noise)
    if eps > 0 and math.prod(s.K) > MAX_TUPLES:
        fail_field(
            "noise",
            f"noise > 0 mixes over all {math.prod(s.K)} attribute tuples; at most "
            f"{MAX_TUPLES} are supported (lower attributes' values)",
        )
    _set(s, "noise", eps)
    h = _check_fraction("heldout_subjects", s.heldout_subjects)
    _set(s, "heldout_subjects", h)
    if h > 0 and s.n_heldout < 1:
        fail_field(
            "heldout_subjects", f"{h} of {s.subjects} subjects rounds to 0 held-out subjects"
        )
    if s.subjects - s.n_heldout < 1:
        fail_field("heldout_subjects", f"leaves no training subject (got {h})")
    _set(s, "n_sequences", check_int("n_sequences", s.n_sequences, 0))
    qp = _check_fraction("query_prompts", s.query_prompts, hi_open=False)
    if qp > 0 and s.length < 2:
        fail_field(
            "query_prompts",
            f"a prompted query needs its answer in the sequence: length >= 2 (got {s.length})",
        )
    _set(s, "query_prompts", qp)
    if s.vocab_size > MAX_VOCAB:
        fail_field(
            "subjects",
            f"the vocabulary has {s.vocab_size} tokens; at most {MAX_VOCAB} are supported "
            "(lower subjects, words or attribute values)",
        )


@dataclass(frozen=True, kw_only=True)
class HMMSpec:
    """A hidden Markov model: p(y | prefix) is a mixture over hidden states (forward
    recursion). Its contexts are the distinct prefixes of `n_sequences` sampled sequences."""

    kind: str = "hmm"
    name: str = "hmm"
    seed: int = 0
    states: int = 3
    vocab_size: int = 8
    length: int = 6  # tokens per sequence (≤ 16); prefixes of 1..length−1 tokens are S
    concentration: float = 1.0  # Dirichlet concentration of π, transition and emission rows
    n_sequences: int = 64  # sampled sequences: their prefixes are S and the training data

    def __post_init__(self):
        if self.kind != "hmm":
            fail_field("kind", f"expected 'hmm' (got {self.kind!r})")
        _set(self, "name", check_name("name", self.name))
        _set(self, "seed", check_int("seed", self.seed, 0, MAX_SEED))
        _set(self, "states", check_int("states", self.states, 1))
        if self.states > 64:
            fail_field("states", f"must be <= 64 (got {self.states})")
        V = check_int("vocab_size", self.vocab_size, 2)
        if V > MAX_VOCAB:
            fail_field("vocab_size", f"must be <= {MAX_VOCAB} (got {V})")
        _set(self, "vocab_size", V)
        T = check_int("length", self.length, 2)
        if T > MAX_LENGTH:
            fail_field("length", f"must be <= {MAX_LENGTH} (got {T})")
        _set(self, "length", T)
        c = check_float("concentration", self.concentration)
        if not 0.1 <= c <= 100.0:
            fail_field("concentration", f"must lie in [0.1, 100] (got {c})")
        _set(self, "concentration", c)
        _set(self, "n_sequences", check_int("n_sequences", self.n_sequences, 1))

    def max_contexts(self) -> int:
        return self.n_sequences * (self.length - 1)

    def memory_bytes(self) -> int:
        n, V = self.max_contexts(), self.vocab_size
        return int(8 * 6 * n * V + n * (self.length * 36 + 120))

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict, source: str = "spec") -> HMMSpec:
        check_keys(source, data, [f.name for f in fields(cls)])
        return cls(**data)


AnySpec = WorldSpec | LanguageSpec | HMMSpec


def spec_from_dict(data, source: str = "spec") -> AnySpec:
    """The spec of `data` by its `kind` (absent or "planted": WorldSpec)."""
    if isinstance(data, (WorldSpec, LanguageSpec, HMMSpec)):
        return data
    if not isinstance(data, dict):
        raise SimidentError(f"{source}: expected a table of keys, got {data!r}")
    kind = data.get("kind", "planted")
    if kind not in KINDS:
        fail_field("kind", f"must be one of {', '.join(KINDS)} (got {kind!r})")
    if kind == "language":
        return LanguageSpec.from_dict(data, source)
    if kind == "hmm":
        return HMMSpec.from_dict(data, source)
    planted = {k: v for k, v in data.items() if k != "kind"}
    return WorldSpec.from_dict(planted, source)


def spec_from_toml(path) -> AnySpec:
    """Read a TOML spec of any kind; errors name the file and the key."""
    path = Path(path)
    data = read_toml(path, "spec file")
    try:
        return spec_from_dict(data, source=str(path))
    except SimidentError as e:
        raise SimidentError(f"{path}: {e}") from None


__all__ = [
    "AttributeSpec",
    "HMMSpec",
    "KINDS",
    "LanguageSpec",
    "spec_from_dict",
    "spec_from_toml",
]
