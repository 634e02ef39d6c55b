"""gdlib.rl: returns-to-go by hand, REINFORCE's gradient checked in float64, rollouts seeded."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from gdlib import backend, nn, rl
from gdlib.gradcheck import numerical_gradient


def test_returns_to_go_by_hand():
    np.testing.assert_allclose(rl.returns_to_go([1.0, 2.0, 3.0], gamma=1.0), [6.0, 5.0, 3.0])
    # G_2 = 3, G_1 = 2 + 0.5 * 3 = 3.5, G_0 = 1 + 0.5 * 3.5 = 2.75
    np.testing.assert_allclose(rl.returns_to_go([1.0, 2.0, 3.0], gamma=0.5), [2.75, 3.5, 3.0])
    np.testing.assert_allclose(rl.returns_to_go([4.0, -1.0], gamma=0.0), [4.0, -1.0])
    assert rl.returns_to_go([], 0.9).shape == (0,)
    r = np.random.default_rng(0).normal(size=30)
    want = [sum(0.9 ** (k - t) * r[k] for k in range(t, 30)) for t in range(30)]
    np.testing.assert_allclose(rl.returns_to_go(r, 0.9), want, rtol=1e-12)


def test_reinforce_loss_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(7, 3))
    a = rng.integers(0, 3, size=7)
    w = rng.normal(size=7)
    loss, d = rl.reinforce_loss(z, a, w)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    assert loss == pytest.approx(-np.mean(w * logp[np.arange(7), a]), rel=1e-12)
    num = numerical_gradient(lambda zz: rl.reinforce_loss(zz.reshape(7, 3), a, w)[0],
                             z.ravel().copy())
    np.testing.assert_allclose(d.ravel(), num, rtol=1e-6, atol=1e-9)


def test_policy_gradient_through_a_network_in_float64():
    """The surrogate's gradient for the network's weights, by backward, against differences."""
    rng = np.random.default_rng(2)
    model = nn.Sequential(nn.Dense(4, 5, rng=0, dtype="float64"), nn.Tanh(),
                          nn.Dense(5, 2, rng=1, dtype="float64"))
    X = rng.normal(size=(9, 4))
    a = rng.integers(0, 2, size=9)
    w = rng.normal(size=9)
    model.zero_grad()
    _, d = rl.reinforce_loss(model(X), a, w)
    model.backward(d)
    for name, p in model.parameters().items():
        def f(flat, p=p):
            old = p.copy()
            p[...] = flat.reshape(p.shape)
            out = rl.reinforce_loss(model(X), a, w)[0]
            p[...] = old
            return out
        num = numerical_gradient(f, p.ravel().copy())
        np.testing.assert_allclose(model.gradients()[name].ravel(), num, rtol=1e-5, atol=1e-9,
                                   err_msg=name)


def test_policy_gradient_is_unbiased_on_a_bandit():
    """E[r (onehot(a) - pi)] over a ~ pi equals the exact gradient of sum_a pi_a mu_a."""
    mu = np.array([1.0, 2.0, 0.5])
    theta = np.array([0.2, -0.1, 0.4])
    pi = np.exp(theta) / np.exp(theta).sum()
    exact = pi * (mu - pi @ mu)                     # d/dtheta of pi . mu
    estimate = np.zeros(3)
    for arm in range(3):                            # the expectation, summed exactly
        _, d = rl.reinforce_loss(theta[None], np.array([arm]), np.array([mu[arm]]))
        estimate += pi[arm] * (-d[0])
    np.testing.assert_allclose(estimate, exact, rtol=1e-12)


def test_sample_softmax_frequencies():
    rng = np.random.default_rng(0)
    logits = np.log(np.array([[0.2, 0.5, 0.3]])).repeat(20000, axis=0)
    a = rl.sample_softmax(logits, rng)
    np.testing.assert_allclose(np.bincount(a, minlength=3) / 20000, [0.2, 0.5, 0.3], atol=0.01)


def test_advantages_and_bandit():
    np.testing.assert_allclose(rl.advantages([1.0, 2.0, 3.0], normalize=False), [-1, 0, 1])
    adv = rl.advantages([1.0, 2.0, 5.0])
    assert abs(adv.mean()) < 1e-12 and adv.std() == pytest.approx(1.0, rel=1e-6)
    np.testing.assert_allclose(rl.advantages([1.0, 2.0], None, False), [1.0, 2.0])
    bandit = rl.GaussianBandit([0.1, 0.9, 0.4], std=0.0)
    assert bandit.best_arm == 1
    np.testing.assert_allclose(bandit.pull(np.array([2, 1]), np.random.default_rng(0)),
                               [0.4, 0.9])


def _policy_net(seed=0):
    return nn.Sequential(nn.Dense(4, 8, rng=seed, dtype="float64"), nn.Tanh(),
                         nn.Dense(8, 2, rng=seed + 1, dtype="float64"))


def test_rollout_is_seeded_and_follows_the_gymnasium_api():
    envs = [gym.make("CartPole-v1") for _ in range(3)]

    def pol(obs):
        return (obs[:, 2] > 0).astype(int)      # push towards the lean

    a = rl.rollout(envs, pol, seed=5)
    b = rl.rollout(envs, pol, seed=5)
    assert len(a) == 3
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.observations, y.observations)
        assert x.observations.shape == (len(x), 4) and x.total == len(x)
    cut = rl.rollout(envs[0], pol, seed=5, max_steps=7)
    assert len(cut[0]) == 7
    np.testing.assert_array_equal(cut[0].observations, a[0].observations[:7])


def test_reinforce_runs_through_train_and_is_reproducible():
    envs = [gym.make("CartPole-v1") for _ in range(4)]
    runs = []
    for _ in range(2):
        model = _policy_net()
        returns, hist = rl.reinforce(model, envs, iterations=3, lr=0.01, seed=3, progress=False)
        runs.append((returns, hist.loss, model.parameters()["layers.0.W"].copy()))
    assert runs[0][0].shape == (3, 4)
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][2], runs[1][2])
    np.testing.assert_allclose(runs[0][1], -runs[0][0].mean(axis=1))   # loss = -mean return
    ev = rl.evaluate(envs, model, episodes=6, seed=100)
    assert ev.shape == (6,) and np.all(ev >= 1)


def test_bad_input_names_the_parameter():
    with pytest.raises(ValueError, match="gamma"):
        rl.returns_to_go([1.0], gamma=1.5)
    with pytest.raises(ValueError, match="rewards must be 1-D"):
        rl.returns_to_go(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="actions"):
        rl.reinforce_loss(np.zeros((2, 3)), np.array([0, 3]), np.ones(2))
    with pytest.raises(ValueError, match="weights"):
        rl.reinforce_loss(np.zeros((2, 3)), np.array([0, 1]), np.ones(3))
    with pytest.raises(TypeError, match="rng"):
        rl.sample_softmax(np.zeros((2, 2)), 0)
    with pytest.raises(ValueError, match="baseline"):
        rl.advantages([1.0], baseline="median")
    with pytest.raises(TypeError, match="Gymnasium"):
        rl.rollout([object()], lambda o: o)
    with pytest.raises(ValueError, match="one int per row"):
        rl.rollout(gym.make("CartPole-v1"), lambda o: np.zeros((1, 2), dtype=int), seed=0)
    with pytest.raises(ValueError, match="arms"):
        rl.GaussianBandit([1.0, 2.0]).pull(np.array([2]), np.random.default_rng(0))


def test_running_baseline_by_hand():
    adv, b = rl.running_baseline([4.0, 6.0, 5.0], alpha=0.25)
    np.testing.assert_allclose(adv, [4.0, 5.0, 2.75])   # b: 0 -> 1 -> 2.25 -> 2.9375
    assert b == pytest.approx(2.9375)
    adv2, b2 = rl.running_baseline(np.array([[1.0, 2.0], [3.0, 4.0]]), 0.5, b0=np.array([1.0, 0.0]))
    np.testing.assert_allclose(adv2, [[0.0, 2.0], [2.0, 3.0]])
    np.testing.assert_allclose(b2, [2.0, 2.5])
    with pytest.raises(ValueError, match="alpha"):
        rl.running_baseline([1.0], alpha=2.0)


@pytest.mark.gpu
@pytest.mark.skipif(not backend.gpu_available(),
                    reason="no usable GPU (gdlib.backend.gpu_available() is False)")
def test_reinforce_loss_agrees_on_cupy_and_numpy():
    rng = np.random.default_rng(4)
    z, a, w = rng.normal(size=(6, 3)), rng.integers(0, 3, size=6), rng.normal(size=6)
    previous = backend.device()
    out = {}
    try:
        for dev in ("cpu", "gpu"):
            backend.use(dev)
            loss, d = rl.reinforce_loss(backend.asarray(z), a, w)
            out[dev] = (loss, backend.to_host(d))
    finally:
        backend.use(previous)
    assert out["gpu"][0] == pytest.approx(out["cpu"][0], rel=1e-12)
    np.testing.assert_allclose(out["gpu"][1], out["cpu"][1], rtol=1e-12, atol=1e-15)
