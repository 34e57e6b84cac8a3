"""Property specs: the linear properties of THEORY.md §3 that `simident.compare` tests.

Frozen dataclasses, one per kind, validated on construction (well-formed ids, pairs,
values); `parse_properties` is the one path from a `{"properties": [...]}` JSON object
(the `--properties` file, a world's properties.json) and checks every spec's ids against
the models' n, V and d. Errors name the entry and the field.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import ClassVar

from simident.util.errors import SimidentError

Pair = tuple[int, int]


class _Validated:
    """Specs check their own fields when built (`_validate_spec`)."""

    def __post_init__(self):
        _validate_spec(self)


@dataclass(frozen=True)
class ParallelUnembedding(_Validated):
    """P1: g(b) − g(a) ∥ g(d) − g(c), pairs = ((a, b), (c, d)) of token ids."""

    name: str
    pairs: tuple[Pair, Pair]
    kind: ClassVar[str] = "parallel_unembedding"


@dataclass(frozen=True)
class ParallelEmbedding(_Validated):
    """P2: f(s1) − f(s0) ∥ f(s3) − f(s2), pairs = ((s0, s1), (s2, s3)) of context ids."""

    name: str
    pairs: tuple[Pair, Pair]
    kind: ClassVar[str] = "parallel_embedding"


@dataclass(frozen=True)
class Relational(_Validated):
    """P3: ℓ(s⊕q) affine in f(s) over pairs (s, s⊕q) of context ids."""

    name: str
    pairs: tuple[Pair, ...]
    kind: ClassVar[str] = "relational"


@dataclass(frozen=True)
class Probe(_Validated):
    """P4: z(s) = w·f(s) + β on `contexts`, with z given by `values`."""

    name: str
    contexts: tuple[int, ...]
    values: tuple[float, ...]
    kind: ClassVar[str] = "probe"


@dataclass(frozen=True)
class Steering(_Validated):
    """P5: a steering vector, either Σ f(s1) − f(s0) over context `pairs` or a `vector`
    given in model A's coordinates (exactly one of the two)."""

    name: str
    pairs: tuple[Pair, ...] | None = None
    vector: tuple[float, ...] | None = field(default=None)
    kind: ClassVar[str] = "steering"


PropertySpec = ParallelUnembedding | ParallelEmbedding | Relational | Probe | Steering
KINDS: dict[str, type] = {
    c.kind: c for c in (ParallelUnembedding, ParallelEmbedding, Relational, Probe, Steering)
}
_FIELDS = {
    "parallel_unembedding": {"pairs"},
    "parallel_embedding": {"pairs"},
    "relational": {"pairs"},
    "probe": {"contexts", "values"},
    "steering": {"pairs", "vector"},
}


# Annotations a world's properties.json records for the reader (ignored by the checks).
_NOTES = {
    "parallel_unembedding": {"lambda", "predicted"},
    "parallel_embedding": {"lambda", "predicted"},
    "relational": {"inclusion", "predicted"},
    "probe": {"visible", "predicted"},
    "steering": {"predicted"},
}


def _ids(value, where: str, upper: int, what: str, pair: bool = False) -> tuple[int, ...]:
    """A flat list (or, with pair=True, a pair) of integer ids in [0, upper)."""
    if pair:
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise SimidentError(f"{where}: expected a pair [x, y], got {value!r}")
    elif not isinstance(value, (list, tuple)):
        raise SimidentError(f"{where}: expected a list, got {value!r}")
    out = []
    for i, x in enumerate(value):
        if isinstance(x, bool) or not isinstance(x, Integral):
            raise SimidentError(f"{where}[{i}]: expected an integer {what} id, got {x!r}")
        if int(x) < 0 or (upper is not None and int(x) >= upper):
            bound = "∞" if upper is None else upper
            raise SimidentError(f"{where}[{i}] = {x}: {what} id out of range [0, {bound})")
        out.append(int(x))
    return tuple(out)


def _pairs(value, where, upper, what, exactly=None, at_least=1, distinct=False):
    if not isinstance(value, (list, tuple)) or not all(isinstance(p, (list, tuple)) for p in value):
        raise SimidentError(f"{where}: expected a list of [x, y] pairs")
    if exactly is not None and len(value) != exactly:
        raise SimidentError(f"{where}: expected exactly {exactly} pairs, got {len(value)}")
    if len(value) < at_least:
        raise SimidentError(f"{where}: expected at least {at_least} pairs, got {len(value)}")
    out = tuple(_ids(p, f"{where}[{i}]", upper, what, pair=True) for i, p in enumerate(value))
    if distinct:
        for i, (x, y) in enumerate(out):
            if x == y:
                raise SimidentError(
                    f"{where}[{i}] = [{x}, {y}]: a zero-length difference has no direction "
                    f"(the two {what}s must differ)"
                )
    return out


def _numbers(value, where: str, length: int | None = None) -> tuple[float, ...]:
    ok = isinstance(value, (list, tuple)) and all(
        isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(v) for v in value
    )
    if not ok or (length is not None and len(value) != length):
        size = f"{length} " if length is not None else ""
        raise SimidentError(f"{where}: expected a list of {size}finite numbers")
    return tuple(float(v) for v in value)


def _fields(kind: str, e: Mapping, where: str, n, V, d_a) -> dict:
    """The validated fields of one spec of `kind` from `e` (the JSON entry, or a spec's
    own fields); n, V, d_a bound the ids and the vector (None: not checked yet)."""
    if kind == "parallel_unembedding":
        return {"pairs": _pairs(e["pairs"], f"{where}.pairs", V, "token", exactly=2, distinct=True)}
    if kind == "parallel_embedding":
        return {
            "pairs": _pairs(e["pairs"], f"{where}.pairs", n, "context", exactly=2, distinct=True)
        }
    if kind == "relational":
        return {"pairs": _pairs(e["pairs"], f"{where}.pairs", n, "context", at_least=2)}
    if kind == "probe":
        contexts = _ids(e["contexts"], f"{where}.contexts", n, "context")
        values = _numbers(e["values"], f"{where}.values")
        if len(values) != len(contexts):
            raise SimidentError(f"{where}: {len(contexts)} contexts but {len(values)} values")
        if len(values) < 2:
            raise SimidentError(f"{where}: a probe needs at least 2 contexts")
        return {"contexts": contexts, "values": values}
    if (e.get("pairs") is not None) == (e.get("vector") is not None):
        raise SimidentError(f"{where}: give exactly one of 'pairs' or 'vector'")
    if e.get("pairs") is not None:
        return {"pairs": _pairs(e["pairs"], f"{where}.pairs", n, "context"), "vector": None}
    vector = _numbers(e["vector"], f"{where}.vector (model A's dimension)", d_a)
    return {"pairs": None, "vector": vector}


def _validate_spec(spec) -> None:
    """On construction: a spec's fields are well formed (ranges are checked against the
    models by `parse_properties`); lists become tuples."""
    if not isinstance(spec.name, str) or not spec.name:
        raise SimidentError(f"{type(spec).__name__}.name: expected a non-empty string")
    where = f"{type(spec).__name__}({spec.name!r})"
    own = {k: getattr(spec, k) for k in _FIELDS[spec.kind]}
    for key, value in _fields(spec.kind, own, where, None, None, None).items():
        object.__setattr__(spec, key, value)


def _from_mapping(e: Mapping, where: str, n: int, V: int, d_a: int) -> PropertySpec:
    kind = e.get("kind")
    if kind not in KINDS:
        raise SimidentError(f"{where}.kind = {kind!r}: must be one of {', '.join(KINDS)}")
    name = e.get("name")
    if not isinstance(name, str) or not name:
        raise SimidentError(f"{where}.name: expected a non-empty string")
    where = f"{where} ('{name}')"
    unknown = sorted(set(e) - {"kind", "name"} - _FIELDS[kind] - _NOTES[kind])
    if unknown:
        allowed = ", ".join(["kind", "name", *sorted(_FIELDS[kind] | _NOTES[kind])])
        raise SimidentError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))} ({allowed})")
    for key in _FIELDS[kind] - {"pairs", "vector"}:
        if key not in e:
            raise SimidentError(f"{where}: missing field '{key}'")
    if kind in ("parallel_unembedding", "parallel_embedding", "relational") and "pairs" not in e:
        raise SimidentError(f"{where}: missing field 'pairs'")
    return KINDS[kind](name, **_fields(kind, e, where, n, V, d_a))


def parse_properties(
    spec, n: int, V: int, d_a: int, source: str = "properties"
) -> tuple[PropertySpec, ...]:
    """Validate properties against n contexts, V tokens and model A's dimension d_a.

    `spec` is a `{"properties": [...]}` object, or an iterable of dict entries or spec
    dataclasses. Names must be unique. Raises SimidentError naming the entry and field."""
    if isinstance(spec, Mapping):
        if set(spec) - {"properties"} or not isinstance(spec.get("properties"), list):
            raise SimidentError(f'{source}: expected an object {{"properties": [...]}}')
        entries: Sequence = spec["properties"]
    elif isinstance(spec, Iterable) and not isinstance(spec, (str, bytes)):
        entries = list(spec)
    else:
        raise SimidentError(f'{source}: expected an object {{"properties": [...]}}')
    out: list[PropertySpec] = []
    seen: set[str] = set()
    for i, e in enumerate(entries):
        where = f"{source}: properties[{i}]"
        if isinstance(e, tuple(KINDS.values())):  # well formed since construction
            own = {k: getattr(e, k) for k in _FIELDS[e.kind]}
            _fields(e.kind, own, f"{where} ('{e.name}')", n, V, d_a)  # ids in range
            item = e
        elif isinstance(e, Mapping):
            item = _from_mapping(e, where, n, V, d_a)
        else:
            raise SimidentError(f"{where}: expected an object, got {e!r}")
        if item.name in seen:
            raise SimidentError(f"{where}.name = {item.name!r}: duplicate property name")
        seen.add(item.name)
        out.append(item)
    return tuple(out)


def restrict(
    specs: Sequence[PropertySpec], keep: Sequence[int]
) -> tuple[tuple[PropertySpec, ...], list[str]]:
    """Remap context ids to a subset `keep` (new id = position in `keep`).

    Relational pairs and probe contexts outside the subset are dropped (the property is
    dropped when fewer than 2 remain); parallel-embedding and steering pairs must lie
    wholly inside, or the property is dropped. Returns the specs and one note per change.
    """
    pos = {int(c): i for i, c in enumerate(keep)}
    out: list[PropertySpec] = []
    notes: list[str] = []

    def inside(pairs):
        return all(a in pos and b in pos for a, b in pairs)

    def remap(pairs):
        return tuple((pos[a], pos[b]) for a, b in pairs)

    for sp in specs:
        if isinstance(sp, ParallelUnembedding) or (isinstance(sp, Steering) and sp.pairs is None):
            out.append(sp)
        elif isinstance(sp, (ParallelEmbedding, Steering)):
            if inside(sp.pairs):
                out.append(type(sp)(sp.name, remap(sp.pairs)))
            else:
                notes.append(f"{sp.name}: dropped, some of its contexts are outside the subset")
        elif isinstance(sp, Relational):
            kept = [p for p in sp.pairs if inside([p])]
            if len(kept) < 2:
                notes.append(f"{sp.name}: dropped, fewer than 2 of its pairs are in the subset")
                continue
            if len(kept) < len(sp.pairs):
                notes.append(f"{sp.name}: {len(kept)} of {len(sp.pairs)} pairs in the subset")
            out.append(Relational(sp.name, remap(kept)))
        else:
            kept_i = [i for i, c in enumerate(sp.contexts) if c in pos]
            if len(kept_i) < 2:
                notes.append(f"{sp.name}: dropped, fewer than 2 of its contexts are in the subset")
                continue
            if len(kept_i) < len(sp.contexts):
                notes.append(
                    f"{sp.name}: {len(kept_i)} of {len(sp.contexts)} contexts in the subset"
                )
            out.append(
                Probe(
                    sp.name,
                    tuple(pos[sp.contexts[i]] for i in kept_i),
                    tuple(sp.values[i] for i in kept_i),
                )
            )
    return tuple(out), notes
