"""The main job: run every claim end to end and write the report (`simident reproduce`).

1. check the output folder (never overwrite someone's results without --overwrite),
2. collect every claim's training requests and train them (once, grouped into vmapped
   programs), 3. run the claims in order (each `run(ctx)` is pure given the cache),
4. save the worlds and trained models, write report.md and results.json.
"""

from __future__ import annotations

import importlib
import shutil
import time
from pathlib import Path

import numpy as np

from simident.claims.config import Mode
from simident.claims.context import Context
from simident.claims.verdicts import Thresholds
from simident.errors import SimidentError

CLAIM_MODULES = (
    "simident.claims.claim1_equivalence",
    "simident.claims.claim2_free_parts",
    "simident.claims.claim3_parallel",
    "simident.claims.claim4_relations",
    "simident.claims.claim5_probes_steering",
    "simident.claims.claim6_kl_vs_structure",
)
OUTPUTS = ("report.md", "results.json", "figures", "runs", "worlds", "claims")


def prepare_out(out, overwrite: bool) -> Path:
    """Create `out`; refuse a non-empty folder unless overwrite (then remove only the
    outputs of an earlier reproduction, never other files)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SimidentError(f"{out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise SimidentError(
                f"{out}: folder is not empty; pass --overwrite to replace an earlier "
                "reproduction's outputs, or choose another --out"
            )
        for name in OUTPUTS:
            p = out / name
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
    out.mkdir(parents=True, exist_ok=True)
    return out


def load_claims():
    return [importlib.import_module(m) for m in CLAIM_MODULES]


def run_all(
    mode: Mode,
    out,
    *,
    overwrite: bool = False,
    verbose: bool = True,
    thresholds: Thresholds | None = None,
    only=None,
) -> dict:
    """Run the claims of `mode` (all six, or the ids in `only`); returns a summary with
    the report path and verdicts."""
    from simident.env import versions

    modules = load_claims()
    if only:
        unknown = sorted(set(only) - {m.ID for m in modules})
        if unknown:
            raise SimidentError(f"no claim(s) {unknown}; claims are 1..{len(modules)}")
        modules = [m for m in modules if m.ID in set(only)]
    out = prepare_out(out, overwrite)
    ctx = Context(mode=mode, out=out.resolve(), th=thresholds or Thresholds(), verbose=verbose)
    ctx.log(f"reproduce ({mode.name}): planning training")
    keys = [k for m in modules for k in m.requests(ctx)]
    ctx.prefetch(keys)
    results = []
    for m in modules:
        t = time.perf_counter()
        r = m.run(ctx)
        r.seconds = time.perf_counter() - t
        ctx.timings.append({"stage": f"claim {m.ID}", "seconds": r.seconds})
        ctx.log(f"claim {m.ID} ({m.TITLE}): {r.verdict.verdict} ({r.seconds:.1f}s)")
        results.append(r)
    t = time.perf_counter()
    _save_models(ctx)
    ctx.timings.append({"stage": "save models", "seconds": time.perf_counter() - t})
    meta = _meta(ctx, versions())
    from simident.claims import report

    report_path, json_path = report.write(out, results, meta)
    ctx.log(f"wrote {report_path} and {json_path}")
    return {
        "report": str(report_path),
        "results": str(json_path),
        "claims": [{"id": r.id, "title": r.title, "verdict": r.verdict.verdict} for r in results],
        "seconds": ctx.elapsed(),
    }


def _save_models(ctx: Context) -> None:
    for role, w in ctx.worlds.items():
        w.save(Path(ctx.out) / "worlds" / role)
    for key, r in ctx.runs.items():
        r.save(
            Path(ctx.out) / "runs" / key.world / key.folder, ctx.worlds[key.world], overwrite=True
        )


def _meta(ctx: Context, versions: dict) -> dict:
    worlds = []
    for role, w in ctx.worlds.items():
        worlds.append(
            {
                "role": role,
                "world_id": w.world_id,
                "n": w.n,
                "V": w.V,
                "d": w.d,
                "dim_E": w.measured.get("dim_E"),
                "dim_U": w.measured.get("dim_U"),
                "k": w.measured.get("k"),
                "spec": w.spec,
            }
        )
    runs = []
    for key, r in sorted(ctx.runs.items()):
        runs.append(
            {
                "world": key.world,
                "label": key.label,
                "model": key.model,
                "d": key.d,
                "weight_decay": key.weight_decay,
                "init_scale": key.init_scale,
                "seeds": [int(s) for s in r.seeds],
                "kl_mean": np.asarray(r.kl_mean).tolist(),
                "kl_mean_max": float(np.nanmax(r.kl_mean)),
                "steps": r.config.steps,
                "seconds": round(float(r.seconds), 2),
                "config": r.config.to_dict(),
                "folder": f"runs/{key.world}/{key.folder}",
            }
        )
    return {
        "mode": ctx.mode.to_dict(),
        "thresholds": ctx.th.to_dict(),
        "worlds": worlds,
        "runs": runs,
        "versions": versions,
        "timings": ctx.timings,
        "seconds": ctx.elapsed(),
    }
