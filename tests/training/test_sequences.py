"""Per-position training on process worlds (training/sequences.py): one causal pass per
sequence scores every prefix exactly as one pass per prefix does (oracle), positions map
to the world's context ids, `simident train --loss sequences|exact` runs with held-out
sequences and subjects, embed and `compare --contexts heldout` read the prefixes, and a
world without sequences exits 2 with one line."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simident.cli.main import main
from simident.training import TrainConfig
from simident.training.data import make_data
from simident.training.loop import train_world_grid
from simident.training.sequences import index_positions, make_sequences, sequence_loss
from simident.training.steps import _build, make_static, model_loss
from simident.worlds import LanguageSpec, generate_world

pytestmark = pytest.mark.slow  # trains models for real

SPEC = dict(
    name="seq",
    seed=3,
    subjects=12,
    sequences_per_subject=2,
    length=3,
    words=6,
    adjective_pairs=0,
    heldout_subjects=0.25,
    n_sequences=64,
    attributes=[
        {"name": "a", "values": 2, "source": "subject"},
        {"name": "b", "values": 2, "source": "latest"},
    ],
)
NET = dict(model="transformer", d=4, width=16, depth=1, heads=2)


@pytest.fixture(scope="module")
def lworld():
    return generate_world(LanguageSpec(**SPEC))


@pytest.fixture(scope="module")
def lworld_dir(lworld, tmp_path_factory):
    out = tmp_path_factory.mktemp("lang") / "w"
    lworld.save(out)
    return out


def test_positions_are_the_world_prefixes(lworld):
    """Every scored position of the world's own sequences is a context whose tokens are
    that prefix; its row is its place among the sorted training contexts."""
    seqs = np.asarray(lworld.sequences["world_sequences"], dtype=np.int64)
    ids, rows, scored = index_positions(lworld, seqs)
    assert scored[:, 0].sum() == 0 and scored[:, 1:].all()  # prefixes of length ≥ 2
    train = np.sort(lworld.train_ids)
    for i, t in zip(*np.nonzero(scored)):
        assert ids[i, t] >= 0 and lworld.contexts[ids[i, t]] == seqs[i, : t + 1].tolist()
        r = rows[i, t]
        assert (r >= 0) == (ids[i, t] in set(train.tolist()))
        if r >= 0:
            assert train[r] == ids[i, t]


@pytest.mark.parametrize("loss", ["exact", "sequences"])
def test_one_causal_pass_equals_one_pass_per_prefix(lworld, loss):
    """Oracle: the per-position loss of a random transformer = the mean over positions
    of the last-position loss of each prefix evaluated on its own (population KL for
    'exact', NLL of the next token for 'sequences')."""
    config = TrainConfig(seeds=1, steps=1, loss=loss, **NET).resolved(lworld.d)
    tokens, _ = lworld.tokens()
    data = make_data(lworld, "population")
    static = make_static(config, lworld.n, lworld.V, tokens.shape[1], int(data.ids.shape[0]))
    seqs, _ = make_sequences(lworld, loss, "transformer")
    static = static._replace(n_seq=int(seqs.inputs.shape[0]))
    data = data._replace(seqs=seqs)
    model = _build(static, jax.random.key(1), 1.0)
    got, _ = sequence_loss(model, static, data, None)
    # reference: every scored prefix on its own, at its last position
    mask = np.asarray(seqs.mask)
    vals = []
    pop = static._replace(loss="population")
    for i, t in zip(*np.nonzero(mask)):
        x = np.asarray(seqs.inputs)[i, : t + 1][None]
        row = int(np.asarray(seqs.rows)[i, t])
        if loss == "exact":
            one = data._replace(
                ids=data.ids[row : row + 1],
                tokens=jnp.asarray(x),
                lengths=jnp.asarray([t + 1]),
                logp_star=data.logp_star[row : row + 1],
            )
            vals.append(float(model_loss(model, pop._replace(m=1), one, None)[0]))
        else:
            logq = jax.nn.log_softmax(model.logits(None, jnp.asarray(x), jnp.asarray([t + 1])))
            vals.append(-float(logq[0, int(np.asarray(seqs.targets)[i, t])]))
    np.testing.assert_allclose(float(got), np.mean(vals), rtol=2e-5)


def test_query_prompts_are_written_not_targets():
    """A prompted corpus (query_prompts = 1): every training sequence has exactly one query
    token written at a position in [2, length + 1], followed by a draw; the corpus is one
    token longer than the world's sequences (its longest prefix is the longest context);
    the written token's position is not scored, every other one is; without prompts the
    same corpus positions are all scored."""
    w = generate_world(LanguageSpec(**{**SPEC, "query_prompts": 1.0}))
    seqs = np.asarray(w.sequences["sequences"])
    mark = np.asarray(w.sequences["sequences_prompted"]) != 0
    L = SPEC["length"]
    assert seqs.shape == (SPEC["n_sequences"], L + 3) == mark.shape
    assert seqs.shape[1] - 1 == max(len(c) for c in w.contexts)
    assert (mark.sum(axis=1) == 1).all() and not mark[:, :2].any() and not mark[:, -1].any()
    queries = set(w.extra["vocabulary"]["queries"])
    assert all(int(t) in queries for t in seqs[mark])
    train, _ = make_sequences(w, "sequences", "transformer")
    scored = np.asarray(train.mask)
    assert not scored[mark[:, 1:]].any()
    assert scored[~mark[:, 1:] & (np.arange(1, L + 3) >= 2)[None]].all()
    plain = generate_world(LanguageSpec(**SPEC))
    assert "sequences_prompted" not in plain.sequences


def test_table_scores_only_context_prefixes(lworld):
    seqs, _ = make_sequences(lworld, "sequences", "table")
    mask, ids = np.asarray(seqs.mask), np.asarray(seqs.ids)
    assert mask.any() and (ids[mask] >= 0).all()
    train = set(lworld.train_ids.tolist())
    assert all(int(i) in train for i in ids[mask])


def test_train_sequences_with_validation(lworld):
    """Transformer seeds on sampled sequences: the loss goes down, held-out sequences give
    the validation NLL and held-out subjects the validation KL; early stopping keeps a
    chunk's parameters."""
    config = TrainConfig(
        seeds=2, steps=60, lr=1e-2, loss="sequences", val_fraction=0.25, early_stop=True, **NET
    )
    (res,) = train_world_grid(lworld, config, progress=False)
    h = res.history
    assert np.isfinite(np.asarray(h["val_nll"])).all() and np.isfinite(h["val_kl"]).all()
    assert (res.best_step > 0).all()
    assert np.all(res.final_loss < np.log(lworld.V))  # below the uniform predictor's NLL
    nll = np.asarray(h["val_nll"])
    assert np.all(nll.min(axis=0) < nll[0])
    assert res.F.shape == (2, lworld.n, 4) and res.config.data_mode == "shared"


def test_table_and_exact_train(lworld):
    for model, loss in (("table", "sequences"), ("transformer", "exact")):
        cfg = dict(NET, model=model) if model == "transformer" else dict(model="table", d=4)
        (res,) = train_world_grid(
            lworld, TrainConfig(seeds=1, steps=40, lr=3e-2, loss=loss, **cfg), progress=False
        )
        assert np.isfinite(res.kl_mean).all()
        if loss == "exact":  # the loss is the KL at the sequences' positions
            assert res.history["kl"][-1][0] < 0.5 * res.history["kl"][0][0]
        else:
            assert res.final_loss[0] < np.log(lworld.V)


def test_cli_train_embed_compare_heldout(lworld_dir, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", str(lworld_dir), "--model", "transformer", "--d", "4", "--seeds", "2"]
    args += ["--steps", "20", "--width", "16", "--depth", "1", "--heads", "2", "--quiet"]
    assert main(args + ["--loss", "sequences", "--val-fraction", "0.2", "--out", str(run)]) == 0
    rec = json.loads((run / "run.json").read_text())
    assert rec["config"]["loss"] == "sequences"
    emb = tmp_path / "emb"
    assert main(["embed", str(run), "--out", str(emb)]) == 0
    capsys.readouterr()
    code = main(
        ["compare", str(run / "seed_0.npz"), str(run / "seed_1.npz"), "--contexts", "heldout"]
        + ["--world", str(lworld_dir), "--json"]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    held = json.loads((lworld_dir / "world.json").read_text())["split"]["heldout"]
    assert out["contexts"]["n_used"] == len(held) > 0


def test_loss_sequences_needs_sequences(tmp_path, capsys):
    main(["world", "tiny", "--out", str(tmp_path / "w")])
    capsys.readouterr()
    args = ["train", str(tmp_path / "w"), "--model", "transformer", "--d", "3", "--steps", "2"]
    for loss in ("sequences", "exact"):
        code = main(args + ["--loss", loss, "--out", str(tmp_path / loss), "--quiet"])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and f"loss '{loss}' needs" in err[0]


def test_worlds_of_other_sizes_share_one_compiled_chunk(lworld):
    """Per-position transformer training pads the training rows to whole EVAL_ROWS blocks:
    the padded copies are never read (the loss is unchanged, bit for bit), and a world with
    another number of contexts (same vocabulary and lengths) reuses the compiled chunk."""
    from simident.training import loop, steps
    from simident.training.data import padded_rows

    other = generate_world(LanguageSpec(**{**SPEC, "seed": 4}))
    assert other.n != lworld.n and other.V == lworld.V
    config = TrainConfig(seeds=1, steps=8, loss="sequences", batch_size=16, **NET)
    data = make_data(lworld, "sequences")
    seqs, _ = make_sequences(lworld, "sequences", "transformer")
    data = data._replace(seqs=seqs)
    static = make_static(config, lworld.n, lworld.V, 4, lworld.n)._replace(n_seq=64)
    model = _build(static, jax.random.key(0), 1.0)
    padded = padded_rows(data, 256)
    assert padded.F_star.shape[0] == 256
    same = sequence_loss(model, static._replace(n=256, m=256), padded, None)
    assert all(a == b for a, b in zip(same, sequence_loss(model, static, data, None)))

    train_world_grid(lworld, config, progress=False)
    before = loop.run_chunk._cache_size(), steps._init_lanes._cache_size()
    (res,) = train_world_grid(other, config, progress=False)
    assert (loop.run_chunk._cache_size(), steps._init_lanes._cache_size()) == before
    assert res.F.shape == (1, other.n, 4)
