"""Lesson 29: layer normalisation forward, batch normalisation backward, the equilibrium norm."""

from harness import *  # noqa: F403
from harness import Wrong

LESSON = "29-normalisation"


def _ln(body: str) -> str:
    return f"""
def layer_norm(x, gamma, beta, eps=1e-5):
{body}
"""


def _ln_norm(var: str, axis: int = -1, centre: str = " - mu",
             denominator: str = "np.sqrt(var + eps)", affine: str = " * gamma + beta") -> str:
    """A layer_norm with one slip: the variance, the axis, the centring, eps or the affine."""
    return _ln(f"""
    mu = x.mean(axis={axis}, keepdims=True)
    var = {var}
    return (x{centre}) / {denominator}{affine}""")


def _bn(dx: str, dgamma: str = "(dout * x_hat).sum(axis=0)", dbeta: str = "dout.sum(axis=0)",
        var: str = "x.var(axis=0)") -> str:
    return f"""
def batchnorm_backward(dout, x, gamma, eps=1e-5):
    mu = x.mean(axis=0)
    var = {var}
    s = np.sqrt(var + eps)
    x_hat = (x - mu) / s
    g = dout * gamma
    return {dx}, {dgamma}, {dbeta}
"""


_DX = "(g - g.mean(axis=0) - x_hat * (g * x_hat).mean(axis=0)) / s"


def _eq(norm_sq: str, eff: str = "lr / norm_sq") -> str:
    return f"""
def equilibrium(lr, weight_decay, unit_grad_sq):
    norm_sq = {norm_sq}
    return float(norm_sq), float({eff})
"""


_NORM = "np.sqrt(lr * unit_grad_sq / (weight_decay * (2 - lr * weight_decay)))"

WRONG = [
    # Exercise 1: layer normalisation forward
    Wrong("ex1", "normalised over the batch axis (batch norm)",
          _ln_norm("x.var(axis=0, keepdims=True)", axis=0), expect=("over the batch", "axis=-1")),
    Wrong("ex1", "unbiased variance", _ln_norm("x.var(axis=-1, keepdims=True, ddof=1)"),
          expect=("unbiased variance",)),
    Wrong("ex1", "eps outside the square root",
          _ln_norm("x.var(axis=-1, keepdims=True)", denominator="(np.sqrt(var) + eps)"),
          expect=("outside the square root",)),
    Wrong("ex1", "standard deviation under the square root",
          _ln_norm("x.std(axis=-1, keepdims=True)"),
          expect=("standard deviation under the square root",)),
    Wrong("ex1", "mean not subtracted", _ln_norm("x.var(axis=-1, keepdims=True)", centre=""),
          expect=("mean is not subtracted",)),
    Wrong("ex1", "gamma and beta swapped",
          _ln_norm("x.var(axis=-1, keepdims=True)", affine=" * beta + gamma"),
          expect=("swapped",)),
    Wrong("ex1", "no gain and shift", _ln_norm("x.var(axis=-1, keepdims=True)", affine=""),
          expect=("scale by gamma and shift by beta",)),
    Wrong("ex1", "library's LayerNorm", _ln("""
    layer = nn.LayerNorm(x.shape[-1], eps=eps)
    layer.params["gamma"][...] = gamma
    layer.params["beta"][...] = beta
    return layer(x)"""),
          expect=("switched off", "layer normalisation forward pass yourself")),
    # Exercise 2: batch normalisation backward
    Wrong("ex2", "naive backward: mean terms missing", _bn("g / s"),
          expect=("two mean-of-gradient terms",)),
    Wrong("ex2", "the x_hat mean term missing", _bn("(g - g.mean(axis=0)) / s"),
          expect=("through the variance",)),
    Wrong("ex2", "the mean(g) term missing", _bn("(g - x_hat * (g * x_hat).mean(axis=0)) / s"),
          expect=("through the mean",)),
    Wrong("ex2", "gamma left out of dx",
          _bn("(dout - dout.mean(axis=0) - x_hat * (dout * x_hat).mean(axis=0)) / s"),
          expect=("multiply by gamma",)),
    Wrong("ex2", "unbiased variance in training", _bn(_DX, var="x.var(axis=0, ddof=1)"),
          expect=("biased",)),
    Wrong("ex2", "sums instead of means in the corrections",
          _bn("(g - g.sum(axis=0) - x_hat * (g * x_hat).sum(axis=0)) / s"),
          expect=("means over the batch",)),
    Wrong("ex2", "dgamma with x instead of x_hat", _bn(_DX, dgamma="(dout * x).sum(axis=0)"),
          expect=("normalised", "not x")),
    Wrong("ex2", "dgamma averaged instead of summed",
          _bn(_DX, dgamma="(dout * x_hat).mean(axis=0)"),
          expect=("sums over the batch",)),
    Wrong("ex2", "dbeta averaged", _bn(_DX, dbeta="dout.mean(axis=0)"),
          expect=("sums dout over the batch",)),
    Wrong("ex2", "library's BatchNorm1d", """
def batchnorm_backward(dout, x, gamma, eps=1e-5):
    layer = nn.BatchNorm1d(x.shape[1], eps=eps)
    layer.params["gamma"][...] = gamma
    layer(x)
    dx = layer.backward(dout)
    return dx, layer.grads["gamma"], layer.grads["beta"]
""", expect=("switched off", "batch normalisation backward pass yourself")),
    # Exercise 3: the equilibrium norm and the effective learning rate
    Wrong("ex3", "effective lr with ||w|| instead of ||w||^2",
          _eq(_NORM, "lr / np.sqrt(norm_sq)"),
          expect=(r"\*squared\* norm", r"not lr / \|\|w\|\|")),
    Wrong("ex3", "small-lr*wd approximation",
          _eq("np.sqrt(lr * unit_grad_sq / (2 * weight_decay))"), expect=("approximation",)),
    Wrong("ex3", "square root forgotten", _eq("lr * unit_grad_sq / (weight_decay * (2 - lr * "
                                              "weight_decay))"),
          expect=(r"\|\|w\|\|\^4", "square root")),
    Wrong("ex3", "decay factor not squared", _eq("np.sqrt(lr * unit_grad_sq / weight_decay)"),
          expect=(r"\(1 - lr\*wd\)\*\*2",)),
    Wrong("ex3", "lr and weight decay swapped",
          _eq("np.sqrt(weight_decay * unit_grad_sq / (lr * (2 - lr * weight_decay)))"),
          expect=("swapped",)),
    Wrong("ex3", "lr squared kept",
          _eq("np.sqrt(lr**2 * unit_grad_sq / (weight_decay * (2 - lr * weight_decay)))"),
          expect=("one factor lr cancels",)),
    Wrong("ex3", "unit_grad_sq squared again",
          _eq("np.sqrt(lr * unit_grad_sq**2 / (weight_decay * (2 - lr * weight_decay)))"),
          expect=("already the \\*squared\\* norm",)),
    Wrong("ex3", "effective lr upside down", _eq(_NORM, "norm_sq / lr"),
          expect=("upside down",)),
    Wrong("ex3", "library's equilibrium_norm_sq", _eq(
        "equilibrium_norm_sq(lr, weight_decay, unit_grad_sq)",
        "effective_lr(lr, np.array([np.sqrt(norm_sq)]))"),
          expect=("switched off", "equilibrium norm yourself")),
]

# Added by the learner's-side audit: more slips a learner makes.
WRONG += [
    Wrong("ex1", "normalised over all the numbers at once",
          _ln("    return (x - x.mean()) / np.sqrt(x.var() + eps) * gamma + beta"),
          expect=("over all the numbers of x",)),
    Wrong("ex1", "axis=1, right only for a 2-D x",
          _ln_norm("x.var(axis=1, keepdims=True)", axis=1),
          expect=("axis 1", "axis=-1")),
    Wrong("ex2", "eps ignored", _bn(_DX).replace("np.sqrt(var + eps)", "np.sqrt(var)"),
          expect=("eps is missing",)),
    Wrong("ex2", "the factor 1/s missing",
          _bn("g - g.mean(axis=0) - x_hat * (g * x_hat).mean(axis=0)"),
          expect=("factor 1/s in front is missing",)),
    Wrong("ex3", "effective lr divides by norm_sq squared", _eq(_NORM, "lr / norm_sq**2"),
          expect=(r"not lr / norm_sq\*\*2",)),
    Wrong("ex3", "2 + lr * wd in the denominator",
          _eq("np.sqrt(lr * unit_grad_sq / (weight_decay * (2 + lr * weight_decay)))"),
          expect=("not 2 \\+ lr \\* wd",)),
]
