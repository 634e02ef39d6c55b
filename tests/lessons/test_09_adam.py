"""Lesson 09: bias correction, the Adam step, AMSGrad's maximum, AdamW's decay."""

from harness import *  # noqa: F403
from harness import Wrong

LESSON = "09-adam"

ADAM = """
def adam_step(theta, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    beta1, beta2 = betas
    m = {m}
    v = {v}
    m_hat = {m_hat}
    v_hat = {v_hat}
    return theta - {step}, m, v
"""


def adam(m="beta1 * m + (1 - beta1) * g", v="beta2 * v + (1 - beta2) * g * g",
         m_hat="m / (1 - beta1**t)", v_hat="v / (1 - beta2**t)",
         step="lr * m_hat / (np.sqrt(v_hat) + eps)"):
    """An adam_step with one part replaced by a typical mistake."""
    return ADAM.format(m=m, v=v, m_hat=m_hat, v_hat=v_hat, step=step)


AMSGRAD = """
def amsgrad_step(theta, g, m, v, v_max, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    beta1, beta2 = betas
    m = beta1 * m + (1 - beta1) * g
    v_old = v
    v = beta2 * v + (1 - beta2) * g * g
    v_max = {v_max}
    m_hat = {m_hat}
    return theta - lr * m_hat / (np.sqrt({denominator}) + eps), m, v, v_max
"""


def amsgrad(v_max="np.maximum(v_max, v)", m_hat="m / bias_correction(beta1, t)",
            denominator="v_max / bias_correction(beta2, t)"):
    """An amsgrad_step with one part replaced by a typical mistake."""
    return AMSGRAD.format(v_max=v_max, m_hat=m_hat, denominator=denominator)


def adamw(body):
    return ("def adamw_step(theta, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,"
            " weight_decay=1e-2):\n" + body)


WRONG = [
    Wrong("ex1", "beta**t without the 1 -", """
def bias_correction(beta, t):
    return beta ** np.asarray(t, dtype=float)
""", expect=("this is beta\\*\\*t",)),
    Wrong("ex1", "power missing", """
def bias_correction(beta, t):
    return 1 - beta + 0 * np.asarray(t, dtype=float)
""", expect=("power t is missing",)),
    Wrong("ex1", "t - 1 in the power", """
def bias_correction(beta, t):
    return 1 - beta ** (np.asarray(t, dtype=float) - 1)
""", expect=("not 1 - beta\\*\\*\\(t - 1\\)",)),
    Wrong("ex1", "returns the inverse", """
def bias_correction(beta, t):
    return 1 / (1 - beta ** np.asarray(t, dtype=float))
""", expect=("1/\\(1 - beta\\*\\*t\\)",)),
    Wrong("ex1", "math.pow: scalars only", """
import math
def bias_correction(beta, t):
    return 1 - math.pow(beta, t)
""", expect=("array of step numbers", "np.power")),
    Wrong("ex2", "no bias correction", adam(m_hat="m", v_hat="v"),
          expect=("WITHOUT bias correction",)),
    Wrong("ex2", "only m corrected", adam(v_hat="v"), expect=("v is not",)),
    Wrong("ex2", "only v corrected", adam(m_hat="m"), expect=("m is not",)),
    Wrong("ex2", "betas swapped", adam(m="beta2 * m + (1 - beta2) * g",
                                       v="beta1 * v + (1 - beta1) * g * g"),
          expect=("beta1 \\(the first of betas\\) weighs m",)),
    Wrong("ex2", "eps inside the square root", adam(step="lr * m_hat / np.sqrt(v_hat + eps)"),
          expect=("outside the square root",)),
    Wrong("ex2", "eps before the correction (the paper's efficient form)",
          adam(step="lr * np.sqrt(1 - beta2**t) / (1 - beta1**t) * m / (np.sqrt(v) + eps)"),
          expect=("\\*after\\* the bias correction",)),
    Wrong("ex2", "t counted from 0", adam(m_hat="m / (1 - beta1**(t - 1))",
                                          v_hat="v / (1 - beta2**(t - 1))"),
          expect=("not 1 - beta\\*\\*\\(t - 1\\)",)),
    Wrong("ex2", "gradient not squared in v", adam(v="beta2 * v + (1 - beta2) * g"),
          expect=("\\*squared\\* gradient",)),
    Wrong("ex2", "learning rate left out", adam(step="m_hat / (np.sqrt(v_hat) + eps)"),
          expect=("learning rate .* not to be applied",)),
    Wrong("ex2", "state updated in place", """
def adam_step(theta, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    beta1, beta2 = betas
    m *= beta1
    m += (1 - beta1) * g
    v *= beta2
    v += (1 - beta2) * g * g
    return theta - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps), m, v
""", expect=("in place",)),
    Wrong("ex2", "the notebook's reference_adam", """
def adam_step(theta, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    return reference_adam(theta, g, m, v, t, lr=lr, betas=betas, eps=eps)
""", expect=("switched off", "write the Adam step yourself")),
    Wrong("ex2", "gdlib.optim.Adam", """
def adam_step(theta, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    x = np.array(theta, dtype=float)
    opt = optim.Adam(x, lr=lr, betas=betas, eps=eps)
    opt.state[0] = {"exp_avg": m.copy(), "exp_avg_sq": v.copy()}
    opt.t = t - 1
    opt.step(g)
    return x, opt.state[0]["exp_avg"], opt.state[0]["exp_avg_sq"]
""", expect=("switched off", "write the Adam step yourself")),
    Wrong("ex3", "no maximum kept", amsgrad(v_max="v"), expect=("keep the element-wise maximum",)),
    Wrong("ex3", "maximum with the old v", amsgrad(v_max="np.maximum(v_max, v_old)"),
          expect=("\\*new\\* v",)),
    Wrong("ex3", "maximum of the corrected v", amsgrad(
        v_max="np.maximum(v_max, v / bias_correction(beta2, t))", denominator="v_max"),
          expect=("maximum of the raw v",)),
    Wrong("ex3", "divides by v, not v_max", amsgrad(denominator="v / bias_correction(beta2, t)"),
          expect=("not of v",)),
    Wrong("ex3", "v_max not bias-corrected (Reddi's form)", amsgrad(denominator="v_max"),
          expect=("divide v_max by 1 - beta2\\*\\*t",)),
    Wrong("ex3", "m not corrected", amsgrad(m_hat="m"), expect=("m is not bias-corrected",)),
    Wrong("ex3", "gdlib's Adam(amsgrad=True)", """
def amsgrad_step(theta, g, m, v, v_max, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    return reference_amsgrad(theta, g, m, v, v_max, t, lr=lr, betas=betas, eps=eps)
""", expect=("switched off", "AMSGrad's step yourself")),
    Wrong("ex4", "L2 penalty instead of decay", adamw("""
    return adam_step(theta, g + weight_decay * theta, m, v, t, lr=lr, betas=betas, eps=eps)
"""), expect=("L2 penalty",)),
    Wrong("ex4", "decay without the learning rate", adamw("""
    theta = theta * (1 - weight_decay)
    return adam_step(theta, g, m, v, t, lr=lr, betas=betas, eps=eps)
"""), expect=("multiplied by the learning rate",)),
    Wrong("ex4", "decay after the Adam step", adamw("""
    theta, m, v = adam_step(theta, g, m, v, t, lr=lr, betas=betas, eps=eps)
    return theta * (1 - lr * weight_decay), m, v
"""), expect=("\\*before\\* subtracting the Adam step",)),
    Wrong("ex4", "decay with the wrong sign", adamw("""
    theta = theta * (1 + lr * weight_decay)
    return adam_step(theta, g, m, v, t, lr=lr, betas=betas, eps=eps)
"""), expect=("shrinks theta",)),
    Wrong("ex4", "gdlib's AdamW", adamw("""
    return reference_adamw(theta, g, m, v, t, lr=lr, betas=betas, eps=eps,
                           weight_decay=weight_decay)
"""), expect=("switched off", "AdamW's decoupled decay yourself")),
]
