"""The attribute language of THEORY.md §5: a process whose next-token law is exact, and
what its parameters predict (W1–W4, W6), checked on the world it generates.

Vocabulary (in this order): BOS, the subjects, the plain words, the adjective pairs
(base_i, sup_i; the last pair is the broken one), the markers of every `latest`
attribute (one per value), one query token per attribute, the answer tokens of every
attribute (one per value). A sequence is BOS, a subject, then `length` tokens drawn from
softmax(logits(state, z)). The state is "after query j" when the last token is q_j, plain
text otherwise. Plain-text logits: h0 + Σ_j vis_j S_j[z_j] on the words, and for each
pair i sharing the propensity τ(z) = t[z_0]: logit(sup_i) − logit(base_i) = μ_i τ(z); the
broken pair's ratio is μ_b t_b[z_1]. After query j: ρ + α e(answer of z_j). h0 and ρ
are equal on the two tokens of a pair, so the ratios have no offset.

Every attribute's change of the plain-text logits (M, V × D, one column per value a ≥ 1)
is computed from the parameters; an attribute driving an adjective pair shows through it
whatever its visibility. All arithmetic is float64 numpy.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np

from simident.util.errors import SimidentError
from simident.worlds.contexts import rng_for
from simident.worlds.process import EXACT_TOL, build_world, distinct_prefixes, with_queries
from simident.worlds.process_spec import LanguageSpec

MAX_DRAWS = 8  # redraws of a world whose realised structure is not generic
RANK_TOL = 1e-9  # relative tolerance of rank(M) and of the kernel tests
BUDGET = 2**22  # floats of one (prefixes × tuples × V) workspace


@dataclass(frozen=True)
class Vocabulary:
    """Token ids of every role (see the module docstring for the order)."""

    V: int
    bos: int
    subjects: np.ndarray
    words: np.ndarray
    base: np.ndarray  # P + 1 ids (the last is the broken pair) or empty
    sup: np.ndarray
    markers: tuple  # per attribute: K_j ids (latest) or an empty array (subject)
    queries: np.ndarray  # J ids
    answers: tuple  # per attribute: K_j ids

    @classmethod
    def of(cls, spec: LanguageSpec) -> Vocabulary:
        nxt = [1]

        def take(m: int) -> np.ndarray:
            out = np.arange(nxt[0], nxt[0] + m, dtype=np.int64)
            nxt[0] += m
            return out

        subjects, words = take(spec.subjects), take(spec.words)
        n_pairs = spec.adjective_pairs + 1 if spec.adjective_pairs else 0
        base, sup = take(n_pairs), take(n_pairs)
        markers = tuple(
            take(a.values) if a.source == "latest" else np.zeros(0, np.int64)
            for a in spec.attributes
        )
        queries = take(len(spec.attributes))
        answers = tuple(take(a.values) for a in spec.attributes)
        if nxt[0] != spec.vocab_size:
            raise RuntimeError(f"internal error: vocabulary of {nxt[0]} != {spec.vocab_size}")
        return cls(nxt[0], 0, subjects, words, base, sup, markers, queries, answers)

    def to_dict(self) -> dict:
        return {
            "V": self.V,
            "bos": self.bos,
            "subjects": self.subjects.tolist(),
            "words": self.words.tolist(),
            "base": self.base.tolist(),
            "sup": self.sup.tolist(),
            "markers": [m.tolist() for m in self.markers],
            "queries": self.queries.tolist(),
            "answers": [a.tolist() for a in self.answers],
        }


def signature_columns(rng: np.random.Generator, W: int, r: int, D: int) -> np.ndarray:
    """W × D signature columns of rank r: sqrt(W D / r) · Q O with Q (W × r) orthonormal
    columns and O (r × D) orthonormal rows, both uniformly random. At r = D the columns
    are orthogonal, each of norm sqrt(W) (the norm of a standard normal column), so the
    plain-text directions are equally strong (a well-conditioned L*); at r < D they are
    confounded (span of rank r), with mean squared norm W."""
    Q = np.linalg.qr(rng.standard_normal((W, r)))[0]
    O = np.linalg.qr(rng.standard_normal((D, r)))[0].T
    return np.sqrt(W * D / r) * (Q @ O)


def balanced_table(rng: np.random.Generator, K: tuple, subjects: int) -> np.ndarray:
    """subjects × J attribute tuples: every tuple of ∏ K_j values ⌊subjects / ∏K⌋ or ⌈·⌉
    times (distinct tuples, uniformly chosen, when subjects < ∏K), in random subject
    order. A balanced design keeps the attributes uncorrelated across subjects, so no
    direction of the attribute encoding is weak."""
    tuples = np.stack(np.meshgrid(*[np.arange(k) for k in K], indexing="ij"), -1).reshape(
        -1, len(K)
    )
    reps = -(-subjects // len(tuples))
    pool = np.concatenate([tuples[rng.permutation(len(tuples))] for _ in range(reps)])
    return pool[:subjects][rng.permutation(subjects)]


class AttributeLanguage:
    """The process: exact log p(y | prefix) (a Bayes filter over the subject's attribute
    tuple when noise > 0), sampling, and the parameters' M."""

    min_prefix = 2

    def __init__(self, spec: LanguageSpec, rng: np.random.Generator):
        self.spec = spec
        self.vocab = vb = Vocabulary.of(spec)
        self.vocab_size = V = vb.V
        K, J = spec.K, len(spec.attributes)
        self.K = K
        P = spec.adjective_pairs
        # parameters
        h0 = rng.standard_normal(V)
        rho = rng.standard_normal(V)
        if P:
            h0[vb.sup] = h0[vb.base]
            rho[vb.sup] = rho[vb.base]
        cols = signature_columns(rng, spec.words, spec.signature_rank, spec.D)
        self.tau = rng.standard_normal(K[0])
        self.mu = rng.uniform(0.5, 2.0, size=P)
        self.tau_b = rng.standard_normal(K[1]) if P else np.zeros(0)
        self.mu_b = float(rng.uniform(0.5, 2.0)) if P else 0.0
        self.h0, self.rho = h0, rho
        self.alpha = spec.answer_sharpness
        self.table = balanced_table(rng, K, spec.subjects)
        # per attribute, the plain-text logit table A_j (K_j × V)
        self.A = []
        c0 = 0
        for j, a in enumerate(spec.attributes):
            Aj = np.zeros((K[j], V))
            Aj[1:, vb.words] = a.visibility * cols[:, c0 : c0 + K[j] - 1].T
            c0 += K[j] - 1
            if P and j == 0:
                half = 0.5 * np.outer(self.tau, self.mu)  # K_0 × P
                Aj[:, vb.sup[:P]] += half
                Aj[:, vb.base[:P]] -= half
            if P and j == 1:
                half = 0.5 * self.mu_b * self.tau_b
                Aj[:, vb.sup[P]] += half
                Aj[:, vb.base[P]] -= half
            self.A.append(Aj)
        # token lookups
        self.query_of = np.full(V, -1, np.int64)
        self.query_of[vb.queries] = np.arange(J)
        self.marker_attr = np.full(V, -1, np.int64)
        self.marker_val = np.zeros(V, np.int64)
        for j, m in enumerate(vb.markers):
            self.marker_attr[m] = j
            self.marker_val[m] = np.arange(len(m))
        kmax = max(K)
        self.answer_ids = np.zeros((J, kmax), np.int64)
        for j, ans in enumerate(vb.answers):
            self.answer_ids[j, : len(ans)] = ans
        self.tuples = np.stack(
            np.meshgrid(*[np.arange(k) for k in K], indexing="ij"), axis=-1
        ).reshape(-1, J)

    # --- the law given the latent attributes ---------------------------------------
    def cond_log_probs(self, z: np.ndarray, last: np.ndarray) -> np.ndarray:
        """log p(y | z, state): z (..., J) current attribute values, last (...) last token."""
        plain = self.h0 + sum(self.A[j][z[..., j]] for j in range(len(self.A)))
        q = self.query_of[last]
        qj = np.maximum(q, 0)
        zq = np.take_along_axis(z, qj[..., None], axis=-1)[..., 0]
        ans = self.answer_ids[qj, zq]
        answer = np.broadcast_to(self.rho, plain.shape).copy()
        np.put_along_axis(
            answer, ans[..., None], np.take_along_axis(answer, ans[..., None], -1) + self.alpha, -1
        )
        logits = np.where((q >= 0)[..., None], answer, plain)
        mx = logits.max(axis=-1, keepdims=True)
        return logits - mx - np.log(np.sum(np.exp(logits - mx), axis=-1, keepdims=True))

    def _update(self, z: np.ndarray, tok: np.ndarray) -> np.ndarray:
        """z after reading token `tok` (a marker sets its attribute's value)."""
        j = self.marker_attr[tok]
        hit = j >= 0
        if not np.any(hit):
            return z
        z = z.copy()
        onehot = (np.arange(z.shape[-1]) == j[..., None]) & hit[..., None]
        return np.where(onehot, self.marker_val[tok][..., None], z)

    def subject_of(self, X: np.ndarray) -> np.ndarray:
        """Subject index of each prefix (its second token)."""
        vb = self.vocab
        s = X[:, 1] - vb.subjects[0]
        if X.shape[1] < 2 or np.any(X[:, 0] != vb.bos) or np.any((s < 0) | (s >= len(vb.subjects))):
            raise SimidentError("attribute language: a prefix must start with BOS and a subject")
        return s

    def current_z(self, X: np.ndarray) -> np.ndarray:
        """(m, J) attribute values after each prefix under the subjects' table tuples."""
        z = self.table[self.subject_of(X)]
        for t in range(2, X.shape[1]):
            z = self._update(z, X[:, t])
        return z

    # --- the Process protocol -----------------------------------------------------
    def log_probs(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.int64)
        eps = self.spec.noise
        if eps == 0.0:
            return self.cond_log_probs(self.current_z(X), X[:, -1])
        Zn = len(self.tuples)
        step = max(1, BUDGET // (Zn * self.vocab_size))
        return np.concatenate(
            [self._mixture(X[i : i + step], eps) for i in range(0, len(X), step)], axis=0
        )

    def _mixture(self, X: np.ndarray, eps: float) -> np.ndarray:
        """log Σ_z P(z | prefix) p(y | z, state): the posterior over the subject's tuple."""
        m, t = X.shape
        Zn = len(self.tuples)
        own = np.all(self.tuples[None] == self.table[self.subject_of(X)][:, None], axis=-1)
        with np.errstate(divide="ignore"):
            logw = np.log(eps / Zn + (1.0 - eps) * own)  # m × Z
        z = np.broadcast_to(self.tuples[None], (m, Zn, self.tuples.shape[1]))
        for pos in range(2, t):
            lp = self.cond_log_probs(z, np.broadcast_to(X[:, pos - 1 : pos], (m, Zn)))
            logw = (
                logw
                + np.take_along_axis(lp, np.broadcast_to(X[:, pos, None, None], (m, Zn, 1)), -1)[
                    ..., 0
                ]
            )
            z = self._update(z, np.broadcast_to(X[:, pos : pos + 1], (m, Zn)))
        logw = logw - np.logaddexp.reduce(logw, axis=1, keepdims=True)
        lp = self.cond_log_probs(z, np.broadcast_to(X[:, -1:], (m, Zn)))
        return np.logaddexp.reduce(logw[..., None] + lp, axis=1)

    def sample_subjects(
        self, rng: np.random.Generator, subjects: np.ndarray, prompts=None, length=None
    ) -> np.ndarray:
        """One sequence per entry of `subjects` (subject indices): (m, length + 2) ints
        (`length` tokens after the subject, default the spec's).
        prompts: None or (positions, queries), each (m,): at position t = positions[i]
        (−1: none) the token q_{queries[i]} is written instead of drawn, and the sequence
        continues from the process (the next token is the answer's draw)."""
        subjects = np.asarray(subjects, dtype=np.int64)
        m = len(subjects)
        at, qtok = (np.full(m, -1), None) if prompts is None else prompts
        if prompts is not None:
            qtok = self.vocab.queries[np.asarray(qtok, dtype=np.int64)]
        z = self.table[subjects].copy()
        if self.spec.noise > 0:
            swap = rng.random(m) < self.spec.noise
            draw = np.stack([rng.integers(0, k, size=m) for k in self.K], axis=1)
            z[swap] = draw[swap]
        seq = np.zeros((m, (self.spec.length if length is None else length) + 2), np.int64)
        seq[:, 0] = self.vocab.bos
        seq[:, 1] = self.vocab.subjects[subjects]
        for t in range(2, seq.shape[1]):
            p = np.exp(self.cond_log_probs(z, seq[:, t - 1]))
            cdf = np.cumsum(p, axis=1)
            u = rng.random(m)[:, None] * cdf[:, -1:]
            seq[:, t] = np.minimum(np.sum(cdf <= u, axis=1), self.vocab_size - 1)
            if qtok is not None:
                seq[:, t] = np.where(at == t, qtok, seq[:, t])
            z = self._update(z, seq[:, t])
        return seq

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.sample_subjects(rng, rng.integers(0, self.spec.subjects, size=n))

    # --- what the parameters predict -------------------------------------------------
    def M(self) -> np.ndarray:
        """V × D: the change of the plain-text logits when z_j goes from 0 to a (a ≥ 1)."""
        return np.concatenate([(Aj[1:] - Aj[0]).T for Aj in self.A], axis=1)

    def blocks(self) -> list[slice]:
        out, c = [], 0
        for k in self.K:
            out.append(slice(c, c + k - 1))
            c += k - 1
        return out

    def encode(self, z: np.ndarray) -> np.ndarray:
        """(m, D) one-hot encoding of attribute values (value 0 dropped)."""
        return np.concatenate(
            [
                (z[:, j, None] == np.arange(1, k)[None]).astype(np.float64)
                for j, k in enumerate(self.K)
            ],
            axis=1,
        )


def predictions(proc: AttributeLanguage) -> dict:
    """W1–W4 and the W6 bound, from the parameters alone."""
    spec = proc.spec
    M = proc.M()
    CM = M - M.mean(axis=0, keepdims=True)
    D = CM.shape[1]
    _, s, Vt = np.linalg.svd(CM, full_matrices=True)
    rM = int(np.sum(s > RANK_TOL * s[0])) if s.size and s[0] > 0 else 0
    N = Vt[rM:].T  # D × (D − rM): ker CM
    k = 1 + rM + sum(proc.K)
    queries, probes = [], []
    for a, blk in zip(spec.attributes, proc.blocks()):
        leak = float(np.linalg.norm(N[blk])) if N.size else 0.0
        w = np.zeros(D)
        w[blk] = np.arange(1, a.values)
        probe_leak = float(np.linalg.norm(N.T @ w) / np.linalg.norm(w)) if N.size else 0.0
        queries.append(
            {
                "name": f"ask_{a.name}",
                "attribute": a.name,
                "d3": leak < RANK_TOL,
                "kernel_component": leak,
            }
        )
        probes.append(
            {
                "name": f"probe_{a.name}",
                "attribute": a.name,
                "w3": leak < RANK_TOL,
                "probe": probe_leak < RANK_TOL,
                "kernel_component": probe_leak,
            }
        )
    dep = np.any(np.abs(M) > 0, axis=1)
    n_dep = int(np.sum(dep)) + sum(proc.K)
    pairs = []
    P = spec.adjective_pairs
    for i in range(1, P):
        pairs.append(
            {"name": f"parallel_{i}", "parallel": True, "lambda": float(proc.mu[i] / proc.mu[0])}
        )
    if P:
        pairs.append({"name": "parallel_broken", "parallel": False})
    return {
        "rank_M": rM,
        "D": D,
        "k": k,
        "queries": queries,
        "probes": probes,
        "parallel": pairs,
        "w6_rank_bound": n_dep + 2,
        "attribute_dependent_tokens": n_dep,
    }


def predicted_k(spec: LanguageSpec) -> int:
    """The k a model of the spec's world needs, from the parameters of its first draw (no
    sampling, no L*): W1's k; with attribute noise (ε > 0) L* is not low rank and this is
    W6's rank (attribute-dependent tokens + 2), which its numerical rank never exceeds."""
    pred = predictions(AttributeLanguage(spec, rng_for(spec.seed, "language/params/0")))
    return pred["w6_rank_bound"] if spec.noise > 0 else pred["k"]


def _world_id(spec: LanguageSpec) -> str:
    text = json.dumps(spec.to_dict(), sort_keys=True)
    return f"{spec.name}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"


def _draw(spec: LanguageSpec, attempt: int):
    """The process, the sequences whose prefixes are S, and the context lists."""
    proc = AttributeLanguage(spec, rng_for(spec.seed, f"language/params/{attempt}"))
    subj = np.repeat(np.arange(spec.subjects), spec.sequences_per_subject)
    seqs = proc.sample_subjects(rng_for(spec.seed, f"language/sequences/{attempt}"), subj)
    base = distinct_prefixes(seqs, 2)
    qtok = proc.vocab.queries
    plain = lambda s: proc.query_of[s[-1]] < 0  # noqa: E731
    names = [(f"ask_{a.name}", [int(qtok[j])]) for j, a in enumerate(spec.attributes)]
    contexts, queries = with_queries(base, names, plain)
    return proc, seqs, base, contexts, queries


def _generic(proc: AttributeLanguage, base: list) -> str | None:
    """None when the plain-text contexts realise every direction of the attribute
    encoding (so W1–W3 apply exactly); else what is missing."""
    X = [c for c in base if proc.query_of[c[-1]] < 0]
    E = proc.encode(_current_z_all(proc, X))
    E = E - E.mean(axis=0)
    r = np.linalg.matrix_rank(E, tol=1e-9 * max(1.0, float(np.abs(E).max()))) if E.size else 0
    if r < proc.spec.D:
        return (
            f"the plain-text contexts realise {r} of the D = {proc.spec.D} directions of the "
            "attribute encoding"
        )
    return None


def _current_z_all(proc: AttributeLanguage, contexts: list) -> np.ndarray:
    """(n, J) current attribute values of contexts of any lengths (table tuples)."""
    out = np.zeros((len(contexts), len(proc.K)), np.int64)
    by_len: dict[int, list[int]] = {}
    for i, c in enumerate(contexts):
        by_len.setdefault(len(c), []).append(i)
    for ids in by_len.values():
        out[ids] = proc.current_z(np.asarray([contexts[i] for i in ids], dtype=np.int64))
    return out


def _properties(proc: AttributeLanguage, pred: dict, base: list, queries: list) -> list:
    spec, vb = proc.spec, proc.vocab
    props = []
    for q, pq in zip(queries, pred["queries"]):
        q["inclusion"] = q["predicted"] = pq["d3"]
        props.append(
            {
                "kind": "relational",
                "name": q["name"],
                "pairs": q["pairs"],
                "inclusion": pq["d3"],
                "predicted": pq["d3"],
            }
        )
    plain = [i for i, c in enumerate(base) if proc.query_of[c[-1]] < 0]
    Z = _current_z_all(proc, [base[i] for i in plain])
    for j, pp in enumerate(pred["probes"]):
        props.append(
            {
                "kind": "probe",
                "name": pp["name"],
                "contexts": plain,
                "values": Z[:, j].astype(np.float64).tolist(),
                "visible": pp["probe"],
                "predicted": pp["probe"],
            }
        )
    P = spec.adjective_pairs
    ref = [int(vb.base[0]), int(vb.sup[0])] if P else None
    for i in range(1, P + 1):
        pp = pred["parallel"][i - 1]
        entry = {
            "kind": "parallel_unembedding",
            "name": pp["name"],
            "pairs": [[int(vb.base[i]), int(vb.sup[i])], ref],
            "predicted": pp["parallel"],
        }
        if pp["parallel"]:
            entry["lambda"] = pp["lambda"]
        props.append(entry)
    return props


def _check(spec: LanguageSpec, pred: dict, world) -> str | None:
    """None when the measured structure is the predicted one (exact case: k and every
    status; noise > 0: the tail W6 describes is there); else the disagreement."""
    m = world.measured
    if spec.noise > 0:
        return None
    if m["k"] != pred["k"]:
        return f"measured k = {m['k']} but W1 predicts {pred['k']}"
    for p in m["properties"]:
        if not p.get("agrees", True):
            got = "holds" if p["holds"] else "fails"
            return f"{p['name']}: measured {got}, predicted the opposite"
    return None


def generate_language_world(spec: LanguageSpec):
    """The world of an attribute-language spec, with its predictions checked; redrawn up
    to MAX_DRAWS times when the realised structure is not generic, then refused."""
    reason = None
    for attempt in range(MAX_DRAWS):
        proc, seqs, base, contexts, queries = _draw(spec, attempt)
        reason = _generic(proc, base)
        if reason is not None:
            continue
        pred = predictions(proc)
        props = _properties(proc, pred, base, queries)
        subj = np.asarray([c[1] for c in contexts]) - proc.vocab.subjects[0]
        held_subj = np.zeros(spec.subjects, dtype=bool)
        if spec.n_heldout:
            pick = rng_for(spec.seed, "language/split").choice(
                spec.subjects, spec.n_heldout, replace=False
            )
            held_subj[pick] = True
        sequences = {"world_sequences": seqs.astype(np.int32)}
        if spec.n_sequences:
            sequences.update(_corpus(proc, np.flatnonzero(~held_subj), attempt))
        extra = {
            "process": "language",
            "n_base": len(base),
            "draw": attempt,
            "vocabulary": proc.vocab.to_dict(),
            "heldout_subjects": np.flatnonzero(held_subj).tolist(),
            "parameters": {
                "h0": proc.h0,
                "rho": proc.rho,
                "alpha": proc.alpha,
                "tau": proc.tau,
                "mu": proc.mu,
                "tau_broken": proc.tau_b,
                "mu_broken": proc.mu_b,
                "table": proc.table,
                "M": proc.M(),
            },
        }
        world, L = build_world(
            proc,
            contexts,
            world_id=_world_id(spec),
            spec=spec.to_dict(),
            extra=extra,
            queries=queries,
            properties=props,
            heldout=held_subj[subj],
            sequences=sequences,
        )
        world.measured["predictions"] = _report(spec, pred, world, L)
        reason = _check(spec, pred, world)
        if reason is None:
            return world
    raise SimidentError(
        f"subjects: {MAX_DRAWS} draws of the attribute language never matched its predicted "
        f"structure ({reason}); raise subjects or sequences_per_subject"
    )


def prompt_plan(spec: LanguageSpec, rng: np.random.Generator, n: int):
    """(positions, queries) of n training sequences (length + 3 tokens): a share
    `query_prompts` of them (each independently) gets a query q_j, j uniform, written at a
    position t uniform in [2, length + 1] (after the subject, with room for the answer);
    −1 = not prompted."""
    J = len(spec.attributes)
    hit = rng.random(n) < spec.query_prompts
    at = rng.integers(2, spec.length + 2, size=n)
    which = rng.integers(0, J, size=n)
    return np.where(hit, at, -1), which


def _corpus(proc: AttributeLanguage, train_subj: np.ndarray, attempt: int) -> dict:
    """data.npz arrays of the training corpus: `sequences` (n_sequences draws from the
    training subjects, length + 1 tokens after the subject: one more than the world's
    sequences, so that the longest context, s ⊕ q with |s| = length + 1, is a prefix the
    corpus trains) and, when query_prompts > 0, `sequences_prompted` (1 at each written
    query token: a position that is not a draw of the process, so not a target)."""
    spec = proc.spec
    crng = rng_for(spec.seed, f"language/corpus/{attempt}")
    who = train_subj[crng.integers(0, len(train_subj), size=spec.n_sequences)]
    prompts = None
    if spec.query_prompts > 0:
        prompts = prompt_plan(spec, rng_for(spec.seed, f"language/prompts/{attempt}"), len(who))
    seqs = proc.sample_subjects(crng, who, prompts, length=spec.length + 1)
    out = {"sequences": seqs.astype(np.int32)}
    if prompts is not None:
        out["sequences_prompted"] = (np.arange(seqs.shape[1])[None] == prompts[0][:, None]).astype(
            np.int32
        )
    return out


def _side_by_side(predicted: list, measured: dict, keep: dict, shown: tuple) -> list:
    """Per entry of `predicted`: its name, its fields renamed by `keep` (new: old; absent
    = None) and the `shown` fields of the measured property of that name."""
    return [
        {
            "name": p["name"],
            **{new: p.get(old) for new, old in keep.items()},
            **{f: measured[p["name"]][f] for f in shown},
        }
        for p in predicted
    ]


def _report(spec: LanguageSpec, pred: dict, world, L) -> dict:
    """The predictions next to what L* shows (world.json measured.predictions)."""
    m = world.measured
    s = np.linalg.svd(L, compute_uv=False)
    k = pred["k"]
    rel = s / s[0]
    by_name = {p["name"]: p for p in m["properties"]}
    out = {
        "k": {
            "predicted": k,
            "measured": m["k"],
            "gap": m["rank_decision"]["gap"],
            "sigma_k_over_sigma_1": float(rel[k - 1]) if k <= len(rel) else 0.0,
            "sigma_k1_over_sigma_1": float(rel[k]) if k < len(rel) else 0.0,
        },
        "rank_M": pred["rank_M"],
        "D": pred["D"],
        "queries": _side_by_side(
            pred["queries"], by_name, {"predicted_d3": "d3"}, ("d3_residual",)
        ),
        "probes": _side_by_side(
            pred["probes"], by_name, {"predicted": "probe", "w3": "w3"}, ("r2",)
        ),
        "parallel": _side_by_side(
            pred["parallel"],
            by_name,
            {"predicted": "parallel", "lambda_predicted": "lambda"},
            ("lambda", "residual"),
        ),
        "distinct_rows": m["distinct_rows"],
        "exact_tol": EXACT_TOL,
    }
    if spec.noise > 0:
        out["w6"] = {
            "noise": spec.noise,
            "tail": float(rel[k]) if k < len(rel) else 0.0,
            "numerical_rank": m["k"],
            "rank_bound": pred["w6_rank_bound"],
        }
    return out


__all__ = ["AttributeLanguage", "Vocabulary", "generate_language_world", "predictions"]
