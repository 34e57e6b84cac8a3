"""The main job: run every claim end to end and write the report (`simident reproduce`).

1. choose where to write (`outdir.prepare`: DIR itself, resumed when it holds a
   reproduction, or a staging folder that replaces DIR at the end with --overwrite),
2. plan the cells the claims declare (`requests`, grouped into engine cells by
   `Context.plan`) and give every claim its content key (a hash of the claim id, the
   mode, thresholds, versions and its cells' keys),
3. reuse the claim results whose key matches; obtain the cells the other claims need
   through the engine (`simident.study`: from DIR/cache/ or trained and stored at once)
   and run those claims, writing each claim's record as soon as it is done,
4. rebuild report.md and results.json from every claim record in the folder, and swap
   the staging folder in place.

A run killed at any point and started again with the same arguments resumes: finished
cells and claims are reused, and results.json says which (`resume`).
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path

import numpy as np

from simident.claims import outdir, report
from simident.claims.config import Mode
from simident.claims.context import Context
from simident.claims.verdicts import Thresholds
from simident.study import CellStore, digest, numeric_versions
from simident.util.errors import SimidentError

CLAIM_MODULES = (
    "simident.claims.claim1_equivalence",
    "simident.claims.claim2_free_parts",
    "simident.claims.claim3_parallel",
    "simident.claims.claim4_relations",
    "simident.claims.claim5_probes_steering",
    "simident.claims.claim6_kl_vs_structure",
    "simident.claims.claim7_language",
)


def _meta(mode: Mode, th: Thresholds) -> dict:
    """The mode and thresholds in their file form (results.json, the claims' keys)."""
    return {"thresholds": th.to_dict(), "mode": mode.to_dict()}


def verdict_for(claim_id: int, evidence, th: Thresholds):
    """The verdict of claim `claim_id` from its evidence, through the claim module's own
    `checks`. `evidence` is the module's `Evidence`, or a mapping turned into one by the
    strict `Evidence.from_dict` (an unknown or missing key raises ValueError)."""
    from collections.abc import Mapping

    from simident.claims.verdicts import decide

    module = {m.ID: m for m in load_claims()}.get(claim_id)
    if module is None:
        raise KeyError(f"no claim {claim_id}")
    if isinstance(evidence, Mapping):
        evidence = module.Evidence.from_dict(evidence)
    return decide(module.checks(evidence, th))


def run_claim(module, ctx: Context):
    """One claim, through its module's interface: `evidence(ctx)` measures, `checks(ev,
    th)` decide the verdict, `figures(ev, folder, th)` draw, `present(ev, ctx)` give the
    report's numbers, tables and notes. Returns its ClaimResult."""
    from simident.claims.result import ClaimResult
    from simident.claims.verdicts import decide

    ev = module.evidence(ctx)
    verdict = decide(module.checks(ev, ctx.th))
    figs = module.figures(ev, ctx.figures, ctx.th)
    shown = module.present(ev, ctx)
    return ClaimResult(
        id=module.ID,
        title=module.TITLE,
        statement=module.STATEMENT,
        verdict=verdict,
        evidence=ev if shown.evidence is None else shown.evidence,
        key_numbers=shown.key_numbers,
        tables=shown.tables,
        per_model=shown.per_model,
        figures=[ctx.rel(f) for f in figs],
        notes=shown.notes,
        config=shown.config,
    )


def load_claims():
    return [importlib.import_module(m) for m in CLAIM_MODULES]


def claim_key(claim_id: int, mode: Mode, th: Thresholds, cells) -> str:
    """The content key of one claim's result: equal keys, equal numbers."""
    return digest(
        {
            "claim": claim_id,
            "mode": mode.to_dict(),
            "thresholds": th.to_dict(),
            "cells": sorted(set(cells)),
            "versions": numeric_versions(),
        }
    )


def reusable(record: dict | None, key: str, work: Path) -> bool:
    """A stored claim record can stand for this run's: same key, figures present."""
    return (
        record is not None
        and record.get("key") == key
        and all((work / f).is_file() for f in record.get("figures", []))
    )


def run_all(
    mode: Mode,
    out,
    *,
    overwrite: bool = False,
    verbose: bool = True,
    thresholds: Thresholds | None = None,
    only=None,
    jobs: int | None = None,
) -> dict:
    """Run the claims of `mode` (all of them, or the ids in `only`) into folder `out`,
    resuming earlier work there, training `jobs` cells at a time (None: 2 in one process
    on ≥ 2 cores, else 1; `simident.study.jobs`); returns a summary with the report path
    and verdicts."""
    from simident.study.jobs import check_jobs
    from simident.util.env import versions

    jobs = check_jobs(jobs)

    modules = load_claims()
    if only:
        unknown = sorted(set(only) - {m.ID for m in modules})
        if unknown:
            raise SimidentError(f"no claim(s) {unknown}; claims are 1..{len(modules)}")
        modules = [m for m in modules if m.ID in set(only)]
    th = thresholds or Thresholds()
    ids = [m.ID for m in modules]
    args_key = digest({**_meta(mode, th), "claims": ids, **numeric_versions()})
    ws = outdir.prepare(out, overwrite, ids, args_key)
    work = ws.work.resolve()
    ctx = Context(
        mode=mode, out=work, th=th, verbose=verbose, store=CellStore(work / "cache"), jobs=jobs
    )
    ctx.log(f"reproduce ({mode.name}): planning training" + (" (resuming)" if ws.resumed else ""))

    requests = {m.ID: m.requests(ctx) for m in modules}
    all_keys = [k for ks in requests.values() for k in ks]
    planned = ctx.plan(all_keys)
    keys = {i: claim_key(i, mode, th, [ctx.cell_of[k] for k in requests[i]]) for i in ids}
    stored = {r["id"]: r for r in report.read_claims(work)}
    for i in ids:
        if i in stored and stored[i].get("key") != keys[i] and not overwrite:
            raise SimidentError(
                f"{ws.final}: claim {i}'s results there come from other settings (mode "
                f"{stored[i].get('mode', {}).get('name', '?')}); pass --overwrite to replace "
                "them, or choose another --out"
            )
    todo = [m for m in modules if not reusable(stored.get(m.ID), keys[m.ID], work)]
    reused = [i for i in ids if i not in {m.ID for m in todo}]
    if reused:
        ctx.log(f"reusing the finished result(s) of claim(s) {reused}")
    ctx.prefetch(all_keys, need=[k for m in todo for k in requests[m.ID]], planned=planned)

    meta = {**_meta(mode, th), "versions": versions()}
    for m in todo:
        t = time.perf_counter()
        r = run_claim(m, ctx)
        r.seconds = time.perf_counter() - t
        ctx.timings.append({"stage": f"claim {m.ID}", "seconds": r.seconds})
        ctx.log(f"claim {m.ID} ({m.TITLE}): {r.verdict.verdict} ({r.seconds:.1f}s)")
        record = report.claim_record(
            r,
            {
                **meta,
                "key": keys[m.ID],
                "worlds": _worlds(ctx),
                "runs": _runs(ctx, requests[m.ID]),
            },
        )
        report.write_claim(work, record)
    resume = {
        "reused_claims": reused,
        "computed_claims": [m.ID for m in todo],
        "reused_cells": ctx.reused_cells,
        "trained_cells": ctx.trained_cells,
    }
    report_path, json_path = report.write(
        work,
        {**meta, "timings": ctx.timings, "seconds": ctx.elapsed(), "resume": resume},
    )
    outdir.swap(ws)
    final = Path(ws.final)
    ctx.log(f"wrote {final / report_path.name} and {final / json_path.name}")
    records = report.read_claims(final)
    return {
        "report": str(final / report_path.name),
        "results": str(final / json_path.name),
        "claims": [{"id": c["id"], "title": c["title"], "verdict": c["verdict"]} for c in records],
        "resume": resume,
        "seconds": ctx.elapsed(),
    }


def _worlds(ctx: Context) -> list:
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
    return worlds


def _runs(ctx: Context, keys) -> list:
    """What each cell of a claim trained: world, model, seeds, KL, config, cell key, and
    the cache entry and grid point that hold its models (`simident embed` reads them)."""
    from simident.study import Cell

    runs = []
    for key in sorted({k for k in keys if not isinstance(k, Cell)}):
        r = ctx.run(key)
        runs.append(
            {
                "world": key.world,
                "label": key.label,
                **_run_numbers(r),
                "weight_decay": key.weight_decay,
                "init_scale": key.init_scale,
                "cell": ctx.cell_of.get(key),
                **_entry(ctx, key),
            }
        )
    for cell in (k for k in keys if isinstance(k, Cell)):
        world = ctx.world_of(cell.world)
        ckey = ctx.cell_of[cell]
        r = ctx.results(cell)[0]
        runs.append(
            {
                "world": world.spec.get("name"),
                "label": f"{r.config.model} d={r.config.d}",
                **_run_numbers(r),
                "weight_decay": r.config.weight_decay,
                "init_scale": r.config.init_scale,
                "cell": ckey,
                **_entry(ctx, cell),
            }
        )
    return runs


def _entry(ctx: Context, key) -> dict:
    entry, point = ctx.entry(key)
    return {"entry": entry, "point": point}


def _run_numbers(r) -> dict:
    return {
        "model": r.config.model,
        "d": r.config.d,
        "seeds": [int(s) for s in r.seeds],
        "kl_mean": np.asarray(r.kl_mean).tolist(),
        "kl_mean_max": float(np.nanmax(r.kl_mean)),
        "steps": r.config.steps,
        "seconds": round(float(r.seconds), 2),
        "config": r.config.to_dict(),
    }
