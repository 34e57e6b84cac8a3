"""The JSON form of `simident.compare` on raw arrays, for tests that check that form."""

from simident.comparison.api import compare


def run_compare(Fa, Ga, Fb, Gb, properties=None, tol=None, k=None, kl=True) -> dict:
    """`compare((Fa, Ga), (Fb, Gb), ...).to_dict()`: the `simident compare --json` object."""
    return compare((Fa, Ga), (Fb, Gb), tol=tol, k=k, properties=properties or (), kl=kl).to_dict()
