"""`simident compare A.npz B.npz [--properties SPEC.json] [--json] [--tol TOL] [--k K]`."""

from __future__ import annotations

import sys
from pathlib import Path


def configure(p) -> None:
    p.add_argument("a", metavar="A.npz", help="model A: arrays F (n×d) and G (V×d)")
    p.add_argument("b", metavar="B.npz", help="model B: arrays F (n×d~) and G (V×d~)")
    p.add_argument("--properties", metavar="SPEC.json", help="linear properties to test")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--tol",
        type=float,
        default=None,
        help="relative tolerance for ranks and verdicts (default: sqrt(eps) of the input "
        "dtype, 1.5e-8 for float64; use 1e-2 for trained models)",
    )
    p.add_argument("--k", type=int, default=None, help="use this effective complexity")
    p.add_argument("--no-kl", action="store_true", help="skip the per-context KL (O(nVd) work)")


def run(args) -> int:
    from simident.compare import format_report, run_compare
    from simident.env import enable_x64, versions
    from simident.errors import SimidentError
    from simident.io import load_model, read_json, to_json

    enable_x64()
    if args.tol is not None and not 0.0 < args.tol < 1.0:
        raise SimidentError(f"--tol {args.tol}: must lie in (0, 1)")
    if args.k is not None and args.k < 0:
        raise SimidentError(f"--k {args.k}: must be ≥ 0")
    Fa, Ga = load_model(args.a)
    Fb, Gb = load_model(args.b)
    if Fa.shape[0] != Fb.shape[0]:
        raise SimidentError(
            f"{args.b}: F has n={Fb.shape[0]} contexts but {args.a} has n={Fa.shape[0]}"
        )
    if Ga.shape[0] != Gb.shape[0]:
        raise SimidentError(
            f"{args.b}: G has V={Gb.shape[0]} tokens but {args.a} has V={Ga.shape[0]}"
        )
    spec = None
    if args.properties:
        spec = read_json(args.properties, "properties file")
    try:
        result = run_compare(
            Fa, Ga, Fb, Gb, properties=spec, tol=args.tol, k=args.k, kl=not args.no_kl
        )
    except SimidentError as e:
        msg = str(e)
        if args.properties and msg.startswith("properties"):
            msg = f"{args.properties}{msg[len('properties') :]}"
        raise SimidentError(msg) from None
    result["inputs"] = {
        "a": str(Path(args.a)),
        "b": str(Path(args.b)),
        "properties": args.properties,
    }
    result["versions"] = versions()
    if args.json:
        sys.stdout.write(to_json(result) + "\n")
    else:
        print(format_report(result, args.a, args.b))
    return 0
