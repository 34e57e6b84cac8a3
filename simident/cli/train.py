"""`simident train WORLD_DIR --model M --d D --seeds N --out RUN_DIR`: train seeds from scratch.

Writes RUN_DIR/seed_<s>.npz (F over all contexts of the world, G over the vocabulary:
the `compare` format) and RUN_DIR/run.json (resolved config, world id, timing,
versions, each seed's final mean and max KL(p* ‖ p_model) in nats).
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from simident.training.config import MODEL_DEFAULTS, TrainConfig
from simident.util.errors import SimidentError


def _options():
    """The TrainConfig fields that are `simident train` options (metadata cli=True)."""
    return [f for f in fields(TrainConfig) if f.metadata.get("cli")]


def _add_field_option(parser, f, defaults: TrainConfig, per_model: str) -> None:
    """`--name` for TrainConfig field f, typed from its annotation, documented by its
    metadata; its default is "not given" (None), so --config values survive."""
    meta = f.metadata
    kind = str(f.type)
    kw: dict = {
        "default": None,
        "help": meta["doc"].format(default=getattr(defaults, f.name), per_model=per_model),
    }
    if kind.startswith("bool"):
        kw.update(action="store_const", const=True)
    else:
        kw["type"] = int if kind.startswith("int") else float if kind.startswith("float") else str
        if meta.get("choices"):
            kw["choices"] = meta["choices"]
        if meta.get("metavar"):
            kw["metavar"] = meta["metavar"]
    parser.add_argument("--" + f.name.replace("_", "-"), **kw)


def configure(parser) -> None:
    per_model = ", ".join(
        f"{m}: {v['steps']} steps, lr {v['lr']:g}" for m, v in MODEL_DEFAULTS.items()
    )
    parser.add_argument(
        "world_dir",
        metavar="WORLD_DIR",
        nargs="?",
        default=None,
        help="a `simident world` output folder (default: the world_dir of --config run.json)",
    )
    defaults = TrainConfig()
    for f in _options():
        _add_field_option(parser, f, defaults, per_model)
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the estimated memory and FLOPs and stop before any training",
    )
    parser.add_argument(
        "--config",
        metavar="JSON",
        default=None,
        help="start from this TrainConfig JSON (or a run.json); "
        "options given on the command line override it",
    )
    parser.add_argument("--out", metavar="RUN_DIR", default=None, help="output folder (required)")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace run.json and seed_*.npz of an existing RUN_DIR",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar, no summary")


def _read_config(path) -> tuple[dict, dict]:
    """(config dict, whole record) of a TrainConfig JSON or a run.json."""
    from simident.util.io import read_json

    record = read_json(Path(path), "train config")
    if not isinstance(record, dict):
        raise SimidentError(f"train config {path}: expected a JSON object")
    base = record.get("config", record)
    if not isinstance(base, dict):
        raise SimidentError(f"train config {path}: field 'config' must be a JSON object")
    return dict(base), record


def config_from_args(args) -> TrainConfig:
    """TrainConfig from --config (if any) overridden by the options given."""
    base = {}
    if args.config is not None:
        base, _ = _read_config(args.config)
    for f in _options():
        value = getattr(args, f.name)
        if value is not None:
            base[f.name] = value
    for opt in ("model", "d"):
        if base.get(opt) is None:
            raise SimidentError(f"--{opt} is required (or give --config with a {opt})")
    return TrainConfig.from_dict(base)


def world_dir_of(args) -> str:
    """WORLD_DIR from the command line, else the world_dir recorded in --config run.json."""
    if args.world_dir is not None:
        return args.world_dir
    if args.config is not None:
        _, record = _read_config(args.config)
        if isinstance(record.get("world_dir"), str):
            return record["world_dir"]
    raise SimidentError("WORLD_DIR is required (or give --config with a run.json naming one)")


def run(args) -> int:
    from simident.training.outputs import check_run_dir
    from simident.worlds.world import load_world

    config = config_from_args(args)
    world_dir = world_dir_of(args)
    world = load_world(world_dir)

    from simident.training.loop import plan, train_world

    if args.dry_run:
        resolved, cost = plan(world, config)
        from simident.util.memory import gib, total_memory_bytes

        print(
            f"train {resolved.model} d={resolved.d} on world {world.world_id}: {cost.line()}; "
            f"machine memory {gib(total_memory_bytes())}"
        )
        return 0
    if args.out is None:
        raise SimidentError("--out RUN_DIR is required (or pass --dry-run)")
    check_run_dir(args.out, args.overwrite)
    result = train_world(world, config, progress=not args.quiet)
    out = result.save(
        args.out, world, overwrite=args.overwrite, extra={"world_dir": str(Path(world_dir))}
    )
    if not args.quiet:
        c = result.config
        print(
            f"trained {len(result.seeds)} {c.model} seed(s), d={c.d}, {c.steps} steps, "
            f"on world {result.world_id} in {result.seconds:.1f} s"
        )
        for s in result.seed_summary():
            print(f"  seed {s['seed']}: KL mean {s['kl_mean']:.3e}  max {s['kl_max']:.3e} nats")
        print(f"wrote {out}/run.json and {len(result.seeds)} seed_*.npz")
    return 0
