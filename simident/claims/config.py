"""What `simident reproduce` trains: the worlds, dimensions, seeds and steps of each mode.

Modes
  quick  shipped examples `diverse` and `both_low` plus a few-contexts world, table models
         at 2-4 dimensions × 4 seeds, small transformers at d = k and d*; ~2 minutes on
         2 CPU cores
  full   the same worlds and larger variants, more seeds and dimensions, transformers at
         d = k and d = d*; tens of minutes
  tiny   hidden, for tests: three very small worlds, 2 seeds, few steps, no transformer

Worlds (roles in the claims)
  diverse       E = U = R^d, k = d: full-space R² ≈ 1 at d = k (claim 1), full-span
                parallelism (claim 3), relations/probes with IC only
  low           E ≠ R^d and U ≠ R^d with k < both: free parts (claim 2), non-inclusion
                relations (claim 4), invisible probes and steering outside E (claim 5)
  few_contexts  far fewer contexts than tokens and E ≠ R^d: trained models keep token-side
                free parts, so parallelism is not shared (claim 3)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

# A world fewer contexts than tokens: n = 8 base contexts, V = 48, dim E = 3 < d = 6.
FEW_CONTEXTS = {
    "name": "few_contexts",
    "seed": 7,
    "vocab_size": 48,
    "d": 6,
    "rank_E": 3,
    "rank_U": 6,
    "k": 3,
    "n_contexts": 8,
    "context_length": 2,
    "n_parallel": 3,
}

TINY_DIVERSE = {
    "name": "tiny_diverse",
    "seed": 11,
    "vocab_size": 12,
    "d": 3,
    "n_contexts": 16,
    "n_parallel": 2,
    "queries": [{"name": "relation", "inclusion": True}],
    "probes": [{"name": "attribute", "visible": True}],
}

TINY_LOW = {
    "name": "tiny_low",
    "seed": 12,
    "vocab_size": 12,
    "d": 4,
    "rank_E": 3,
    "rank_U": 3,
    "k": 2,
    "n_contexts": 16,
    "n_parallel": 2,
    "queries": [
        {"name": "relation_ic", "inclusion": True},
        {"name": "relation_no_ic", "inclusion": False},
    ],
    "probes": [
        {"name": "visible_attr", "visible": True},
        {"name": "invisible_attr", "visible": False},
    ],
}

TINY_FEW = {
    "name": "tiny_few",
    "seed": 13,
    "vocab_size": 16,
    "d": 4,
    "rank_E": 2,
    "rank_U": 4,
    "k": 2,
    "n_contexts": 5,
    "n_parallel": 2,
}

BIG_LOW = {  # full mode: a larger both-low world (dim E ∩ U⊥ = 3, dim U ∩ E⊥ = 2)
    "name": "big_low",
    "seed": 21,
    "vocab_size": 64,
    "d": 12,
    "rank_E": 9,
    "rank_U": 8,
    "k": 6,
    "n_contexts": 192,
    "context_length": 2,
    "n_parallel": 4,
    "queries": [
        {"name": "language", "inclusion": True},
        {"name": "register", "inclusion": False},
    ],
    "probes": [
        {"name": "topic", "visible": True},
        {"name": "hidden_topic", "visible": False},
    ],
}


@dataclass(frozen=True, kw_only=True)
class WorldChoice:
    """A world by role: `example` names a shipped spec, `spec` is an embedded dict."""

    role: str  # "diverse" | "low" | "few_contexts"
    example: str | None = None
    spec: dict | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


# --- claim 6 (KL against structure): worlds with sampled data × learners, per mode


@dataclass(frozen=True)
class Learner:
    """One way to train: model, steps, early stopping (validation share of the samples)."""

    label: str
    model: str = "table"
    steps: int | None = None
    early_stop: bool = False
    seeds: int = 3
    width: int = 32


@dataclass(frozen=True)
class Regimes:
    """The cells of claim 6 in one mode: worlds (n_samples, logit_scale) × learners."""

    samples: tuple = (16, 128, 1024)
    improbable_samples: tuple = (128, 1024)
    improbable_scale: float = 6.0
    learners: tuple = ()
    transformer_samples: tuple = (128,)


CLAIM6_QUICK = Regimes(
    learners=(
        Learner("table, 2000 steps"),
        Learner("table, 150 steps", steps=150),
        Learner("table, early stop", early_stop=True),
    ),
)
CLAIM6_TINY = Regimes(
    samples=(16, 256),
    improbable_samples=(256,),
    learners=(
        Learner("table, 400 steps", steps=400, seeds=2),
        Learner("table, 60 steps", steps=60, seeds=2),
    ),
    transformer_samples=(),
)
CLAIM6_FULL = Regimes(
    samples=(16, 64, 256, 1024, 4096),
    improbable_samples=(64, 256, 1024, 4096),
    learners=CLAIM6_QUICK.learners + (Learner("table, 6000 steps", steps=6000),),
    transformer_samples=(128, 1024),
)

# --- claim 7 (language worlds): what one mode trains


@dataclass(frozen=True)
class Regime:
    """What one mode trains for claim 7."""

    base: dict  # a language spec (kind "language"), the visible world
    seeds: int
    steps: int
    width: int
    depth: int
    batch_size: int
    sweep: tuple  # visibilities of the last attribute (> 0) for W5; the largest is base's
    lr: float = 3e-3
    chunk_steps: int = 0  # steps between validations (0: steps // 5)
    weight_decay: float = 0.0


VIS = 1.5  # visibility of every visible attribute: stronger signatures, a flatter spectrum
ATTRS = [
    {"name": "language", "values": 2, "source": "subject", "visibility": VIS},
    {"name": "register", "values": 2, "source": "subject", "visibility": VIS},
    {"name": "topic", "values": 2, "source": "latest", "visibility": VIS},
]
# Every mode's worlds: K = (2, 2, 2) with a balanced table (8 subjects: each tuple once),
# 4 words, α = 3 and short sequences (length 3), so that L* is well conditioned (σ_k/σ_1
# ≈ 0.16, A1's noise factor ≈ 1.9 instead of 0.03 and 3.9 on K = (3, 2, 2), 10 words,
# α = 4) and every cell has a fair probability (the uniform residual r, which sets the
# bands, is dominated by rare cells: A3). No held-out subjects (a subject's attributes
# are memorised facts, so a model cannot know an unseen subject's; validation uses
# held-out sequences), and every training sequence prompted with one query
# (`query_prompts`: the s ⊕ q contexts are 3/4 of S but rare in plain text; p* is
# unchanged, the prompt token is no target).
BASE = {
    "kind": "language",
    "seed": 0,
    "subjects": 8,
    "sequences_per_subject": 4,
    "length": 3,
    "words": 4,
    "adjective_pairs": 2,
    "answer_sharpness": 3.0,
    "query_prompts": 1.0,
    "attributes": ATTRS,
}
CLAIM7_QUICK = Regime(
    base={**BASE, "name": "c7", "n_sequences": 16000},
    seeds=3,
    steps=600,
    width=32,
    depth=1,
    batch_size=128,
    sweep=(VIS, 0.15),
    lr=1e-2,
    chunk_steps=600,  # one compiled chunk length (8 validations of 75 steps)
    weight_decay=0.1,
)
CLAIM7_TINY = Regime(
    base={**CLAIM7_QUICK.base, "name": "c7t", "n_sequences": 128, "length": 2},
    seeds=2,
    steps=10,
    width=16,
    depth=1,
    batch_size=64,
    sweep=(VIS,),  # no W5 point: the tiny mode only exercises the machinery
)
CLAIM7_FULL = replace(  # the quick learner, trained 5× longer on 8× the sequences
    CLAIM7_QUICK,
    base={**BASE, "name": "c7f", "n_sequences": 128000},
    steps=3000,
    batch_size=256,
    chunk_steps=3000,
)


@dataclass(frozen=True, kw_only=True)
class Mode:
    """Everything a reproduction trains. Dimensions are given relative to the world:
    "k", "k+3", "2k", "d", "2d" (d is the truth's dimension d*)."""

    name: str
    worlds: tuple = ()  # WorldChoice per role
    seeds: int = 3  # table seeds per configuration (vmapped together)
    table_steps: int | None = None  # None: the training default
    dims: dict = field(default_factory=dict)  # role → dimension expressions
    grid_weight_decays: tuple = (0.0, 0.1)  # claim 2/3: at d = d* of "low" and "few_contexts"
    grid_init_scales: tuple = (0.1, 1.0)
    transformer_seeds: int = 0  # 0: no transformer
    transformer_steps: int | None = None
    transformer_width: int = 64
    transformer_depth: int = 2
    transformer_dims: tuple = ("d",)  # on the "low" world
    steering_pairs: int = 3  # in-span steering vectors f(s1) − f(s0)
    claim6: Regimes | None = None  # claim 6's cells (None: the mode cannot run claim 6)
    claim7: Regime | None = None  # claim 7's worlds and learner

    def to_dict(self) -> dict:
        out = asdict(self)
        out["worlds"] = [w.to_dict() for w in self.worlds]
        return out

    def with_seeds(self, seeds: int) -> Mode:
        return replace(self, seeds=seeds, transformer_seeds=min(self.transformer_seeds, seeds))


QUICK = Mode(
    name="quick",
    worlds=(
        WorldChoice(role="diverse", example="diverse"),
        WorldChoice(role="low", example="both_low"),
        WorldChoice(role="few_contexts", spec=FEW_CONTEXTS),
    ),
    seeds=4,
    dims={
        "diverse": ("k", "k+3", "2k"),
        "low": ("k", "k+3", "d", "2d"),
        "few_contexts": ("k", "d"),
    },
    transformer_seeds=3,
    transformer_steps=1500,
    transformer_width=32,
    transformer_depth=2,
    transformer_dims=("k", "d"),
    claim6=CLAIM6_QUICK,
    claim7=CLAIM7_QUICK,
)

FULL = Mode(
    name="full",
    worlds=(
        WorldChoice(role="diverse", example="diverse"),
        WorldChoice(role="low", spec=BIG_LOW),
        WorldChoice(role="few_contexts", spec=FEW_CONTEXTS),
    ),
    seeds=6,
    dims={
        "diverse": ("k", "k+3", "2k"),
        "low": ("k", "k+3", "2k", "d", "2d"),
        "few_contexts": ("k", "d"),
    },
    grid_weight_decays=(0.0, 0.01, 0.1),
    grid_init_scales=(0.1, 0.3, 1.0),
    transformer_seeds=3,
    transformer_steps=3000,
    transformer_width=64,
    transformer_depth=2,
    transformer_dims=("k", "d"),
    claim6=CLAIM6_FULL,
    claim7=CLAIM7_FULL,
)

TINY = Mode(
    name="tiny",
    worlds=(
        WorldChoice(role="diverse", spec=TINY_DIVERSE),
        WorldChoice(role="low", spec=TINY_LOW),
        WorldChoice(role="few_contexts", spec=TINY_FEW),
    ),
    seeds=2,
    table_steps=400,
    dims={"diverse": ("k",), "low": ("k", "d"), "few_contexts": ("k", "d")},
    grid_weight_decays=(0.0, 0.1),
    grid_init_scales=(1.0,),
    transformer_seeds=0,
    steering_pairs=2,
    claim6=CLAIM6_TINY,
    claim7=CLAIM7_TINY,
)

MODES = {"quick": QUICK, "full": FULL, "tiny": TINY}


def regime_of(mode: Mode, claim: int):
    """A claim's own settings in `mode` (claims 6 and 7 size their worlds and learners
    per mode: `Mode.claim6`, `Mode.claim7`); a mode without them is an error, never a
    silent default."""
    regime = getattr(mode, f"claim{claim}", None)
    if regime is None:
        from simident.util.errors import SimidentError

        raise SimidentError(f"claim {claim} has no settings in mode {mode.name!r}")
    return regime
