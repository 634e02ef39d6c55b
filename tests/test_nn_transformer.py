"""gdlib.nn.transformer and gdlib.data.chars: gradients, causality, references, bad input."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import pytest

from gdlib import backend, optim
from gdlib.backend import to_host, xp
from gdlib.data.chars import MACBETH_SHA256, CharVocab, load_macbeth, random_windows
from gdlib.nn import check_module
from gdlib.nn.transformer import (
    GPT,
    CausalSelfAttention,
    OptimizerGroups,
    TransformerBlock,
    causal_attention,
    causal_mask,
    merge_heads,
    muon_adamw,
    muon_param_names,
    split_heads,
    train_lm,
)

FIXTURE = Path(__file__).parent / "fixtures" / "transformer_torch.npz"
N, T, D, H, V = 2, 5, 8, 2, 11


def _x(seed=0, shape=(N, T, D)):
    return np.random.default_rng(seed).standard_normal(shape)


# ----------------------------------------------------------------------------
# Gradient checks in float64 (atol tiny, so every entry is compared relatively)


def _check(module, *inputs):
    result = check_module(module, *inputs)
    assert result.ok, str(result)
    grads = module.gradients()
    # every gradient but the key bias's (exactly 0: a softmax ignores a common shift) is alive
    alive = {k: float(np.abs(to_host(g)).max()) for k, g in grads.items()}
    assert all(v > 1e-6 for k, v in alive.items() if not k.endswith("qkv.b")), alive
    _directional(module, *inputs)
    return result


def _directional(module, *inputs, eps=1e-6):
    """All parameters moved at once along a random direction: one number, compared tightly."""
    out = module.forward(*inputs)
    dout = np.random.default_rng(99).standard_normal(out.shape)
    module.zero_grad()
    module.forward(*inputs)
    module.backward(dout)
    params, grads = module.parameters(), module.gradients()
    u = {k: np.random.default_rng(i).standard_normal(p.shape) for i, (k, p) in
         enumerate(params.items())}
    analytic = sum(float((grads[k] * u[k]).sum()) for k in params)

    def value(sign):
        for k, p in params.items():
            p += sign * eps * u[k]
        v = float((module.forward(*inputs) * dout).sum())
        for k, p in params.items():
            p -= sign * eps * u[k]
        return v

    numeric = (value(1) - value(-1)) / (2 * eps)
    assert abs(analytic - numeric) <= 1e-7 * max(1.0, abs(numeric)), (analytic, numeric)


def test_attention_gradients():
    _check(CausalSelfAttention(D, H, rng=0, dtype="float64"), _x())


def test_block_gradients():
    _check(TransformerBlock(D, H, mlp_ratio=2, rng=1, dtype="float64"), _x(1))


@pytest.mark.parametrize("tie", [False, True])
def test_gpt_gradients(tie):
    model = GPT(V, 6, d_model=D, n_heads=H, n_layers=2, mlp_ratio=2, tie_weights=tie, rng=2,
                dtype="float64")
    for p in model.parameters().values():      # GPT's 0.02 init makes tiny gradients
        p[...] += 0.3 * np.random.default_rng(3).standard_normal(p.shape)
    ids = np.random.default_rng(4).integers(0, V, size=(N, T))
    _check(model, ids)
    assert ("head.W" in model.parameters()) is not tie


# ----------------------------------------------------------------------------
# Attention against independent references


def _loop_attention(q, k, v):
    """Position by position, with Python loops: the definition, nothing shared."""
    out = np.zeros_like(q)
    *lead, T_, d = q.shape
    for idx in np.ndindex(*lead):
        for t in range(T_):
            s = np.array([q[idx][t] @ k[idx][j] / math.sqrt(d) for j in range(t + 1)])
            a = np.exp(s - s.max())
            a /= a.sum()
            out[idx][t] = sum(a[j] * v[idx][j] for j in range(t + 1))
    return out


def test_causal_attention_matches_a_loop_over_positions():
    rng = np.random.default_rng(5)
    q, k, v = (rng.standard_normal((2, 3, 6, 4)) for _ in range(3))
    out, w = causal_attention(q, k, v)
    np.testing.assert_allclose(out, _loop_attention(q, k, v), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-12)
    assert np.all(w[..., np.triu_indices(6, 1)[0], np.triu_indices(6, 1)[1]] == 0)


def test_layer_matches_loop_with_its_weights():
    layer = CausalSelfAttention(D, H, rng=6, dtype="float64")
    x = _x(6)
    y = layer.forward(x)
    p = layer.parameters()
    qkv = x @ p["qkv.W"] + p["qkv.b"]
    q, k, v = (qkv[..., i * D:(i + 1) * D] for i in range(3))
    heads = [_loop_attention(q[..., h * 4:(h + 1) * 4], k[..., h * 4:(h + 1) * 4],
                             v[..., h * 4:(h + 1) * 4]) for h in range(H)]
    ref = np.concatenate(heads, axis=-1) @ p["proj.W"] + p["proj.b"]
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)


def test_against_torch_scaled_dot_product_attention():
    """torch 2.13's scaled_dot_product_attention(is_causal=True), forward and backward."""
    f = np.load(FIXTURE)
    out, w = causal_attention(f["q"], f["k"], f["v"])
    np.testing.assert_allclose(out, f["out"], rtol=1e-10, atol=1e-12)
    # the backward formulas of the module docstring give torch's gradients
    d = f["dout"]
    dv = w.swapaxes(-1, -2) @ d
    dw = d @ f["v"].swapaxes(-1, -2)
    ds = w * (dw - (w * dw).sum(-1, keepdims=True)) / 2.0    # sqrt(d_k) = 2
    np.testing.assert_allclose(dv, f["dv"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ds @ f["k"], f["dq"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ds.swapaxes(-1, -2) @ f["q"], f["dk"], rtol=1e-10, atol=1e-12)


def test_layer_against_torch():
    """A whole 2-head layer with torch's weights: output and every gradient."""
    f = np.load(FIXTURE)
    layer = CausalSelfAttention(8, 2, dtype="float64")
    for name in ("qkv", "proj"):
        getattr(layer, name).params["W"][...] = f[f"{name}_W"]
        getattr(layer, name).params["b"][...] = f[f"{name}_b"]
    y = layer.forward(f["x"])
    np.testing.assert_allclose(y, f["layer_y"], rtol=1e-10, atol=1e-12)
    layer.zero_grad()
    dx = layer.backward(f["layer_dout"])
    np.testing.assert_allclose(dx, f["layer_dx"], rtol=1e-10, atol=1e-12)
    g = layer.gradients()
    for name in ("qkv", "proj"):
        np.testing.assert_allclose(g[f"{name}.W"], f[f"layer_d{name}_W"], rtol=1e-10,
                                   atol=1e-12)
        np.testing.assert_allclose(g[f"{name}.b"], f[f"layer_d{name}_b"], rtol=1e-10,
                                   atol=1e-12)


def test_split_and_merge_heads():
    x = _x(7)
    s = split_heads(x, H)
    assert s.shape == (N, H, T, D // H)
    for h in range(H):
        np.testing.assert_array_equal(s[:, h], x[..., h * (D // H):(h + 1) * (D // H)])
    np.testing.assert_array_equal(merge_heads(s), x)


def test_mask():
    m = causal_mask(4, "float64")
    assert np.all(m[np.tril_indices(4)] == 0) and np.all(np.isneginf(m[np.triu_indices(4, 1)]))


# ----------------------------------------------------------------------------
# Causality


def test_attention_output_at_t_ignores_later_inputs():
    layer = CausalSelfAttention(D, H, rng=8, dtype="float64")
    x = _x(8)
    y = layer.forward(x).copy()
    for t in range(T - 1):
        x2 = x.copy()
        x2[:, t + 1:] = _x(9)[:, t + 1:]
        y2 = layer.forward(x2)
        np.testing.assert_array_equal(y2[:, :t + 1], y[:, :t + 1])
        assert not np.allclose(y2[:, t + 1:], y[:, t + 1:])


def test_gpt_logits_at_t_ignore_later_tokens():
    model = GPT(V, 8, d_model=D, n_heads=H, n_layers=2, rng=9, dtype="float64")
    ids = np.random.default_rng(10).integers(0, V, size=(3, 8))
    logits = model.forward(ids).copy()
    for t in range(7):
        ids2 = ids.copy()
        ids2[:, t + 1:] = (ids[:, t + 1:] + 1) % V
        np.testing.assert_allclose(model.forward(ids2)[:, :t + 1], logits[:, :t + 1],
                                   rtol=0, atol=1e-13)


# ----------------------------------------------------------------------------
# Generation


def test_generate_is_seeded_and_crops_the_context():
    model = GPT(V, 4, d_model=D, n_heads=H, n_layers=1, rng=11)
    a = model.generate([1, 2, 3], 10, temperature=0.8, rng=0)
    b = model.generate([1, 2, 3], 10, temperature=0.8, rng=0)
    assert a.shape == (13,) and np.array_equal(a, b) and list(a[:3]) == [1, 2, 3]
    assert a.min() >= 0 and a.max() < V
    greedy = model.generate([1], 6, temperature=1e-3, rng=1)
    again = model.generate([1], 6, temperature=1e-3, rng=2)
    assert np.array_equal(greedy, again)          # nearly argmax: the seed does not matter
    top1 = model.generate([1], 6, top_k=1, rng=3)
    assert np.array_equal(top1, greedy)


# ----------------------------------------------------------------------------
# Two optimizers


def test_muon_gets_the_hidden_matrices_only():
    model = GPT(V, 6, d_model=D, n_heads=H, n_layers=2, rng=12)
    names = muon_param_names(model.parameters())
    assert names == [f"blocks.{i}.{k}.W" for i in range(2)
                     for k in ("attn.qkv", "attn.proj", "fc1", "fc2")]
    opt = muon_adamw(model.parameters(), lr=0.02, adamw_lr=3e-3)
    muon, adamw = opt.optimizers
    assert isinstance(muon, optim.Muon) and isinstance(adamw, optim.AdamW)
    assert len(muon.params) == 8 and len(opt.params) == len(model.parameters())
    opt.lr = 0.5
    assert muon.lr == pytest.approx(0.01) and adamw.lr == pytest.approx(1.5e-3)


def test_groups_step_all_or_nothing():
    w = {"a": np.ones((3, 3)), "b": np.ones(3)}
    opt = OptimizerGroups(w, [(["a"], lambda p: optim.SGD(p, lr=0.1)),
                              (["b"], lambda p: optim.SGD(p, lr=0.1))])
    before = {k: v.copy() for k, v in w.items()}
    with pytest.raises(ValueError):
        opt.step({"a": np.ones((3, 3)), "b": np.array([1.0, np.nan, 1.0])})
    for k in w:
        np.testing.assert_array_equal(w[k], before[k])
    assert opt.t == 0
    opt.step({"a": np.ones((3, 3)), "b": np.ones(3)})
    np.testing.assert_allclose(w["a"], 0.9)
    assert opt.t == 1


def _muon_adamw_run(steps, state=None, seed=3):
    """Muon + AdamW on a small dict of parameters; optionally restored from ``state``."""
    rng = np.random.default_rng(seed)
    w = {"blocks.0.fc1.W": rng.standard_normal((6, 4)), "head.W": rng.standard_normal((4, 3)),
         "ln.gamma": np.ones(4)}
    opt = muon_adamw(w, lr=0.02, adamw_lr=3e-3, weight_decay=0.01)
    if state is not None:
        for k, v in state["params"].items():
            w[k][...] = v
        opt.load_state_dict(state["opt"])
    for _ in range(steps):
        opt.lr = 0.5 + 0.1 * opt.t                    # a schedule's factor
        grad_rng = np.random.default_rng(100 + opt.t)  # the same gradients at the same step
        opt.step({k: grad_rng.standard_normal(v.shape) for k, v in w.items()})
    return w, opt


def test_groups_state_dict_round_trip():
    w_ref, _ = _muon_adamw_run(6)
    w, opt = _muon_adamw_run(3)
    saved = {"params": {k: v.copy() for k, v in w.items()}, "opt": opt.state_dict()}
    assert saved["opt"]["keys"] == [k for k in opt._keys]
    w2, opt2 = _muon_adamw_run(3, state=saved)
    assert opt2.t == 6 and opt2.lr == pytest.approx(0.5 + 0.1 * 5)
    for k in w_ref:
        np.testing.assert_array_equal(w2[k], w_ref[k])


def test_groups_load_state_dict_refuses_and_changes_nothing():
    w, opt = _muon_adamw_run(2)
    good = opt.state_dict()
    _, other = _muon_adamw_run(1)
    before = other.state_dict()
    bad_state = {**good, "groups": [good["groups"][0],
                                    {**good["groups"][1], "t": -1}]}
    for bad, match in [(dict(good, keys=[["x"], good["keys"][1]]), "group 0 was saved"),
                       (dict(good, groups=good["groups"][:1]), "number of groups"),
                       (dict(good, lr=float("nan")), "lr"),
                       (bad_state, r"state_dict\['t'\]"),
                       ({k: v for k, v in good.items() if k != "lr"}, "lacks")]:
        with pytest.raises((ValueError, KeyError, TypeError), match=match):
            other.load_state_dict(bad)
        after = other.state_dict()
        assert after["lr"] == before["lr"] and [g["t"] for g in after["groups"]] == [1, 1]
        for g_after, g_before in zip(after["groups"], before["groups"]):
            for s_after, s_before in zip(g_after["state"], g_before["state"]):
                for key in s_before:
                    np.testing.assert_array_equal(s_after[key], s_before[key])


def test_groups_bad_input():
    w = {"a": np.ones((3, 3)), "b": np.ones(3)}
    sgd = lambda p: optim.SGD(p, lr=0.1)  # noqa: E731
    with pytest.raises(ValueError, match="no group holds"):
        OptimizerGroups(w, [(["a"], sgd)])
    with pytest.raises(ValueError, match="'a' is in groups"):
        OptimizerGroups(w, [(["a"], sgd), (["a", "b"], sgd)])
    with pytest.raises(KeyError, match="'c'"):
        OptimizerGroups(w, [(["a", "b", "c"], sgd)])
    with pytest.raises(TypeError, match="params must be a dict"):
        OptimizerGroups([np.ones(2)], [(["a"], sgd)])
    opt = OptimizerGroups(w, [(["a", "b"], sgd)])
    with pytest.raises(KeyError, match="no gradient"):
        opt.step({"a": np.ones((3, 3))})
    with pytest.raises(ValueError, match="lr"):
        opt.lr = -1.0


# ----------------------------------------------------------------------------
# Bad input


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="n_heads=3 must divide d_model=8"):
        CausalSelfAttention(8, 3)
    with pytest.raises(ValueError, match="d_model"):
        CausalSelfAttention(0, 1)
    layer = CausalSelfAttention(8, 2)
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones((1, 2, 8)))
    with pytest.raises(ValueError, match=r"x must have shape \(N, T, 8\)"):
        layer.forward(np.ones((2, 8)))
    y = layer.forward(np.ones((1, 3, 8), dtype=np.float32))
    with pytest.raises(ValueError, match="dout must have the shape"):
        layer.backward(np.ones((1, 2, 8), dtype=np.float32))
    assert y.shape == (1, 3, 8)
    model = GPT(V, 4, d_model=8, n_heads=2, n_layers=1)
    with pytest.raises(ValueError, match="block_size is 4"):
        model.forward(np.zeros((1, 5), dtype=int))
    with pytest.raises(ValueError, match="outside the vocabulary"):
        model.forward(np.full((1, 3), V))
    with pytest.raises(TypeError, match="integer token ids"):
        model.forward(np.zeros((1, 3)))
    with pytest.raises(TypeError, match="tie_weights"):
        GPT(V, 4, tie_weights="yes")
    with pytest.raises(ValueError, match="temperature"):
        model.generate([1], 3, temperature=0.0)
    with pytest.raises(ValueError, match="n"):
        model.generate([1], -1)
    with pytest.raises(ValueError, match="prompt"):
        model.generate([], 3)
    with pytest.raises(RuntimeError, match="before forward"):
        GPT(V, 4, d_model=8, n_heads=2, n_layers=1).backward(np.ones((1, 2, V)))


# ----------------------------------------------------------------------------
# The shipped text and its batches


def test_macbeth_is_shipped_intact():
    text = load_macbeth()
    assert hashlib.sha256(text.encode("ascii")).hexdigest() == MACBETH_SHA256
    assert len(text) == 103427 and text.startswith("MACBETH")
    vocab = CharVocab(text)
    assert len(vocab) == 67
    assert vocab.decode(vocab.encode(text[:500])) == text[:500]


def test_random_windows():
    ids = np.arange(100)
    x, y = random_windows(ids, 4, 8, rng=0)
    assert x.shape == y.shape == (4, 8)
    np.testing.assert_array_equal(y, x + 1)            # the next character
    x2, _ = random_windows(ids, 4, 8, rng=0)
    np.testing.assert_array_equal(x, x2)
    with pytest.raises(ValueError, match="block_size"):
        random_windows(ids[:5], 2, 8)
    with pytest.raises(ValueError, match="batch_size"):
        random_windows(ids, 0, 8)
    with pytest.raises(ValueError, match="'#' is not in the vocabulary"):
        CharVocab("abc").encode("a#")
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        CharVocab("abc").decode([3])


def test_train_lm_learns_and_stops_at_target():
    text = load_macbeth()[:20000]
    vocab = CharVocab(text)
    ids = vocab.encode(text)
    model = GPT(len(vocab), 16, d_model=32, n_heads=2, n_layers=1, rng=0)
    res = train_lm(model, ids[:18000], ids[18000:], lambda p: muon_adamw(p, lr=0.02,
                   adamw_lr=1e-2), steps=60, batch_size=16, eval_every=10, target=3.0)
    assert res["val_loss"][0] < math.log(len(vocab))       # better than uniform after 10 steps
    assert res["steps_to_target"] is not None and res["val_loss"][-1] <= 3.0
    assert len(res["history"].loss) == res["steps_to_target"] < 60


# ----------------------------------------------------------------------------
# NumPy / CuPy parity


@pytest.mark.gpu
def test_gpu_parity_gpt():
    ids = np.random.default_rng(13).integers(0, V, size=(N, T))
    results = {}
    for device in ("cpu", "gpu"):
        previous = backend.device()
        backend.use(device)
        try:
            model = GPT(V, 6, d_model=D, n_heads=H, n_layers=2, rng=14, dtype="float64")
            logits = model.forward(backend.asarray(ids))
            model.backward(xp.ones_like(logits))
            results[device] = [to_host(logits)] + [to_host(g) for g in
                                                    model.gradients().values()]
        finally:
            backend.use(previous)
    for a, b in zip(results["cpu"], results["gpu"]):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
