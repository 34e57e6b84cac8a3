"""`simident world SPEC --out DIR [--overwrite] [--json]`: generate a synthetic world.

SPEC is a TOML spec file or the name of a shipped example (`simident/data/worlds/`).
Writes DIR/truth.npz, DIR/properties.json, DIR/world.json (and DIR/data.npz when the spec
asks for sampled next tokens) and prints a short summary.
"""

from __future__ import annotations

import sys
from pathlib import Path


def configure(p) -> None:
    p.add_argument(
        "spec",
        metavar="SPEC",
        help="a world spec (.toml file) or the name of an example world "
        "(tiny, diverse, low_context, low_token, both_low, random_tiny, language_visible, "
        "language_hidden, language_confounded, hmm_small)",
    )
    p.add_argument("--out", metavar="DIR", default=None, help="folder to write the world into")
    p.add_argument(
        "--overwrite", action="store_true", help="write into DIR even if it is not empty"
    )
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print the estimated memory of generating the world and stop",
    )


def summary(world, out: Path, seconds: float) -> dict:
    """What `simident world` prints: measured spans, planted property counts, sizes."""
    spec, m = world.spec, world.measured
    kinds = [p["kind"] for p in world.properties]
    queries = world.queries
    probes = [p for p in world.properties if p["kind"] == "probe"]
    return {
        "world_id": world.world_id,
        "out": str(out),
        "vocab_size": world.V,
        "d": world.d,
        "n_base": spec["n_contexts"],
        "n_contexts_total": world.n,
        "n_train": int(len(world.train_ids)),
        "n_heldout": int(len(world.heldout_ids)),
        "context_kind": spec["context_kind"],
        "measured": {"dim_E": m["dim_E"], "dim_U": m["dim_U"], "k": m["k"]},
        "spec": {"rank_E": spec["rank_E"], "rank_U": spec["rank_U"], "k": spec["k"]},
        "diverse": m["diverse"],
        "sigma_ratios": {
            "F": m["sigma_ratio_F"],
            "G": m["sigma_ratio_G"],
            "L": m["sigma_ratio_L"],
        },
        "logit_std": m["logit_std"],
        "planted": {
            "relational": kinds.count("relational"),
            "relational_inclusion": sum(bool(q["inclusion"]) for q in queries),
            "parallel_unembedding": kinds.count("parallel_unembedding"),
            "probe": len(probes),
            "probe_visible": sum(bool(p["visible"]) for p in probes),
        },
        "n_samples": 0 if world.samples is None else int(world.samples.shape[1]),
        "seconds": seconds,
    }


def process_summary(world, out: Path, seconds: float) -> dict:
    """What `simident world` prints for a process world (language, hmm)."""
    m = world.measured
    pred = m.get("predictions", {})
    return {
        "world_id": world.world_id,
        "out": str(out),
        "kind": world.spec["kind"],
        "vocab_size": world.V,
        "n_contexts_total": world.n,
        "n_train": int(len(world.train_ids)),
        "n_heldout": int(len(world.heldout_ids)),
        "measured": {"k": m["k"], "gap": m["rank_decision"]["gap"]},
        "discarded_tail": m["discarded_tail"],
        "distinct_rows": m["distinct_rows"],
        "properties": [
            {k: p[k] for k in ("name", "kind", "holds", "predicted") if k in p}
            for p in m["properties"]
        ],
        "predictions": pred,
        "n_sequences": {k: int(v.shape[0]) for k, v in world.sequences.items()},
        "seconds": seconds,
    }


def format_process_summary(s: dict) -> str:
    pred = s["predictions"]
    lines = [
        f"simident world {s['world_id']} -> {s['out']}",
        f"  {s['kind']} world: V = {s['vocab_size']}, contexts = {s['n_contexts_total']} "
        f"(train {s['n_train']}, held out {s['n_heldout']}), {s['distinct_rows']} distinct rows",
    ]
    k = pred.get("k")
    if k:
        lines.append(
            f"  k: predicted (W1) {k['predicted']}, measured {k['measured']} "
            f"(gap {k['gap']:.3g}); rank(M) = {pred['rank_M']} of D = {pred['D']}"
        )
    else:
        lines.append(
            f"  k (numerical rank of L*) = {s['measured']['k']}, discarded tail "
            f"{s['discarded_tail']:.2e}"
        )
    for q in pred.get("queries", []):
        lines.append(
            f"  {q['name']}: D3 predicted {'holds' if q['predicted_d3'] else 'fails'}, "
            f"residual {q['d3_residual']:.2e}"
        )
    for p in pred.get("probes", []):
        lines.append(
            f"  {p['name']}: probe predicted {'yes' if p['predicted'] else 'no'}, R² {p['r2']:.4f}"
        )
    for p in pred.get("parallel", []):
        lines.append(
            f"  {p['name']}: parallel predicted {'yes' if p['predicted'] else 'no'}, "
            f"λ {p['lambda']:.4f}, residual {p['residual']:.2e}"
        )
    if "w6" in pred:
        w = pred["w6"]
        lines.append(
            f"  W6 (noise {w['noise']}): tail σ_(k+1)/σ_1 = {w['tail']:.2e}, numerical rank "
            f"{w['numerical_rank']} (bound {w['rank_bound']})"
        )
    if "prob_rank" in pred:
        pr = pred["prob_rank"]
        lines.append(
            f"  rank of P: {pr['measured']} (predicted <= {pr['predicted_at_most']} states)"
        )
    seqs = ", ".join(f"{v} {k}" for k, v in s["n_sequences"].items())
    lines.append(f"  data: {seqs or 'none'}; {s['seconds']:.2f} s")
    return "\n".join(lines)


def format_summary(s: dict) -> str:
    m, p = s["measured"], s["planted"]
    n_s = s["n_samples"]
    data = f"{n_s} sampled next tokens per context" if n_s else "exact targets (population)"
    return "\n".join(
        [
            f"simident world {s['world_id']} -> {s['out']}",
            f"  V = {s['vocab_size']}, d = {s['d']}, contexts = {s['n_base']} base + "
            f"{s['n_contexts_total'] - s['n_base']} extended ({s['context_kind']}); "
            f"train {s['n_train']}, held out {s['n_heldout']}",
            f"  measured dim E = {m['dim_E']}, dim U = {m['dim_U']}, k = {m['k']} "
            f"({'diverse' if s['diverse'] else 'not diverse'}); "
            f"σ_min/σ_max of F, Ḡ, L = {s['sigma_ratios']['F']:.2f}, "
            f"{s['sigma_ratios']['G']:.2f}, {s['sigma_ratios']['L']:.2f}",
            f"  planted: {p['relational']} relations ({p['relational_inclusion']} with "
            f"inclusion), {p['parallel_unembedding']} parallel quadruples, {p['probe']} probes "
            f"({p['probe_visible']} visible)",
            f"  data: {data}; "
            f"centered-logit std per context: rms {s['logit_std']['rms']:.2f}, "
            f"range [{s['logit_std']['min']:.2f}, {s['logit_std']['max']:.2f}]; "
            f"{s['seconds']:.2f} s",
        ]
    )


def run(args) -> int:
    import time

    from simident.util.env import enable_x64
    from simident.util.io import check_out_dir, to_json
    from simident.util.memory import check_fits, gib, total_memory_bytes
    from simident.worlds import generate_world, resolve_spec
    from simident.worlds.cost import WORLD_KNOBS, world_memory_bytes

    spec = resolve_spec(args.spec)  # all validation happens here, before any work
    kind = getattr(spec, "kind", "planted")
    need = world_memory_bytes(spec) if kind == "planted" else spec.memory_bytes()
    if args.dry_run and kind != "planted":
        print(
            f"world {spec.name} ({kind}): memory ≈ {gib(need)} of {gib(total_memory_bytes())} "
            f"(at most {spec.max_contexts()} contexts, V = {spec.vocab_size})"
        )
        return 0
    if args.dry_run:
        print(
            f"world {spec.name}: memory ≈ {gib(need)} of {gib(total_memory_bytes())} "
            f"({spec.n_contexts * (1 + len(spec.queries))} contexts, V = {spec.vocab_size}, "
            f"d = {spec.d}, {spec.n_samples} samples per context)"
        )
        return 0
    knobs = {
        "planted": WORLD_KNOBS,
        "language": "subjects, sequences_per_subject, length or words",
        "hmm": "n_sequences, length or vocab_size",
    }[kind]
    check_fits(need, f"generating world '{spec.name}'", knobs)
    if args.out is None:
        from simident.util.errors import SimidentError

        raise SimidentError("--out DIR is required (or pass --dry-run)")
    out = Path(args.out)
    check_out_dir(out, args.overwrite)
    enable_x64()
    t0 = time.perf_counter()
    world = generate_world(spec)
    world.save(out)
    seconds = time.perf_counter() - t0
    if kind == "planted":
        s, fmt = summary(world, out, seconds), format_summary
    else:
        s, fmt = process_summary(world, out, seconds), format_process_summary
    if args.json:
        sys.stdout.write(to_json(s) + "\n")
    else:
        print(fmt(s))
    return 0
