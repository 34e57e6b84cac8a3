"""Saved weights: `load_run` + `embed` (and `simident embed`) rebuild every seed's model."""

import json

import numpy as np
import pytest

from simident.cli.main import main
from simident.training import embed, load_run
from simident.util.errors import SimidentError
from simident.util.io import load_model
from simident.worlds import toy_world


@pytest.fixture(scope="module")
def runs(tmp_path_factory, world, table_result, transformer_result):
    root = tmp_path_factory.mktemp("saved")
    world.save(root / "world")
    table_result.save(root / "table", world)
    transformer_result.save(root / "transformer", world)
    return root


@pytest.mark.parametrize("model", ["table", "transformer"])
def test_embed_reproduces_seed_files(model, runs, world):
    run = load_run(runs / model)
    assert run.config.model == model and run.world_id == world.world_id
    F, G = embed(run, world)
    for i, s in enumerate(run.seeds):
        Fs, Gs = load_model(runs / model / f"seed_{s}.npz")
        np.testing.assert_allclose(F[i], Fs, rtol=0, atol=1e-6 * max(1, np.abs(Fs).max()))
        np.testing.assert_allclose(G[i], Gs, rtol=0, atol=1e-6 * max(1, np.abs(Gs).max()))


def test_cli_embed_reproduces_run(runs, tmp_path):
    out = tmp_path / "again"
    assert main(["embed", str(runs / "transformer"), "--world", str(runs / "world"),
                 "--out", str(out), "--quiet"]) == 0  # fmt: skip
    for s in (0, 1):
        a = load_model(out / f"seed_{s}.npz")
        b = load_model(runs / "transformer" / f"seed_{s}.npz")
        np.testing.assert_allclose(a[0], b[0], rtol=0, atol=1e-6)
    assert json.loads((out / "embed.json").read_text())["layer"] is None


def test_transformer_embeds_another_world(runs):
    other = toy_world(n=40, V=8, d=3, T=2, seed=7)  # same vocabulary, shorter contexts
    F, G = embed(load_run(runs / "transformer"), other)
    assert F.shape == (2, 40, 3) and G.shape == (2, 8, 3) and np.isfinite(F).all()


def test_every_layer(runs, world, transformer_config):
    run = load_run(runs / "transformer")
    depth, width = transformer_config.depth, transformer_config.width
    last, _ = embed(run, world)
    for layer in range(depth + 1):
        H, _ = embed(run, world, layer=layer)
        assert H.shape == (2, world.n, 3 if layer == depth else width)
    np.testing.assert_allclose(H, last, rtol=0, atol=1e-6)
    with pytest.raises(SimidentError, match="must lie in 0..1"):
        embed(run, world, layer=depth + 1)


@pytest.mark.parametrize(
    "label, model, other, message",
    [
        ("table, another world", "table", dict(n=24, V=8, seed=3), "cannot embed the contexts"),
        ("vocabulary", "transformer", dict(n=24, V=9, seed=3), "vocabulary 9"),
        ("longer contexts", "transformer", dict(n=24, V=8, T=5, seed=3), "contexts of 5"),
    ],
)
def test_refusals(label, model, other, message, runs):
    w = toy_world(d=3, **{"T": 3, **other})
    with pytest.raises(SimidentError, match=message):
        embed(load_run(runs / model), w)


def test_cli_refusals_exit_2(runs, tmp_path, capsys):
    args = ["embed", str(runs / "table"), "--out", str(tmp_path / "o"), "--layer", "0"]
    assert main(args) == 2
    assert "has no layers" in capsys.readouterr().err
    assert main(["embed", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert "run directory not found" in capsys.readouterr().err


def _copy_run(src, dst, edit_arrays=None, reseal=False):
    """A copy of run `src` whose seed_0.npz arrays are edited; `reseal` rewrites run.json's
    checksums to match (a writer bug, not a corruption: only finiteness can tell)."""
    import shutil

    from simident.util.integrity import checksums

    shutil.copytree(src, dst)
    path = dst / "seed_0.npz"
    arrays = dict(np.load(path))
    edit_arrays(arrays)
    np.savez(path, **arrays)
    if reseal:
        record = json.loads((dst / "run.json").read_text())
        record["integrity"]["files"]["seed_0.npz"] = checksums(arrays)
        (dst / "run.json").write_text(json.dumps(record))
    return dst


def _nan_param_G(arrays):
    arrays["param/G"] = np.full_like(arrays["param/G"], np.nan)


@pytest.mark.parametrize(
    "label, edit, reseal, message",
    [
        ("NaN weights", _nan_param_G, False, "'param/G' does not match its checksum"),
        ("NaN weights, resealed", _nan_param_G, True, "'param/G' has 24 non-finite value(s)"),
        ("F of other n", lambda a: a.update(F=a["F"][:5]), True, "'F' has shape (5, 3)"),
        ("a dropped weight", lambda a: a.pop("param/G"), False, "arrays differ from its record"),
    ],
)
def test_bad_seed_file_refused_by_embed(runs, tmp_path, capsys, label, edit, reseal, message):
    """`embed` of a run whose seed file is bad exits 2 with one line naming it, writing
    nothing (before: NaN weights gave an all-NaN embedding with exit 0)."""
    bad = _copy_run(runs / "table", tmp_path / "bad", edit, reseal)
    out = tmp_path / "emb"
    args = ["embed", str(bad), "--world", str(runs / "world"), "--out", str(out), "--quiet"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(bad / "seed_0.npz") in err and message in err, err
    assert not out.exists()
