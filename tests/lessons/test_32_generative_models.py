"""Lesson 32: the extragradient step, DDPM's forward noising, the reparameterised sample and KL."""

from harness import *  # noqa: F403
from harness import Wrong

LESSON = "32-generative-models"


def _eg(body: str) -> str:
    return f"""
def extragradient_step(x, y, grad_x, grad_y, lr):
    x_look = x - lr * grad_x(x, y)
    y_look = y + lr * grad_y(x, y)
{body}
"""


def _noise(abar: str, ret: str = "np.sqrt(abar_t) * x0 + np.sqrt(1.0 - abar_t) * noise") -> str:
    return f"""
def noisy_sample(x0, t, betas, noise):
    betas = np.asarray(betas)
    abar_t = {abar}
    return {ret}
"""


_KL_RIGHT = "float(np.mean(-0.5 * np.sum(1 + logvar - mu**2 - np.exp(logvar), axis=1)))"


def _vae(sample: str = "mu + np.exp(0.5 * logvar) * eps", kl: str = _KL_RIGHT) -> str:
    return f"""
def reparameterize(mu, logvar, eps):
    return {sample}


def gaussian_kl(mu, logvar):
    return {kl}
"""


WRONG = [
    Wrong("ex1", "second gradient at the old point (plain GDA)",
          _eg("    return x - lr * grad_x(x, y), y + lr * grad_y(x, y)"),
          expect=("look-ahead point", "not at the old point")),
    Wrong("ex1", "descent and ascent swapped", """
def extragradient_step(x, y, grad_x, grad_y, lr):
    x_look = x + lr * grad_x(x, y)
    y_look = y - lr * grad_y(x, y)
    return x + lr * grad_x(x_look, y_look), y - lr * grad_y(x_look, y_look)
""", expect=("signs are swapped",)),
    Wrong("ex1", "real step taken from the look-ahead point",
          _eg("    return x_look - lr * grad_x(x_look, y_look), "
              "y_look + lr * grad_y(x_look, y_look)"),
          expect=("starts from the old point",)),
    Wrong("ex1", "y descends too", """
def extragradient_step(x, y, grad_x, grad_y, lr):
    x_look = x - lr * grad_x(x, y)
    y_look = y - lr * grad_y(x, y)
    return x - lr * grad_x(x_look, y_look), y - lr * grad_y(x_look, y_look)
""", expect=("maximising player", "ascends")),
    Wrong("ex1", "library's extragradient_step",
          "def extragradient_step(x, y, grad_x, grad_y, lr):\n"
          "    return gen.extragradient_step(x, y, grad_x, grad_y, lr)\n",
          expect=("switched off", "extragradient step yourself")),
    Wrong("ex1", "y's real step uses the old gradient", """
def extragradient_step(x, y, grad_x, grad_y, lr):
    x_look = x - lr * grad_x(x, y)
    y_look = y + lr * grad_y(x, y)
    return x - lr * grad_x(x_look, y_look), y + lr * grad_y(x, y)
""", expect=("look-ahead",)),
    Wrong("ex1", "look-ahead alternates (y sees x~)", """
def extragradient_step(x, y, grad_x, grad_y, lr):
    x_look = x - lr * grad_x(x, y)
    y_look = y + lr * grad_y(x_look, y)
    return x - lr * grad_x(x_look, y_look), y + lr * grad_y(x_look, y_look)
""", expect=("look-ahead", "old point")),
    Wrong("ex2", "alpha_bar as 1 minus a sum", _noise("1.0 - np.sum(betas[:t])"),
          expect=("product",)),
    Wrong("ex2", "square roots missing",
          _noise("np.prod(1.0 - betas[:t])", "abar_t * x0 + (1.0 - abar_t) * noise"),
          expect=("square roots are missing",)),
    Wrong("ex2", "beta_t instead of alpha_bar_t", _noise("1.0 - betas[t - 1]"),
          expect=(r"beta_t \(one step\)",)),
    Wrong("ex2", "product over one step too many", _noise("np.prod(1.0 - betas[:t + 1])"),
          expect=("off by one", "not t \\+ 1")),
    Wrong("ex2", "product over one step too few", _noise("np.prod(1.0 - betas[:t - 1])"),
          expect=("off by one", "not t - 1")),
    Wrong("ex2", "signal and noise weights swapped",
          _noise("np.prod(1.0 - betas[:t])",
                 "np.sqrt(1.0 - abar_t) * x0 + np.sqrt(abar_t) * noise"),
          expect=("swapped",)),
    Wrong("ex2", "product of the betas", _noise("1.0 - np.prod(betas[:t])"),
          expect=(r"\(1 - beta_s\), not the beta_s",)),
    Wrong("ex2", "library's q_sample", """
def noisy_sample(x0, t, betas, noise):
    return gen.q_sample(x0, t, betas, noise)
""", expect=("switched off", "forward noising")),
    Wrong("ex2", "betas window shifted by one (betas[1:t + 1])",
          _noise("np.prod(1.0 - betas[1:t + 1])"), expect=("betas\\[:t\\]",)),
    Wrong("ex2", "noise scaled by the variance 1 - alpha_bar",
          _noise("np.prod(1.0 - betas[:t])", "np.sqrt(abar_t) * x0 + (1.0 - abar_t) * noise"),
          expect=("sqrt\\(1 - alpha_bar\\)",)),
    Wrong("ex3", "KL per row, not averaged",
          _vae(kl="-0.5 * np.sum(1 + logvar - mu**2 - np.exp(logvar), axis=1)"),
          expect=("one number", "averaged over the rows")),
    Wrong("ex3", "KL with log(sigma) for logvar",
          _vae(kl="float(np.mean(-0.5 * np.sum(1 + logvar / 2 - mu**2 - np.exp(logvar), "
                  "axis=1)))"), expect=("not log sigma = logvar / 2",)),
    Wrong("ex3", "sigma = sqrt(logvar)", _vae("mu + np.sqrt(logvar) * eps"),
          expect=("exp\\(logvar / 2\\)",)),
    Wrong("ex3", "variance instead of standard deviation", _vae("mu + np.exp(logvar) * eps"),
          expect=("standard deviation", r"exp\(logvar / 2\)")),
    Wrong("ex3", "logvar used as sigma", _vae("mu + logvar * eps"),
          expect=("log of the variance",)),
    Wrong("ex3", "1/sigma: exp(-logvar/2)", _vae("mu + np.exp(-0.5 * logvar) * eps"),
          expect=("1 / sigma",)),
    Wrong("ex3", "noise left out", _vae("mu + 0 * eps"), expect=("noise term is missing",)),
    Wrong("ex3", "KL with the wrong sign",
          _vae(kl="float(np.mean(0.5 * np.sum(1 + logvar - mu**2 - np.exp(logvar), axis=1)))"),
          expect=("sign is flipped",)),
    Wrong("ex3", "KL without the 1/2",
          _vae(kl="float(np.mean(-np.sum(1 + logvar - mu**2 - np.exp(logvar), axis=1)))"),
          expect=("1/2 is missing",)),
    Wrong("ex3", "KL summed over the rows",
          _vae(kl="float(np.sum(-0.5 * np.sum(1 + logvar - mu**2 - np.exp(logvar), axis=1)))"),
          expect=("sum over the 4 rows", "average over the rows")),
    Wrong("ex3", "KL averaged over the latent dimensions too",
          _vae(kl="float(np.mean(-0.5 * (1 + logvar - mu**2 - np.exp(logvar))))"),
          expect=("averages over the latent dimensions",)),
    Wrong("ex3", "KL with sigma instead of the variance",
          _vae(kl="float(np.mean(-0.5 * np.sum(1 + logvar - mu**2 - np.exp(logvar / 2), "
                  "axis=1)))"),
          expect=("variance exp\\(logvar\\)",)),
    Wrong("ex3", "KL with mu not squared",
          _vae(kl="float(np.mean(-0.5 * np.sum(1 + logvar - mu - np.exp(logvar), axis=1)))"),
          expect=(r"mu\*\*2",)),
    Wrong("ex3", "library's Reparameterize", """
def reparameterize(mu, logvar, eps):
    layer = gen.Reparameterize()
    layer.noise = eps
    return layer(mu, logvar)


def gaussian_kl(mu, logvar):
    return float(np.mean(-0.5 * np.sum(1 + logvar - mu**2 - np.exp(logvar), axis=1)))
""", expect=("switched off", "reparameterised sample")),
    Wrong("ex3", "library's GaussianKL",
          _vae(kl="gen.GaussianKL()(mu, logvar)"),
          expect=("switched off", "Gaussian KL")),
]
