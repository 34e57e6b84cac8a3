"""Property specs are validated when they are built; ranges when they meet the models."""

import pytest

import simident as si
from simident.comparison.properties import parse_properties
from simident.util.errors import SimidentError


def test_specs_are_validated_and_normalised_on_construction():
    p = si.ParallelUnembedding("p", [[0, 1], [2, 3]])
    assert p.pairs == ((0, 1), (2, 3))
    with pytest.raises(SimidentError, match=r"Probe\('z'\): 2 contexts but 1 values"):
        si.Probe("z", (0, 1), (0.0,))
    with pytest.raises(SimidentError, match=r"Relational\('r'\).pairs\[0\]\[1\] = -1"):
        si.Relational("r", ((0, -1), (1, 2)))
    with pytest.raises(SimidentError, match="exactly one of 'pairs' or 'vector'"):
        si.Steering("s")
    with pytest.raises(SimidentError, match="non-empty string"):
        si.Probe("", (0, 1), (0.0, 1.0))


def test_ids_are_checked_against_the_models_when_compared():
    specs = [si.Probe("z", (0, 9), (0.0, 1.0))]
    assert parse_properties(specs, n=10, V=5, d_a=3) == tuple(specs)
    with pytest.raises(SimidentError, match=r"properties\[0\] \('z'\).contexts\[1\] = 9"):
        parse_properties(specs, n=9, V=5, d_a=3)
    with pytest.raises(SimidentError, match="vector"):
        parse_properties([si.Steering("s", vector=(1.0, 2.0))], n=9, V=5, d_a=3)
