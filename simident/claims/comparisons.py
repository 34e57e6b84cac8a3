"""The comparisons the claims make between a reproduction's models (the truth of a world,
or a trained seed: `context.ModelRef`), each computed once: model pairs, a model against
its world's truth with the planted properties and steering vectors, free parts.

`Comparisons` is a mixin of `context.Context`: it reads the models through the context's
`FG`, `k`, `world` and `th`, and keeps its results in per-kind caches.
"""

from __future__ import annotations

import numpy as np

from simident.claims.refs import ModelRef
from simident.theory.free_parts import free_parts


class Comparisons:
    """Cached comparisons of the models of a reproduction (mixed into `Context`)."""

    def _memo(self, kind: str) -> dict:
        return self.__dict__.setdefault(f"_memo_{kind}", {})

    def free(self, ref: ModelRef):
        if ref not in self._memo("free"):
            F, G = self.FG(ref)
            self._memo("free")[ref] = free_parts(F, G, self.k(ref.world))
        return self._memo("free")[ref]

    # --- comparisons -------------------------------------------------------------
    def compare(self, a: ModelRef, b: ModelRef, properties=()):
        """`simident.compare(a, b)` of two models of one world at the world's k (no KL),
        each in its own dimension: a Comparison."""
        from simident.comparison.api import compare

        return compare(
            self.FG(a),
            self.FG(b),
            properties=properties,
            tol=self.th.tol,
            k=self.k(a.world),
            kl=False,
        )

    def pair(self, a: ModelRef, b: ModelRef):
        """`compare` of two models of one world (no properties), cached."""
        if (a, b) not in self._memo("pairs"):
            self._memo("pairs")[(a, b)] = self.compare(a, b)
        return self._memo("pairs")[(a, b)]

    def steering_properties(self, role: str, with_vector: bool = True) -> list:
        """In-span steering (v = f(s1) − f(s0) on base contexts) and, when the world has
        U ∩ E⊥ ≠ {0}, a vector outside E built from the truth (needs model a = truth)."""
        n_base = int(self.world(role).extra.get("n_base", self.world(role).n))
        m = min(self.mode.steering_pairs, n_base // 2)
        props = [
            {"kind": "steering", "name": f"steer_span_{i}", "pairs": [[2 * i, 2 * i + 1]]}
            for i in range(m)
        ]
        if with_vector:
            v = self.outside_vector(role)
            if v is not None:
                props.append({"kind": "steering", "name": "steer_outside", "vector": v})
        return props

    def outside_vector(self, role: str):
        """v ∈ U ∩ E⊥ of the truth (in the truth's dimension), or None when U ∩ E⊥ = {0}."""
        if role not in self._memo("steer_vector"):
            from simident.theory.constructors import steering_outside_E

            F, G = self.FG(self.truth(role))
            try:
                v = steering_outside_E(np.random.default_rng(0), F, G).tolist()
            except ValueError:
                v = None
            self._memo("steer_vector")[role] = v
        return self._memo("steer_vector")[role]

    def versus_truth(self, ref: ModelRef):
        """`compare(truth, model)` with the world's planted properties and the steering
        vectors, cached: "a" is the truth, "b" the model."""
        if ref not in self._memo("versus_truth"):
            role = ref.world
            props = list(self.world(role).properties) + self.steering_properties(role)
            self._memo("versus_truth")[ref] = self.compare(self.truth(role), ref, props)
        return self._memo("versus_truth")[ref]

    def steering_pair(self, a: ModelRef, b: ModelRef):
        """In-span steering between two trained models (the same combination in both)."""
        return self.compare(a, b, self.steering_properties(a.world, with_vector=False))


def planted(world, kind: str, **flags) -> list:
    """The world's planted properties of one kind (and flags, e.g. inclusion=False)."""
    return [
        p
        for p in world.properties
        if p["kind"] == kind and all(p.get(k) == v for k, v in flags.items())
    ]


def by_name(comparison) -> dict:
    """A Comparison's PropertyResults by name."""
    return {p.name: p for p in comparison.properties}
