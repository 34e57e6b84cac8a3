"""`simident embed SOURCE --world WORLD_DIR --out DIR [--layer L]`: recompute seed files.

SOURCE is a `simident train` folder (RUN_DIR) or a trained cell of the store that
`simident reproduce` and `simident sweep` keep (OUT/cache/<key>.json, `--point I` picks
its grid point; without `--world` its world is generated again from the spec it
records). Rebuilds every seed's model from the saved weights and writes DIR/seed_<s>.npz
(F over every context of WORLD_DIR in world order, G over the vocabulary: the `compare`
format) and DIR/embed.json. On the run's own world this reproduces the run's seed files;
a transformer embeds any world with the same vocabulary. `--layer L` writes, as F, the
last position's representation after block L (L = depth: f itself; below: the raw
residual stream, width columns, which `compare` refuses since G has d columns).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def configure(p) -> None:
    p.add_argument(
        "run_dir",
        metavar="SOURCE",
        help="a `simident train` output folder, or a cache entry OUT/cache/<key>.json of "
        "`simident reproduce` / `simident sweep`",
    )
    p.add_argument(
        "--point",
        type=int,
        default=None,
        metavar="I",
        help="cache entry only: which grid point (weight decay × init scale) to embed (default 0)",
    )
    p.add_argument(
        "--world",
        metavar="WORLD_DIR",
        default=None,
        help="world whose contexts to embed (default: the run's own world_dir)",
    )
    p.add_argument("--out", metavar="DIR", required=True, help="folder for seed_<s>.npz")
    p.add_argument(
        "--layer",
        type=int,
        default=None,
        metavar="L",
        help="transformer only: representation after block L (0 = embeddings, "
        "depth = f itself, the default)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace files in a non-empty DIR")
    p.add_argument("--quiet", action="store_true", help="no summary")


def run(args) -> int:
    from simident.training.saved import check_layer, embed, load_run
    from simident.util.errors import SimidentError
    from simident.util.io import check_out_dir, json_writer, model_arrays, npz_writer, replace_files
    from simident.worlds.world import load_world

    source = Path(args.run_dir)
    if source.is_file():
        from simident.study import entry_world, load_entry

        saved = load_entry(source, 0 if args.point is None else args.point)
        check_layer(saved, args.layer)
        world_dir = args.world
        world = load_world(world_dir) if world_dir else entry_world(saved)
    else:
        if args.point is not None:
            raise SimidentError(f"--point: {source} is a run folder (it has no grid points)")
        saved = load_run(source)
        check_layer(saved, args.layer)
        world_dir = args.world or saved.record.get("world_dir")
        if not world_dir:
            raise SimidentError(f"{args.run_dir}/run.json names no world_dir; pass --world")
        world = load_world(world_dir)
    out = Path(args.out)
    check_out_dir(out, args.overwrite)
    F, G = embed(saved, world, args.layer)
    for i, s in enumerate(saved.seeds):
        if not (np.isfinite(F[i]).all() and np.isfinite(G[i]).all()):
            raise SimidentError(
                f"seed {s} of {args.run_dir}: the embedding is not finite (nothing written)"
            )
    from simident.util.env import versions
    from simident.util.integrity import seal

    files = {f"seed_{s}.npz": model_arrays(F[i], G[i]) for i, s in enumerate(saved.seeds)}
    writers = {name: npz_writer(arrays) for name, arrays in files.items()}
    writers["embed.json"] = json_writer(
        {
            "run_dir": str(args.run_dir),
            "run_world_id": saved.world_id,
            "world_dir": None if world_dir is None else str(world_dir),
            "cell": saved.record.get("cell"),
            "point": saved.record.get("point"),
            "world_id": world.world_id,
            "layer": args.layer,
            "F_columns": int(F.shape[2]),
            "seeds": saved.seeds,
            "versions": versions(),
            "integrity": seal(files),
        }
    )
    stale = [p.name for p in out.glob("seed_*.npz")] if out.is_dir() else []
    replace_files(out, writers, stale=stale)  # earlier files go only once all are written
    if not args.quiet:
        what = "f" if args.layer is None else f"layer {args.layer}"
        print(
            f"embedded {world.n} contexts of world {world.world_id} with {len(saved.seeds)} "
            f"seed(s) of {args.run_dir} ({what}, {F.shape[2]} columns) -> {out}"
        )
    return 0
