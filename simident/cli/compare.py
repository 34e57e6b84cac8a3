"""`simident compare A.npz B.npz [--properties SPEC.json] [--json] [--tol TOL] [--k K]
[--contexts train|heldout|all --world DIR | --contexts-file IDS.json] [--band LO HI]
[--kl-contexts N|all] [--identification auto|qr|gram]`."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

from simident.util.errors import SimidentError

EPILOG = """\
fields (see docs/compare.md):
  logit_residual     r = ‖L_A − L_B‖_F / ‖L‖_F, uniform over context-token cells (A1)
  weighted_residual  r_p, the same weighted by p̄(y|s): tracks the KL (A3)
  kl_mean, kl_max    KL(p_A ‖ p_B) per context, nats
  kl_sample          null, or how KL and r_p were estimated on a subset (--kl-contexts):
                     n_used, n_total, seed, kl_mean_ci95, weighted_residual_ci95
  delta_2            ‖L_A − L_B‖_2: the pair's noise level for rank decisions (A4)
  k, k_decision      σ_i(L̄) counted above max(delta_2, tol·σ_1, floor), k ≤ min(d_A, d_B);
                     sigma_k, sigma_k1, threshold and decided_by say how
  identified_misfit_f/_g, a1_bound   disagreement of the identified parts and its A1 bound
  identification     route_f / route_g ("qr" or "gram") and the Gram route's error bounds
verdicts holds_a / holds_b / distribution_level / shared / guaranteed are true, false or
null (undecided): a score ≤ lower holds, > upper fails, between is undecided, with
lower = max(tol, LO·noise), upper = max(tol, HI·noise) and noise the pair's relative
logit disagreement on the property's contexts/tokens (reported in each `band`).
"""


def configure(p) -> None:
    import argparse

    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = EPILOG
    p.add_argument("a", metavar="A.npz", help="model A: arrays F (n×d) and G (V×d)")
    p.add_argument("b", metavar="B.npz", help="model B: arrays F (n×d~) and G (V×d~)")
    p.add_argument("--properties", metavar="SPEC.json", help="linear properties to test")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--tol",
        type=float,
        default=None,
        help="relative tolerance for ranks and verdicts (default: sqrt(eps) of the input "
        "dtype, 1.5e-8 for float64); the pair's own disagreement widens it (A4, bands)",
    )
    p.add_argument("--k", type=int, default=None, help="use this effective complexity")
    p.add_argument("--no-kl", action="store_true", help="skip the per-context KL (O(nVd) work)")
    p.add_argument(
        "--kl-contexts",
        metavar="N|all",
        default=None,
        help="estimate KL and r_p on N uniformly drawn contexts (seeded) with 95%% "
        "intervals, or 'all' for the exact pass (default: exact up to n·V = 1e10 cells, "
        "4096 contexts above)",
    )
    p.add_argument(
        "--identification",
        choices=("auto", "qr", "gram"),
        default="auto",
        help="small factors by row-block QR or float64 Gram (default auto: Gram above "
        "n·(1+d_A+d_B)² = 1e10; the route and its error bound are in the output's "
        "identification, docs/numerics.md)",
    )
    p.add_argument(
        "--contexts",
        choices=("train", "heldout", "all"),
        default=None,
        help="compare on the world's training or held-out contexts (needs --world)",
    )
    p.add_argument("--world", metavar="DIR", help="the world the models were trained on")
    p.add_argument(
        "--contexts-file", metavar="IDS.json", help="compare on these context ids (a JSON list)"
    )
    p.add_argument(
        "--band",
        nargs=2,
        type=float,
        metavar=("LO", "HI"),
        default=None,
        help="margins of the verdict bands in units of the pair's disagreement "
        "(default 2 6, chosen by simident calibrate)",
    )


def _contexts(args, n: int):
    """(ids or None, name) from --contexts/--world or --contexts-file."""
    from simident.util.errors import SimidentError
    from simident.util.io import read_json

    if args.contexts_file and args.contexts:
        raise SimidentError("give either --contexts or --contexts-file, not both")
    if args.contexts_file:
        ids = read_json(args.contexts_file, "contexts file")
        if not isinstance(ids, list):
            raise SimidentError(f"contexts file {args.contexts_file}: expected a JSON list of ids")
        return ids, Path(args.contexts_file).name
    if args.contexts is None:
        if args.world:
            raise SimidentError("--world is only used with --contexts train|heldout|all")
        return None, None
    if not args.world:
        raise SimidentError(f"--contexts {args.contexts}: needs --world DIR (the models' world)")
    from simident.worlds import load_world

    world = load_world(args.world)  # the one reader of world folders (validated there)
    if world.n != n:
        raise SimidentError(
            f"--world {args.world}: the world has {world.n} contexts but the models n={n}"
        )
    if args.contexts == "all":
        return list(range(n)), "all"
    ids = (world.train_ids if args.contexts == "train" else world.heldout_ids).tolist()
    if not ids:
        raise SimidentError(f"--world {args.world}: it has no {args.contexts} contexts")
    return ids, args.contexts


def _kl_contexts(value):
    """--kl-contexts N|all → an int, the number of contexts (all: n), or None."""
    from simident.util.errors import SimidentError

    if value is None:
        return None
    if value == "all":
        return 2**62  # ≥ n: the exact pass
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 2:
        raise SimidentError(f"--kl-contexts {value}: expected an integer ≥ 2 or 'all'")
    return n


def _check_headers(path_a, path_b) -> None:
    """From the two files' headers alone (nothing materialised): matching n and V, and a
    comparison whose float64 arrays fit in this machine's memory."""
    import numpy as np

    from simident.comparison.memory import compare_bytes
    from simident.util.integrity import check_readable, members
    from simident.util.memory import check_fits

    shapes = []
    for path in (path_a, path_b):
        check_readable(Path(path), "model file")
        if not zipfile.is_zipfile(path):
            return  # refused by Model.load with its own message
        heads = members(path)
        (F, fdt), (G, _) = (heads.get(k, ((), np.dtype(np.float64)))[:2] for k in "FG")
        if len(F) != 2 or len(G) != 2:
            return  # refused by Model.load (missing or not 2-D)
        shapes.append((F, G, fdt.itemsize))
    (Fa, Ga, size_a), (Fb, Gb, size_b) = shapes
    if Fa[0] != Fb[0]:
        raise SimidentError(f"{path_b}: F has n={Fb[0]} contexts but {path_a} has n={Fa[0]}")
    if Ga[0] != Gb[0]:
        raise SimidentError(f"{path_b}: G has V={Gb[0]} tokens but {path_a} has V={Ga[0]}")
    n, V = Fa[0], Ga[0]
    check_fits(
        compare_bytes(n, V, Fa[1], Fb[1], max(size_a, size_b)),
        f"comparing {path_a} and {path_b} (n={n}, V={V}, d={Fa[1]} and {Fb[1]})",
        "the models (fewer contexts, a smaller vocabulary or dimension)",
    )


def json_record(result) -> dict:
    """The `--json` object of a Comparison (what the text report also reads)."""
    return result.to_dict()


def run(args) -> int:
    from simident.comparison.api import check_contexts, compare
    from simident.comparison.model import Model
    from simident.comparison.properties import parse_properties
    from simident.theory.decisions import DEFAULT_MARGINS, check_margins
    from simident.util.env import versions
    from simident.util.errors import SimidentError
    from simident.util.io import read_json, to_json

    if args.tol is not None and not 0.0 < args.tol < 1.0:
        raise SimidentError(f"--tol {args.tol}: must lie in (0, 1)")
    if args.k is not None and args.k < 0:
        raise SimidentError(f"--k {args.k}: must be ≥ 0")
    if args.band is not None:
        try:
            check_margins(args.band)
        except ValueError:
            raise SimidentError(f"--band {args.band[0]} {args.band[1]}: need 0 < LO ≤ HI") from None
    kl_contexts = _kl_contexts(args.kl_contexts)
    _check_headers(args.a, args.b)
    a, b = Model.load(args.a), Model.load(args.b)
    if a.n != b.n:
        raise SimidentError(f"{args.b}: F has n={b.n} contexts but {args.a} has n={a.n}")
    if a.V != b.V:
        raise SimidentError(f"{args.b}: G has V={b.V} tokens but {args.a} has V={a.V}")
    spec = ()
    if args.properties:  # validated here, so errors name the file
        obj = read_json(args.properties, "properties file")
        spec = parse_properties(obj, a.n, a.V, a.d, source=args.properties)
    ids, name = _contexts(args, a.n)
    if ids is not None:
        where = f"{args.contexts_file}: contexts" if args.contexts_file else "--contexts"
        ids = check_contexts(ids, a.n, source=where).tolist()
    result = compare(
        a,
        b,
        properties=spec,
        tol=args.tol,
        k=args.k,
        kl=not args.no_kl,
        contexts=ids,
        contexts_name=name,
        margins=tuple(args.band) if args.band else DEFAULT_MARGINS,
        kl_contexts=kl_contexts,
        identification=args.identification,
    )
    out = json_record(result)
    out["inputs"] = {
        "a": str(Path(args.a)),
        "b": str(Path(args.b)),
        "properties": args.properties,
        "world": args.world,
        "contexts_file": args.contexts_file,
    }
    out["versions"] = versions()
    if args.json:
        sys.stdout.write(to_json(out) + "\n")
    else:
        from simident.comparison.report import format_report

        sys.stdout.write(format_report(out, args.a, args.b) + "\n")
    return 0
