"""`compare`: equivalence of two models plus the verdict on each requested linear property.

`run_compare` returns the dict printed by `simident compare --json`; `format_report` renders
it as tables. `validate_properties` checks a `--properties` spec against n and V.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np

from simident.errors import SimidentError
from simident.theory import properties as P
from simident.theory.equivalence import compare_models

KINDS = ("parallel_unembedding", "parallel_embedding", "relational", "probe", "steering")


def _ids(value, where: str, upper: int, what: str, shape=None) -> list:
    """Validate a flat list (or, with shape="pair", a pair) of integer ids in [0, upper).

    Nested lists are refused: every caller expects flat ids (a nested pair or context list
    would otherwise reach numpy as a ragged array and fail with a traceback)."""
    if shape == "pair":
        if not isinstance(value, list) or len(value) != 2:
            raise SimidentError(f"{where}: expected a pair [x, y], got {value!r}")
    elif not isinstance(value, list):
        raise SimidentError(f"{where}: expected a list, got {value!r}")
    out = []
    for i, x in enumerate(value):
        if isinstance(x, bool) or not isinstance(x, Integral):
            raise SimidentError(f"{where}[{i}]: expected an integer {what} id, got {x!r}")
        if not 0 <= int(x) < upper:
            raise SimidentError(f"{where}[{i}] = {x}: {what} id out of range [0, {upper})")
        out.append(int(x))
    return out


def _pairs(entry, where, upper, what, exactly=None, at_least=1):
    if "pairs" not in entry:
        raise SimidentError(f"{where}: missing field 'pairs'")
    pairs = entry["pairs"]
    if not isinstance(pairs, list) or not all(isinstance(p, list) for p in pairs):
        raise SimidentError(f"{where}.pairs: expected a list of [x, y] pairs")
    if exactly is not None and len(pairs) != exactly:
        raise SimidentError(f"{where}.pairs: expected exactly {exactly} pairs, got {len(pairs)}")
    if len(pairs) < at_least:
        raise SimidentError(f"{where}.pairs: expected at least {at_least} pairs, got {len(pairs)}")
    return [_ids(p, f"{where}.pairs[{i}]", upper, what, "pair") for i, p in enumerate(pairs)]


def validate_properties(spec, n: int, V: int, d_a: int, source: str = "properties") -> list:
    """Check a `{"properties": [...]}` spec; return normalised entries or raise SimidentError."""
    if not isinstance(spec, dict) or not isinstance(spec.get("properties"), list):
        raise SimidentError(f'{source}: expected an object {{"properties": [...]}}')
    out = []
    for i, e in enumerate(spec["properties"]):
        where = f"{source}: properties[{i}]"
        if not isinstance(e, dict):
            raise SimidentError(f"{where}: expected an object, got {e!r}")
        kind = e.get("kind")
        if kind not in KINDS:
            raise SimidentError(f"{where}.kind = {kind!r}: must be one of {', '.join(KINDS)}")
        name = e.get("name")
        if not isinstance(name, str) or not name:
            raise SimidentError(f"{where}.name: expected a non-empty string")
        where = f"{source}: properties[{i}] ('{name}')"
        item = {"kind": kind, "name": name}
        if kind == "parallel_unembedding":
            item["pairs"] = _pairs(e, where, V, "token", exactly=2)
        elif kind == "parallel_embedding":
            item["pairs"] = _pairs(e, where, n, "context", exactly=2)
        elif kind == "relational":
            item["pairs"] = _pairs(e, where, n, "context", at_least=2)
        elif kind == "probe":
            for key in ("contexts", "values"):
                if key not in e:
                    raise SimidentError(f"{where}: missing field '{key}'")
            item["contexts"] = _ids(e["contexts"], f"{where}.contexts", n, "context")
            vals = e["values"]
            if not isinstance(vals, list) or not all(
                isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(v) for v in vals
            ):
                raise SimidentError(f"{where}.values: expected a list of finite numbers")
            if len(vals) != len(item["contexts"]):
                raise SimidentError(
                    f"{where}: {len(item['contexts'])} contexts but {len(vals)} values"
                )
            if len(vals) < 2:
                raise SimidentError(f"{where}: a probe needs at least 2 contexts")
            item["values"] = [float(v) for v in vals]
        else:  # steering
            if ("pairs" in e) == ("vector" in e):
                raise SimidentError(f"{where}: give exactly one of 'pairs' or 'vector'")
            if "pairs" in e:
                item["pairs"] = _pairs(e, where, n, "context")
            else:
                vec = e["vector"]
                if (
                    not isinstance(vec, list)
                    or len(vec) != d_a
                    or not all(isinstance(v, Real) and math.isfinite(v) for v in vec)
                ):
                    raise SimidentError(
                        f"{where}.vector: expected {d_a} finite numbers (model A's dimension)"
                    )
                item["vector"] = [float(v) for v in vec]
        out.append(item)
    return out


def evaluate_property(item: dict, va: P.View, vb: P.View, tol: float) -> dict:
    """One property entry → verdicts and scores (see simident.theory.properties)."""
    kind = item["kind"]
    if kind == "parallel_unembedding":
        r = P.parallel_unembedding(va, vb, item["pairs"], tol)
    elif kind == "parallel_embedding":
        r = P.parallel_embedding(va, vb, item["pairs"], tol)
    elif kind == "relational":
        r = P.relational(va, vb, item["pairs"], tol)
    elif kind == "probe":
        r = P.probe(va, vb, item["contexts"], item["values"], tol)
    else:
        r = P.steering(va, vb, tol, pairs=item.get("pairs"), vector=item.get("vector"))
    r["shared"] = bool(r["holds_a"] == r["holds_b"])
    head = {"kind": kind, "name": item["name"]}
    return {**head, **r, "tol": tol}


def run_compare(
    Fa,
    Ga,
    Fb,
    Gb,
    properties=None,
    tol: float | None = None,
    k: int | None = None,
    kl: bool = True,
) -> dict:
    """Compare two models (same n and V, any d) and evaluate `properties` (list of spec
    entries, validated here). Returns the `simident compare --json` object."""
    Fa, Ga, Fb, Gb = (np.asarray(x) for x in (Fa, Ga, Fb, Gb))
    if Fa.shape[0] != Fb.shape[0]:
        raise SimidentError(f"number of contexts differs: A has n={Fa.shape[0]}, B n={Fb.shape[0]}")
    if Ga.shape[0] != Gb.shape[0]:
        raise SimidentError(f"vocabulary size differs: A has V={Ga.shape[0]}, B V={Gb.shape[0]}")
    if tol is not None and not (0.0 < tol < 1.0):
        raise SimidentError(f"tol = {tol}: must lie in (0, 1)")
    if k is not None and not 0 <= k <= min(Fa.shape[1], Fb.shape[1]):
        raise SimidentError(
            f"k = {k}: must lie in [0, min(d_a, d_b)] = [0, {min(Fa.shape[1], Fb.shape[1])}]"
        )
    items = []
    if properties:
        spec = properties if isinstance(properties, dict) else {"properties": list(properties)}
        items = validate_properties(spec, Fa.shape[0], Ga.shape[0], Fa.shape[1])
    eq = compare_models(Fa, Ga, Fb, Gb, tol=tol, k=k, kl=kl)
    out = eq.to_dict()
    out["k_source"] = "given" if k is not None else "estimated"
    va = P.make_view(Fa, Ga, eq.a)
    vb = P.make_view(Fb, Gb, eq.b)
    out["properties"] = [evaluate_property(it, va, vb, eq.tol) for it in items]
    return out


def _fmt(x, spec=".3g") -> str:
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return format(x, spec) if math.isfinite(x) else str(x)
    return str(x)


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


_KEY_SCORE = {
    "parallel_unembedding": ("sin(δ1,δ2) a/b", "parallel_a", "parallel_b", "sin"),
    "parallel_embedding": ("sin(Δ1,Δ2) a/b", "parallel_a", "parallel_b", "sin"),
    "relational": ("RL residual a/b", "rl_residual_a", "rl_residual_b", None),
    "probe": ("probe residual a/b", "probe_residual_a", "probe_residual_b", None),
    "steering": ("transfer residual", "transfer_residual", None, None),
}


def _key_score(p: dict) -> str:
    _, ka, kb, sub = _KEY_SCORE[p["kind"]]
    get = lambda key: p["scores"][key][sub] if sub else p["scores"][key]  # noqa: E731
    return _fmt(get(ka)) if kb is None else f"{_fmt(get(ka))} / {_fmt(get(kb))}"


def format_report(r: dict, name_a: str = "A", name_b: str = "B") -> str:
    """Readable tables of a `run_compare` result."""
    kd = r["k_decision"]
    lines = [
        f"simident compare   A = {name_a}   B = {name_b}   tol = {r['tol']:.3g}",
        "",
        "Equivalence (same next-token distribution?)",
        _table(
            [
                ["quantity", "value", "meaning"],
                ["equivalent", _fmt(r["equivalent"]), f"logit residual ≤ tol ({r['tol']:.3g})"],
                ["logit residual", _fmt(r["logit_residual"]), "‖L_A − L_B‖/‖L‖, 0 = identical"],
                ["KL max", _fmt(r["kl_max"]), "max_s KL(p_A ‖ p_B), nats"],
                ["KL mean", _fmt(r["kl_mean"]), "mean_s KL(p_A ‖ p_B), nats"],
                [
                    "k",
                    str(r["k"]),
                    f"{r['k_source']}; σ_k/σ_1 = {_fmt(kd['last_kept'])}, "
                    f"σ_k+1/σ_1 = {_fmt(kd['first_dropped'])}, gap {_fmt(kd['gap'])}",
                ],
                [
                    "identified R²",
                    _fmt(r["identified_r2"], ".6f"),
                    f"T f_A = T~ f_B ({_fmt(r['identified_r2_f'], '.6f')}), "
                    f"R ḡ_A = R~ ḡ_B ({_fmt(r['identified_r2_g'], '.6f')}); 1 = identical",
                ],
                [
                    "full affine R²",
                    _fmt(r["full_r2"], ".6f"),
                    f"best affine map F_A → F_B (B → A: {_fmt(r['full_r2_ba'], '.6f')})",
                ],
                ["M residual", _fmt(r["m_residual"]), "‖P_U~ f_B − M f_A‖/‖P_U~ f_B‖"],
                ["N residual", _fmt(r["n_residual"]), "‖P_E~ ḡ_B − N ḡ_A‖/‖P_E~ ḡ_B‖"],
            ]
        ),
        "",
        "Models",
        _table(
            [["model", "d", "dim E", "dim U", "k", "diverse", "dim E∩U⊥", "dim U∩E⊥", "E gap"]]
            + [
                [
                    tag,
                    str(m["d"]),
                    str(m["dim_E"]),
                    str(m["dim_U"]),
                    str(m["k"]),
                    _fmt(m["diverse"]),
                    str(m["dim_E_cap_Uperp"]),
                    str(m["dim_U_cap_Eperp"]),
                    _fmt(m["rank_decisions"]["E"]["gap"]),
                ]
                for tag, m in (("A", r["a"]), ("B", r["b"]))
            ]
        ),
    ]
    if r["properties"]:
        lines += [
            "",
            "Properties (holds in A / B; distribution-level form; shared = same answer in both)",
            _table(
                [["kind", "name", "A", "B", "dist", "shared", "guaranteed", "score"]]
                + [
                    [
                        p["kind"],
                        p["name"],
                        _fmt(p["holds_a"]),
                        _fmt(p["holds_b"]),
                        _fmt(p["distribution_level"]),
                        _fmt(p["shared"]),
                        _fmt(p["guaranteed"]),
                        f"{_KEY_SCORE[p['kind']][0]}: {_key_score(p)}",
                    ]
                    for p in r["properties"]
                ]
            ),
            "",
        ]
        lines += [f"  {p['name']}: {p['reason']}" for p in r["properties"]]
    return "\n".join(lines)
