"""The world spec: every key of a `simident world` TOML file, validated before any work.

A spec fixes the ground truth's diversity exactly: dim E = `rank_E`, dim U = `rank_U` and
k = rank(L) = `k`, measured over the whole context set S (base contexts and their query
extensions). `WorldSpec(...)`, `WorldSpec.from_dict` and `WorldSpec.from_toml` all
validate; an impossible or inconsistent spec raises SimidentError naming the field and
the constraint. `to_dict()` is the JSON form and round-trips through `from_dict`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from numbers import Integral, Real
from pathlib import Path

from simident.util.errors import SimidentError
from simident.util.io import read_toml

CONTEXT_KINDS = ("compositional", "random")
PARALLEL_PREFIX = "parallel_"


def fail_field(field_name: str, msg: str):
    raise SimidentError(f"{field_name}: {msg}")


# Integers of a spec become int32 shapes and ids (and the seed a 32-bit PRNG key), so
# larger values are refused here rather than overflowing later.
MAX_INT = 2**31 - 1
MAX_SEED = 2**32 - 1


def check_int(name: str, value, lo: int | None = None, hi: int = MAX_INT) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        fail_field(name, f"expected an integer, got {value!r}")
    if lo is not None and value < lo:
        fail_field(name, f"must be >= {lo} (got {value})")
    if value > hi:
        bound = "2^32 - 1" if hi == MAX_SEED else "2^31 - 1"
        fail_field(name, f"must be <= {bound} (got {value})")
    return int(value)


def check_float(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        fail_field(name, f"expected a finite number, got {value!r}")
    return float(value)


def check_bool(name: str, value) -> bool:
    if not isinstance(value, bool):
        fail_field(name, f"expected true or false, got {value!r}")
    return value


def check_name(name: str, value) -> str:
    if not isinstance(value, str) or not value.strip():
        fail_field(name, f"expected a non-empty string, got {value!r}")
    if value != value.strip() or any(c.isspace() or not c.isprintable() for c in value):
        fail_field(name, f"must not contain whitespace or control characters (got {value!r})")
    return value


def check_keys(where: str, data, allowed) -> None:
    if not isinstance(data, dict):
        raise SimidentError(f"{where}: expected a table of keys, got {data!r}")
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise SimidentError(
            f"{where}: unknown key(s) {', '.join(repr(k) for k in unknown)} "
            f"(allowed: {', '.join(sorted(allowed))})"
        )


@dataclass(frozen=True)
class QuerySpec:
    """A relation q: its tokens are appended to every base context (s ⊕ q ∈ S).

    inclusion: whether the planted map A_q satisfies IC(A): A(E_q ∩ U⊥) ⊆ U⊥.
    tokens: the query's token ids; None lets the generator pick `query_length` tokens.
    """

    name: str
    inclusion: bool = True
    tokens: tuple[int, ...] | None = None

    def to_dict(self) -> dict:
        out = {"name": self.name, "inclusion": self.inclusion}
        if self.tokens is not None:
            out["tokens"] = list(self.tokens)
        return out


@dataclass(frozen=True)
class ProbeSpec:
    """A planted attribute z(s) = w·f*(s) + β on the base contexts.

    visible: w ∈ U (z is affine in the centered logits); invisible: w ∈ E ∩ U⊥ (it is not).
    """

    name: str
    visible: bool = True

    def to_dict(self) -> dict:
        return {"name": self.name, "visible": self.visible}


_QUERY_KEYS = ("name", "inclusion", "tokens")
_PROBE_KEYS = ("name", "visible")


@dataclass(frozen=True, kw_only=True)
class WorldSpec:
    """A validated world spec (docs/world.md has the table of keys)."""

    vocab_size: int  # V: output vocabulary, also the tokens contexts are made of
    d: int  # dimension of the ground truth f*, g*
    n_contexts: int  # number of base contexts
    name: str = "world"  # label; the world id is name + a hash of the spec
    seed: int = 0  # every random choice derives from it
    rank_E: int | None = None  # dim E over all contexts (default d)
    rank_U: int | None = None  # dim U = dim span{ḡ(y)} (default d)
    k: int | None = None  # rank of the centered logits (default min(rank_E, rank_U))
    context_length: int = 2  # tokens per base context
    context_kind: str = "compositional"  # "compositional" | "random"
    queries: tuple[QuerySpec, ...] = ()
    query_length: int = 1  # tokens of a query whose `tokens` are not given
    n_parallel: int = 0  # planted parallel unembedding quadruples
    parallel_lambda: float | None = None  # λ of every quadruple (default: drawn in [0.5, 2])
    probes: tuple[ProbeSpec, ...] = ()
    heldout_fraction: float = 0.0  # share of base contexts held out (compositional only)
    n_samples: int = 0  # sampled next tokens per context; 0 = exact targets (population)
    logit_scale: float = 1.0  # RMS over contexts of the std over tokens of centered logits
    spectrum_ratio: float = 2.0  # σ_max/σ_min of the coordinates of f* and of ḡ*

    def __post_init__(self):
        _validate(self)

    # --- derived sizes -------------------------------------------------------------
    @property
    def n_heldout(self) -> int:
        """Held-out base contexts: round(heldout_fraction · n_contexts)."""
        return int(round(self.heldout_fraction * self.n_contexts))

    @property
    def n_total(self) -> int:
        """|S|: base contexts plus one extension s ⊕ q per base context and query."""
        return self.n_contexts * (1 + len(self.queries))

    # --- JSON / TOML ---------------------------------------------------------------
    def to_dict(self) -> dict:
        """JSON form (defaults resolved); `from_dict(to_dict())` gives an equal spec."""
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "queries":
                v = [q.to_dict() for q in v]
            elif f.name == "probes":
                v = [p.to_dict() for p in v]
            elif v is None:
                continue
            out[f.name] = v
        return out

    @classmethod
    def from_dict(cls, data: dict, source: str = "spec") -> WorldSpec:
        """Build and validate a spec from a dict; unknown keys are errors."""
        allowed = [f.name for f in fields(cls)]
        check_keys(source, data, allowed)
        for key in ("vocab_size", "d", "n_contexts"):
            if key not in data:
                raise SimidentError(f"{key}: required key missing from {source}")
        kw = dict(data)
        kw["queries"] = tuple(_query_from(q, i) for i, q in enumerate(_list(data, "queries")))
        kw["probes"] = tuple(_probe_from(p, i) for i, p in enumerate(_list(data, "probes")))
        return cls(**kw)

    @classmethod
    def from_toml(cls, path) -> WorldSpec:
        """Read a TOML spec file; parse errors and unknown keys name the file."""
        path = Path(path)
        data = read_toml(path, "spec file")
        try:
            return cls.from_dict(data, source=str(path))
        except SimidentError as e:
            raise SimidentError(f"{path}: {e}") from None


def _list(data: dict, key: str) -> list:
    v = data.get(key, [])
    if not isinstance(v, (list, tuple)):
        fail_field(key, f"expected a list of tables ([[{key}]]), got {v!r}")
    return list(v)


def _query_from(q, i: int) -> QuerySpec:
    if isinstance(q, QuerySpec):
        return q
    check_keys(f"queries[{i}]", q, _QUERY_KEYS)
    if "name" not in q:
        fail_field(f"queries[{i}].name", "required key missing")
    tokens = q.get("tokens")
    if tokens is not None:
        if not isinstance(tokens, (list, tuple)):
            fail_field(f"queries[{i}].tokens", f"expected a list of token ids, got {tokens!r}")
        tokens = tuple(tokens)
    return QuerySpec(name=q["name"], inclusion=q.get("inclusion", True), tokens=tokens)


def _probe_from(p, i: int) -> ProbeSpec:
    if isinstance(p, ProbeSpec):
        return p
    check_keys(f"probes[{i}]", p, _PROBE_KEYS)
    if "name" not in p:
        fail_field(f"probes[{i}].name", "required key missing")
    return ProbeSpec(name=p["name"], visible=p.get("visible", True))


def _set(spec, name, value):
    object.__setattr__(spec, name, value)


def _validate(s: WorldSpec) -> None:
    """Every constraint of a spec; the first violation raises SimidentError."""
    _set(s, "name", check_name("name", s.name))
    _set(s, "seed", check_int("seed", s.seed, 0, MAX_SEED))
    V = check_int("vocab_size", s.vocab_size, 2)
    d = check_int("d", s.d, 1)
    n = check_int("n_contexts", s.n_contexts, 2)
    _set(s, "vocab_size", V)
    _set(s, "d", d)
    _set(s, "n_contexts", n)

    # ranks: dim E, dim U, k
    e = d if s.rank_E is None else check_int("rank_E", s.rank_E, 1)
    u = d if s.rank_U is None else check_int("rank_U", s.rank_U, 1)
    if e > d:
        fail_field("rank_E", f"must be <= d = {d} (got {e})")
    if u > d:
        fail_field("rank_U", f"must be <= d = {d} (got {u})")
    k = min(e, u) if s.k is None else check_int("k", s.k, 1)
    if k > min(e, u):
        fail_field("k", f"must be <= min(rank_E, rank_U) = {min(e, u)} (got {k})")
    if k < e + u - d:
        fail_field(
            "k",
            f"must be >= rank_E + rank_U - d = {e + u - d}, since E and U together fit in "
            f"R^d: dim E + dim U - k <= d (got k = {k})",
        )
    _set(s, "rank_E", e)
    _set(s, "rank_U", u)
    _set(s, "k", k)
    if u > V - 1:
        fail_field(
            "vocab_size",
            f"rank_U = {u} needs vocab_size >= rank_U + 1 = {u + 1} (the centered "
            f"unembeddings of V tokens span at most V - 1 dimensions; got {V})",
        )

    # contexts
    T = check_int("context_length", s.context_length, 1)
    _set(s, "context_length", T)
    if s.context_kind not in CONTEXT_KINDS:
        fail_field(
            "context_kind", f"must be one of {', '.join(CONTEXT_KINDS)} (got {s.context_kind!r})"
        )
    if n < e + 2:
        fail_field(
            "n_contexts",
            f"needs >= rank_E + 2 = {e + 2} base contexts: rank_E + 1 to span E affinely, "
            f"one more so a planted affine relation is testable (got {n})",
        )
    if V**T < n:
        fail_field(
            "n_contexts",
            f"only vocab_size^context_length = {V}^{T} = {V**T} distinct base contexts "
            f"exist (got n_contexts = {n}); base contexts must be distinct",
        )
    if s.context_kind == "compositional" and e > T * (V - 1):
        fail_field(
            "rank_E",
            f"a compositional f*(s) = sum_t P_t x(s_t) + c spans at most "
            f"context_length * (vocab_size - 1) = {T * (V - 1)} dimensions (got {e})",
        )

    # held-out split
    h = check_float("heldout_fraction", s.heldout_fraction)
    _set(s, "heldout_fraction", h)
    if not 0.0 <= h < 1.0:
        fail_field("heldout_fraction", f"must lie in [0, 1) (got {h})")
    if s.context_kind == "random" and h != 0.0:
        fail_field(
            "heldout_fraction",
            "must be 0 for context_kind = 'random' (an arbitrary vector per context cannot "
            f"be predicted for an unseen context; got {h})",
        )
    if h > 0.0:
        n_h = s.n_heldout
        if n_h < 1:
            fail_field(
                "heldout_fraction", f"{h} of {n} base contexts rounds to 0 held-out contexts"
            )
        if n - n_h < e + 2:
            fail_field(
                "heldout_fraction",
                f"leaves {n - n_h} training base contexts; at least rank_E + 2 = {e + 2} "
                "are needed to span E",
            )

    # queries
    Lq = check_int("query_length", s.query_length, 1)
    _set(s, "query_length", Lq)
    if not isinstance(s.queries, tuple):
        _set(s, "queries", tuple(_query_from(q, i) for i, q in enumerate(s.queries)))
    names: dict[str, str] = {}
    seen_tokens: dict[tuple, str] = {}
    for i, q in enumerate(s.queries):
        where = f"queries[{i}]"
        if not isinstance(q, QuerySpec):
            fail_field(where, f"expected a query table, got {q!r}")
        check_name(f"{where}.name", q.name)
        check_bool(f"{where}.inclusion", q.inclusion)
        _claim_name(names, q.name, f"{where}.name")
        if not q.inclusion and e <= k:
            fail_field(
                f"{where}.inclusion",
                f"inclusion = false needs rank_E > k (a direction in E ∩ U⊥ for A_q to "
                f"bring into view); here rank_E = k = {k}",
            )
        if q.tokens is not None:
            if len(q.tokens) == 0:
                fail_field(f"{where}.tokens", "must hold at least one token id")
            for j, t in enumerate(q.tokens):
                check_int(f"{where}.tokens[{j}]", t)
                if not 0 <= t < V:
                    fail_field(f"{where}.tokens[{j}]", f"token id {t} out of range [0, {V})")
            tok = tuple(int(t) for t in q.tokens)
            if tok in seen_tokens:
                fail_field(
                    f"{where}.tokens",
                    f"same tokens {list(tok)} as query '{seen_tokens[tok]}': the extended "
                    "context ids would collide",
                )
            seen_tokens[tok] = q.name
    n_auto = sum(q.tokens is None for q in s.queries)
    taken = sum(len(t) == Lq for t in seen_tokens)
    if n_auto and V**Lq - taken < n_auto:
        fail_field(
            "query_length",
            f"{n_auto} queries need distinct token sequences of length {Lq}, but only "
            f"{V**Lq - taken} are free",
        )

    # parallel quadruples
    m = check_int("n_parallel", s.n_parallel, 0)
    _set(s, "n_parallel", m)
    if 4 * m > V:
        fail_field(
            "n_parallel",
            f"each quadruple uses 4 distinct tokens: needs 4 * n_parallel <= "
            f"vocab_size = {V} (got {m})",
        )
    if V - 1 - m < u:
        fail_field(
            "n_parallel",
            f"each quadruple fixes one unembedding; needs vocab_size - 1 - n_parallel >= "
            f"rank_U = {u} (got n_parallel = {m})",
        )
    for i in range(m):
        _claim_name(names, f"{PARALLEL_PREFIX}{i}", "n_parallel")
    if s.parallel_lambda is not None:
        lam = check_float("parallel_lambda", s.parallel_lambda)
        if abs(lam) < 1e-3 or abs(lam) > 1e3:
            fail_field("parallel_lambda", f"|λ| must lie in [1e-3, 1e3] (got {lam})")
        _set(s, "parallel_lambda", lam)

    # probes
    if not isinstance(s.probes, tuple):
        _set(s, "probes", tuple(_probe_from(p, i) for i, p in enumerate(s.probes)))
    for i, p in enumerate(s.probes):
        where = f"probes[{i}]"
        if not isinstance(p, ProbeSpec):
            fail_field(where, f"expected a probe table, got {p!r}")
        check_name(f"{where}.name", p.name)
        check_bool(f"{where}.visible", p.visible)
        _claim_name(names, p.name, f"{where}.name")
        if not p.visible and e <= k:
            fail_field(
                f"{where}.visible",
                f"visible = false needs rank_E > k (a direction in E ∩ U⊥); here rank_E = k = {k}",
            )

    # data and scales
    _set(s, "n_samples", check_int("n_samples", s.n_samples, 0))
    ls = check_float("logit_scale", s.logit_scale)
    if not 0.0 < ls <= 10.0:
        fail_field("logit_scale", f"must lie in (0, 10] (got {ls})")
    _set(s, "logit_scale", ls)
    sr = check_float("spectrum_ratio", s.spectrum_ratio)
    if not 1.0 <= sr <= 10.0:
        fail_field("spectrum_ratio", f"must lie in [1, 10] (got {sr})")
    _set(s, "spectrum_ratio", sr)


def _claim_name(names: dict, name: str, where: str) -> None:
    """Property names are unique across queries, probes and parallel_<i>."""
    if name in names:
        fail_field(
            where, f"name '{name}' is already used by {names[name]}; property names are unique"
        )
    if name.startswith(PARALLEL_PREFIX) and where != "n_parallel":
        fail_field(where, f"names starting with '{PARALLEL_PREFIX}' are reserved (got '{name}')")
    names[name] = where


__all__ = ["CONTEXT_KINDS", "ProbeSpec", "QuerySpec", "WorldSpec"]
