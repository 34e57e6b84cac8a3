"""`simident train WORLD_DIR --model M --d D --seeds N --out RUN_DIR`: train seeds from scratch.

Writes RUN_DIR/seed_<s>.npz (F over all contexts of the world, G over the vocabulary:
the `compare` format) and RUN_DIR/run.json (resolved config, world id, timing,
versions, each seed's final mean and max KL(p* ‖ p_model) in nats).
"""

from __future__ import annotations

from pathlib import Path

from simident.models import MODELS
from simident.training.config import (
    BOOTSTRAP_STARTS,
    DATA_MODES,
    LOSSES,
    MODEL_DEFAULTS,
    OPTIMIZERS,
    SCHEDULES,
    TrainConfig,
)
from simident.util.errors import SimidentError

# CLI option -> TrainConfig field, for options that default to "not given"
_FIELDS = {
    "model": "model",
    "d": "d",
    "seeds": "seeds",
    "seed_offset": "seed_offset",
    "steps": "steps",
    "lr": "lr",
    "weight_decay": "weight_decay",
    "init_scale": "init_scale",
    "batch_size": "batch_size",
    "optimizer": "optimizer",
    "schedule": "schedule",
    "loss": "loss",
    "data": "data",
    "bootstrap": "bootstrap",
    "bootstrap_steps": "bootstrap_steps",
    "bootstrap_start": "bootstrap_start",
    "depth": "depth",
    "width": "width",
    "heads": "heads",
    "val_fraction": "val_fraction",
    "early_stop": "early_stop",
    "chunk_steps": "chunk_steps",
}


def configure(parser) -> None:
    D = TrainConfig()
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
    parser.add_argument(
        "--model",
        choices=MODELS,
        default=None,
        help="table: one free embedding per context; transformer: causal "
        "transformer over the context's tokens",
    )
    parser.add_argument(
        "--d",
        type=int,
        default=None,
        help="representation dimension (≥ 1; required without --config)",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=None,
        help=f"independent initialisations, one program (default {D.seeds})",
    )
    parser.add_argument(
        "--seed-offset",
        type=int,
        default=None,
        help="first seed; seeds are OFFSET..OFFSET+N-1 (default 0)",
    )
    parser.add_argument("--steps", type=int, default=None, help=f"optimiser steps ({per_model})")
    parser.add_argument("--lr", type=float, default=None, help="peak learning rate (see --steps)")
    parser.add_argument(
        "--weight-decay",
        type=float,
        default=None,
        help=f"decoupled weight decay on weight matrices (default {D.weight_decay:g})",
    )
    parser.add_argument(
        "--init-scale",
        type=float,
        default=None,
        help=f"multiplier of the standard initialisation (default {D.init_scale:g})",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="training contexts per step, 0 = all (default: full batch unless one step "
        "would not fit in cache/memory, then a minibatch; see --dry-run)",
    )
    parser.add_argument(
        "--optimizer", choices=OPTIMIZERS, default=None, help=f"default {D.optimizer}"
    )
    parser.add_argument(
        "--schedule",
        choices=SCHEDULES,
        default=None,
        help=f"learning-rate schedule after warm-up (default {D.schedule})",
    )
    parser.add_argument(
        "--loss",
        choices=LOSSES,
        default=None,
        help="population: cross-entropy to the exact p*; samples: to the "
        "world's sampled next tokens; process worlds: sequences = next-token NLL at every "
        "position of the sampled sequences, exact = KL to p* at every position "
        f"(default {D.loss})",
    )
    parser.add_argument(
        "--data",
        choices=DATA_MODES,
        default=None,
        help="--loss samples: independent = each seed draws its own samples from p* (as "
        "many per context as the world's data.npz holds), shared = every seed fits the "
        f"world's one sample set (default {D.data}; see docs/train.md)",
    )
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=None,
        metavar="B",
        help="--loss samples: refits of the parametric bootstrap of each seed's noise level "
        f"ν̂, stored in its seed file for compare (default {D.bootstrap}; 0: none)",
    )
    parser.add_argument(
        "--bootstrap-start",
        choices=BOOTSTRAP_STARTS,
        default=None,
        help="cold: each refit repeats the training recipe from a fresh initialisation; "
        f"warm: it starts from the trained model (cheaper; default {D.bootstrap_start})",
    )
    parser.add_argument(
        "--bootstrap-steps",
        type=int,
        default=None,
        help="optimiser steps of each bootstrap refit (default: --steps, or steps // 4 "
        "with --bootstrap-start warm)",
    )
    parser.add_argument("--depth", type=int, default=None, help=f"transformer blocks ({D.depth})")
    parser.add_argument("--width", type=int, default=None, help=f"transformer width ({D.width})")
    parser.add_argument("--heads", type=int, default=None, help=f"attention heads ({D.heads})")
    parser.add_argument(
        "--val-fraction",
        type=float,
        default=None,
        help="share of each context's sampled tokens (--loss samples) or of the "
        "sequences (--loss sequences) held out for a validation NLL (default 0)",
    )
    parser.add_argument(
        "--early-stop",
        action="store_const",
        const=True,
        default=None,
        help="keep each seed's parameters of its best validation chunk",
    )
    parser.add_argument(
        "--chunk-steps",
        type=int,
        default=None,
        help="steps between validations and progress updates (default ~steps/20)",
    )
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
    for opt, name in _FIELDS.items():
        value = getattr(args, opt)
        if value is not None:
            base[name] = value
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
