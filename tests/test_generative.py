"""gdlib.generative: game dynamics (rates asserted), the GAN's gradients and mode counter,
DDPM's forward process and sampler, the Wasserstein distances against SciPy, the VAE's
reparameterisation and KL (float64 gradient checks), bad input, GPU parity."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import wasserstein_distance

from gdlib import backend, nn
from gdlib import generative as gen
from gdlib.backend import to_host
from gdlib.nn import check_module
from gdlib.train import train


@pytest.fixture
def float64_layers():
    old = nn.set_default_dtype("float64")
    yield
    nn.set_default_dtype(old)


def fd_grad(loss, p, eps=1e-6):
    """Central differences of ``loss()`` in the entries of the array ``p``, perturbed in place."""
    g = np.zeros(p.shape)
    flat, gflat = p.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = loss()
        flat[i] = old - eps
        minus = loss()
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * eps)
    return g


A = np.array([[2.0, 0.5], [-0.3, 1.0]])        # invertible: the one equilibrium is (0, 0)
X0, Y0 = np.array([1.0, -0.5]), np.array([0.7, 0.3])


# ----------------------------------------------------------------------------
# Game dynamics


def test_simultaneous_gda_grows_by_the_predicted_factor_per_step():
    # f = sigma * x * y: each step rotates and stretches by sqrt(1 + lr^2 sigma^2).
    sigma, lr = 1.5, 0.2
    path = gen.simultaneous_gda(gen.BilinearGame([[sigma]]), [1.0], [0.5], lr, 30)
    dist = gen.BilinearGame([[sigma]]).distance(path)
    np.testing.assert_allclose(dist[1:] / dist[:-1], np.sqrt(1 + lr**2 * sigma**2), rtol=1e-12)
    assert dist[-1] > 2 * dist[0]


def test_simultaneous_gda_per_singular_direction_on_a_matrix_game():
    game = gen.BilinearGame(A)
    U, s, Vt = np.linalg.svd(A, full_matrices=False)
    lr, steps = 0.1, 25
    path = gen.simultaneous_gda(game, X0, Y0, lr, steps)
    x, y = path[:, :2], path[:, 2:]
    for i, sigma in enumerate(s):
        r = np.hypot(x @ U[:, i], y @ Vt[i])               # the i-th singular pair's radius
        np.testing.assert_allclose(r[1:] / r[:-1], np.sqrt(1 + lr**2 * sigma**2), rtol=1e-10)


def test_alternating_stays_bounded_and_does_not_converge():
    game = gen.BilinearGame([[1.0]])
    dist = game.distance(gen.alternating_gda(game, [1.0], [0.0], 0.3, 2000))
    assert dist.max() < 1.3 * dist[0] and dist[1000:].min() > 0.7 * dist[0]


@pytest.mark.parametrize("method", [gen.extragradient, gen.optimistic_gda])
def test_extragradient_and_optimistic_converge_linearly(method):
    game = gen.BilinearGame(A)
    dist = game.distance(method(game, X0, Y0, 0.2, 400))
    slope = np.polyfit(np.arange(100, 401), np.log(dist[100:]), 1)[0]
    assert dist[-1] < 1e-3 * dist[0]
    assert slope < -0.005                                   # a straight line down on a log scale


def test_extragradient_factor_on_the_scalar_game():
    sigma, lr = 1.0, 0.5
    game = gen.BilinearGame([[sigma]])
    dist = game.distance(gen.extragradient(game, [1.0], [1.0], lr, 10))
    q = np.sqrt(1 - lr**2 * sigma**2 + lr**4 * sigma**4)
    np.testing.assert_allclose(dist[1:] / dist[:-1], q, rtol=1e-12)


def test_one_extragradient_step_by_hand():
    # f = x y at (1, 1), lr = 0.5: look-ahead (0.5, 1.5); step from (1, 1) with grads (1.5, 0.5).
    x, y = gen.extragradient_step(np.array([1.0]), np.array([1.0]), lambda x, y: y,
                                  lambda x, y: x, 0.5)
    np.testing.assert_allclose([x[0], y[0]], [0.25, 1.25])


def test_optimistic_first_step_is_a_gda_step():
    game = gen.BilinearGame(A)
    np.testing.assert_allclose(gen.optimistic_gda(game, X0, Y0, 0.1, 1)[1],
                               gen.simultaneous_gda(game, X0, Y0, 0.1, 1)[1])


@pytest.mark.parametrize("kw, match", [
    ({"lr": -0.1}, "lr"), ({"steps": -1}, "steps"), ({"x0": [[1.0]]}, "x0"),
    ({"y0": [np.nan, 1.0]}, "y0"), ({"game": "xy"}, "game"),
])
def test_game_bad_input(kw, match):
    args = {"game": gen.BilinearGame(A), "x0": X0, "y0": Y0, "lr": 0.1, "steps": 3, **kw}
    with pytest.raises((ValueError, TypeError), match=match):
        gen.extragradient(args["game"], args["x0"], args["y0"], args["lr"], args["steps"])


def test_bilinear_game_bad_matrix():
    with pytest.raises(ValueError, match="A"):
        gen.BilinearGame(np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="A"):
        gen.BilinearGame([[np.inf]])


# ----------------------------------------------------------------------------
# Ring data, mode counting, the GAN


def test_ring_and_mode_coverage():
    X, C = gen.ring_of_gaussians(4000, modes=8, radius=2.0, std=0.05, seed=0)
    assert X.shape == (4000, 2) and C.shape == (8, 2)
    np.testing.assert_allclose(np.linalg.norm(C, axis=1), 2.0)
    cov = gen.mode_coverage(X, C, std=0.05, k=20)
    assert cov["modes"] == 8 and cov["high_quality"] > 0.98
    collapsed = np.repeat(C[:1], 500, axis=0) + 0.01
    cov = gen.mode_coverage(collapsed, C, std=0.05, k=20)
    assert cov["modes"] == 1 and cov["high_quality"] == 1.0 and cov["counts"][0] == 500
    far = gen.mode_coverage(np.zeros((50, 2)), C, std=0.05)      # the centre: near no mode
    assert far["modes"] == 0 and far["high_quality"] == 0.0


def test_mode_coverage_bad_input():
    C = np.eye(2)
    with pytest.raises(ValueError, match="samples"):
        gen.mode_coverage(np.ones((5, 3)), C, std=0.1)
    with pytest.raises(ValueError, match="std"):
        gen.mode_coverage(np.ones((5, 2)), C, std=-0.1)
    with pytest.raises(ValueError, match="k"):
        gen.mode_coverage(np.ones((5, 2)), C, std=0.1, k=0)


def test_gan_gradients_are_each_players_own(float64_layers):
    # The discriminator's gradient of its loss, the generator's of the non-saturating loss,
    # against central differences of those losses with the same latent noise.
    gan = gen.GAN(hidden=5, layers=1, seed=3)
    real, _ = gen.ring_of_gaussians(6, seed=1)
    state = gan.rng.bit_generator.state
    _, grads = gan.loss_and_grad(gan.parameters(), real)
    gan.rng.bit_generator.state = state
    z = gan.rng.standard_normal((6, gan.latent_dim))
    bce = nn.BCEWithLogits()

    def d_loss():
        fake = gan.G(z)
        return bce(gan.D(real), np.ones((6, 1))) + bce(gan.D(fake), np.zeros((6, 1)))

    def g_loss():
        return bce(gan.D(gan.G(z)), np.ones((6, 1)))

    for key, p in gan.parameters().items():
        loss = d_loss if key.startswith("D.") else g_loss
        num = fd_grad(loss, p)
        np.testing.assert_allclose(grads[key], num, rtol=1e-5, atol=1e-8, err_msg=key)


def test_gan_trains_through_train_and_covers_modes():
    X, C = gen.ring_of_gaussians(128 * 600, std=0.1, seed=1)
    gan = gen.GAN(seed=0, hidden=32)
    before = gen.mode_coverage(gan.sample(1000, seed=5), C, std=0.1)
    hist = train(gan.parameters(), gan.loss_and_grad, "adam", data=X, batch_size=128,
                 lr=2e-3, betas=(0.5, 0.999), progress=False)
    after = gen.mode_coverage(gan.sample(1000, seed=5), C, std=0.1)
    assert hist.steps == 600 and len(gan.g_loss) == 600
    assert after["high_quality"] > before["high_quality"] + 0.05
    assert after["modes"] >= 3


@pytest.mark.parametrize("kw, match", [({"hidden": 0}, "hidden"),
                                       ({"latent_dim": 1.5}, "latent_dim"),
                                       ({"layers": -1}, "layers")])
def test_gan_bad_input(kw, match):
    with pytest.raises((ValueError, TypeError), match=match):
        gen.GAN(**kw)


def test_mlp_bad_input():
    with pytest.raises(ValueError, match="sizes"):
        gen.mlp([3])
    with pytest.raises(ValueError, match="activation"):
        gen.mlp([3, 2], activation="swish")


# ----------------------------------------------------------------------------
# Diffusion


def test_betas_and_alpha_bars():
    betas = gen.linear_betas(4, 0.1, 0.4)
    np.testing.assert_allclose(betas, [0.1, 0.2, 0.3, 0.4])
    np.testing.assert_allclose(gen.alpha_bars(betas), [0.9, 0.72, 0.504, 0.3024])
    with pytest.raises(ValueError, match="beta_1"):
        gen.linear_betas(4, 0.5, 0.1)
    with pytest.raises(ValueError, match="betas"):
        gen.alpha_bars([0.1, 1.0])


def test_q_sample_values_and_statistics():
    betas = np.array([0.1, 0.2, 0.3, 0.4])
    x0, noise = np.array([[1.0, 2.0]]), np.array([[0.5, -1.0]])
    got = gen.q_sample(x0, np.array([3]), betas, noise)
    np.testing.assert_allclose(got, np.sqrt(0.504) * x0 + np.sqrt(0.496) * noise)
    # Many draws at t: mean sqrt(abar) x0, variance 1 - abar.
    rng = np.random.default_rng(0)
    x0 = np.full((20000, 2), 3.0)
    xt = gen.q_sample(x0, np.full(20000, 2), betas, rng.standard_normal(x0.shape))
    np.testing.assert_allclose(xt.mean(0), np.sqrt(0.72) * 3.0, atol=0.03)
    np.testing.assert_allclose(xt.var(0), 0.28, rtol=0.05)


@pytest.mark.parametrize("t", [0, 5, np.array([1.5])])
def test_q_sample_bad_t(t):
    with pytest.raises(ValueError, match="t must"):
        gen.q_sample(np.ones((1, 2)), t, [0.1, 0.2, 0.3, 0.4], np.ones((1, 2)))


def test_q_sample_bad_noise_shape():
    with pytest.raises(ValueError, match="noise"):
        gen.q_sample(np.ones((2, 2)), np.array([1, 2]), [0.1, 0.2], np.ones((2, 3)))


def test_time_embedding():
    e = gen.time_embedding(np.arange(1, 6), 5, dim=8)
    assert e.shape == (5, 8)
    np.testing.assert_allclose(e[:, :4] ** 2 + e[:, 4:] ** 2, 1.0)
    with pytest.raises(ValueError, match="dim"):
        gen.time_embedding([1], 5, dim=7)


def test_diffusion_loss_gradient(float64_layers):
    d = gen.Diffusion(gen.linear_betas(10, 1e-3, 0.2), hidden=6, layers=1, emb_dim=4, seed=0)
    x0 = np.random.default_rng(1).standard_normal((5, 2))
    state = d.rng.bit_generator.state
    loss, grads = d.loss_and_grad(d.parameters(), x0)
    grads = {k: g.copy() for k, g in grads.items()}

    def f():
        d.rng.bit_generator.state = state          # the same steps t and noise every time
        return d.loss_and_grad(d.parameters(), x0)[0]

    for key, p in d.parameters().items():
        num = fd_grad(f, p)
        np.testing.assert_allclose(grads[key], num, rtol=1e-5, atol=1e-8, err_msg=key)
    assert loss > 0


def test_diffusion_bad_input():
    with pytest.raises(ValueError, match="betas"):
        gen.Diffusion([0.1, -0.2])
    with pytest.raises(ValueError, match="n"):
        gen.Diffusion([0.1, 0.2]).sample(0)


def test_diffusion_trains_and_samples_get_closer():
    X, _ = gen.ring_of_gaussians(2048, modes=4, radius=1.5, std=0.1, seed=0)
    d = gen.Diffusion(gen.linear_betas(30, 1e-4, 0.4), hidden=48, layers=2, seed=0)
    before = gen.sliced_wasserstein(d.sample(500, seed=1)[0], X[:500])
    train(d.parameters(), d.loss_and_grad, "adam", data=X, epochs=12, batch_size=128, lr=3e-3,
          progress=False)
    x, kept = d.sample(500, seed=1, keep=(30, 15, 0))
    after = gen.sliced_wasserstein(x, X[:500])
    assert set(kept) == {30, 15, 0} and x.shape == (500, 2)
    assert after < 0.5 * before


# ----------------------------------------------------------------------------
# Distances


@pytest.mark.parametrize("n, m, seed", [(50, 50, 0), (37, 80, 1), (1, 9, 2)])
def test_wasserstein_1d_matches_scipy(n, m, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.exponential(size=m) + 0.3
    assert gen.wasserstein_1d(a, b) == pytest.approx(wasserstein_distance(a, b), rel=1e-12)


def test_wasserstein_by_hand():
    assert gen.wasserstein_1d([0.0], [1.0]) == pytest.approx(1.0)
    assert gen.wasserstein_1d([0.0, 2.0], [1.0, 1.0]) == pytest.approx(1.0)
    # Point masses d apart in 2-D: the mean of |cos| over directions is 2/pi.
    d = np.array([3.0, 4.0])
    sw = gen.sliced_wasserstein(np.zeros((3, 2)), np.tile(d, (3, 1)), projections=400)
    assert sw == pytest.approx(5.0 * 2 / np.pi, rel=1e-4)
    assert gen.sliced_wasserstein(np.eye(3), np.eye(3)) == 0.0


def test_distance_bad_input():
    with pytest.raises(ValueError, match="a and b"):
        gen.wasserstein_1d([], [1.0])
    with pytest.raises(ValueError, match="a and b"):
        gen.wasserstein_1d([np.nan], [1.0])
    with pytest.raises(ValueError, match="X and Y"):
        gen.sliced_wasserstein(np.ones((3, 2)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="projections"):
        gen.sliced_wasserstein(np.ones((3, 2)), np.ones((3, 2)), projections=0)


# ----------------------------------------------------------------------------
# VAE


def test_reparameterize_gradient(float64_layers):
    rng = np.random.default_rng(0)
    layer = gen.Reparameterize()
    layer.noise = rng.standard_normal((4, 3))
    result = check_module(layer, rng.standard_normal((4, 3)), rng.standard_normal((4, 3)))
    assert result.ok, str(result)
    mu, logvar = np.zeros((2, 3)), np.log(np.full((2, 3), 4.0))
    layer.noise = np.ones((2, 3))
    np.testing.assert_allclose(layer(mu, logvar), 2.0)     # sigma = exp(logvar / 2) = 2
    layer.eval()
    np.testing.assert_allclose(layer(mu + 1, logvar), 1.0)  # the mean in evaluation mode


def test_gaussian_kl_values_and_gradient(float64_layers):
    kl = gen.GaussianKL()
    assert kl(np.zeros((3, 2)), np.zeros((3, 2))) == 0.0
    # One row, mu = 1, sigma^2 = e: -1/2 (1 + 1 - 1 - e) = (e - 1) / 2.
    assert kl(np.ones((1, 1)), np.ones((1, 1))) == pytest.approx((np.e - 1) / 2)
    rng = np.random.default_rng(1)
    result = check_module(kl, rng.standard_normal((5, 2)), rng.standard_normal((5, 2)))
    assert result.ok, str(result)


def test_vae_gradient_check(float64_layers):
    vae = gen.VAE(6, n_latent=2, hidden=5, seed=0)
    x = np.random.default_rng(2).uniform(size=(4, 6))
    vae.sampler.noise = np.random.default_rng(3).standard_normal((4, 2))
    loss, grads = vae.loss_and_grad(vae.parameters(), x)
    grads = {k: g.copy() for k, g in grads.items()}
    for key, p in vae.parameters().items():
        num = fd_grad(lambda: vae.forward(x), p)
        np.testing.assert_allclose(grads[key], num, rtol=1e-5, atol=1e-8, err_msg=key)
    assert loss == pytest.approx(vae.last["reconstruction"] + vae.last["kl"])


def test_vae_trains_on_digits():
    from sklearn.datasets import load_digits

    X = load_digits().data[:400] / 16.0
    vae = gen.VAE(64, n_latent=2, hidden=32, seed=0)
    hist = train(vae.parameters(), vae.loss_and_grad, "adam", data=X, epochs=6, batch_size=50,
                 lr=3e-3, progress=False)
    assert hist.epoch_loss[-1] < 0.8 * hist.epoch_loss[0]
    mu, logvar = vae.encode(X[:5])
    assert mu.shape == (5, 2) and vae.decode(np.zeros((3, 2))).shape == (3, 64)


def test_vae_and_layers_bad_input():
    with pytest.raises(ValueError, match="x must"):
        gen.VAE(6).forward(np.ones((2, 5)))
    with pytest.raises(ValueError, match="n_latent"):
        gen.VAE(6, n_latent=0)
    with pytest.raises(ValueError, match="mu"):
        gen.Reparameterize()(np.ones((2, 2)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="mu"):
        gen.GaussianKL()(np.ones((2, 2)), np.ones((2, 3)))
    with pytest.raises(RuntimeError, match="forward"):
        gen.GaussianKL().backward()


# ----------------------------------------------------------------------------
# GPU


@pytest.mark.gpu
def test_gpu_parity_of_the_diffusion_loss_and_vae():
    if not backend.gpu_available():
        pytest.skip("no usable GPU")
    x0 = np.random.default_rng(1).standard_normal((8, 2))
    out = {}
    for name in ("numpy", "cupy"):
        backend.use(name)
        try:
            d = gen.Diffusion(gen.linear_betas(10, 1e-3, 0.2), hidden=6, layers=1, seed=0,
                              dtype="float64")
            loss, grads = d.loss_and_grad(d.parameters(), x0)
            vae = gen.VAE(6, hidden=5, seed=0, dtype="float64")
            vae.sampler.noise = np.ones((4, 2))
            vloss, vgrads = vae.loss_and_grad(vae.parameters(), np.full((4, 6), 0.3))
            out[name] = (loss, {k: to_host(v) for k, v in grads.items()}, vloss,
                         {k: to_host(v) for k, v in vgrads.items()})
        finally:
            backend.use("numpy")
    assert out["numpy"][0] == pytest.approx(out["cupy"][0], rel=1e-10)
    assert out["numpy"][2] == pytest.approx(out["cupy"][2], rel=1e-10)
    for a, b in ((1, 1), (3, 3)):
        for k in out["numpy"][a]:
            np.testing.assert_allclose(out["numpy"][a][k], out["cupy"][b][k], rtol=1e-9)
