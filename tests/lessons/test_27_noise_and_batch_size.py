"""Lesson 27: the two-batch noise scale, an EMA step with bias correction, SVRG's path."""

from harness import *  # noqa: F403
from harness import Wrong

LESSON = "27-noise-and-batch-size"


def _scale(grad_sq: str, trace: str, ratio: str = "trace / grad_sq") -> str:
    return f"""
def noise_scale_two_batches(sq_small, sq_big, b_small, b_big):
    sq_small = np.asarray(sq_small, dtype=float)
    sq_big = np.asarray(sq_big, dtype=float)
    grad_sq = {grad_sq}
    trace = {trace}
    return float({ratio})
"""


GRAD_SQ = "np.mean((b_big * sq_big - b_small * sq_small) / (b_big - b_small))"
TRACE = "np.mean((sq_small - sq_big) / (1 / b_small - 1 / b_big))"


def _ema(m_new: str, m_hat: str, ret: str = "m_new, m_hat") -> str:
    return f"""
def ema_update(m, theta, decay, t):
    m_new = {m_new}
    m_hat = {m_hat}
    return {ret}
"""


EMA_NEW = "decay * m + (1 - decay) * theta"
EMA_HAT = "m_new / (1 - decay ** t)"


def _svrg(g: str, snap: str = "k % m == 0", step: str = "w = w - lr * g",
          keep: str = "w.copy()") -> str:
    return f"""
def svrg_path(grad_i, full_grad, w0, lr, order, m):
    w = np.array(w0, dtype=float)
    path = [w.copy()]
    for k, i in enumerate(order):
        if {snap}:
            w_snap, mu = w.copy(), full_grad(w)
        g = {g}
        {step}
        path.append({keep})
    return np.array(path)
"""


SVRG_G = "grad_i(w, i) - grad_i(w_snap, i) + mu"

WRONG = [
    Wrong("ex1", "batch sizes swapped",
          _scale("np.mean((b_small * sq_big - b_big * sq_small) / (b_small - b_big))",
                 "np.mean((sq_small - sq_big) / (1 / b_big - 1 / b_small))"),
          expect=("batch sizes are swapped",)),
    Wrong("ex1", "trace with the sign flipped",
          _scale(GRAD_SQ, "np.mean((sq_big - sq_small) / (1 / b_small - 1 / b_big))"),
          expect=("small batch is the noisier",)),
    Wrong("ex1", "ratio inverted", _scale(GRAD_SQ, TRACE, "grad_sq / trace"),
          expect=("noise over signal",)),
    Wrong("ex1", "big batch's norm used as the signal", _scale("np.mean(sq_big)", TRACE),
          expect=("still holds noise",)),
    Wrong("ex1", "trace without the 1/B denominator",
          _scale(GRAD_SQ, "np.mean(sq_small - sq_big)"),
          expect=("denominator 1/B_s - 1/B_b",)),
    Wrong("ex1", "signal as the plain mean of the two norms",
          _scale("np.mean((sq_small + sq_big) / 2)", TRACE),
          expect=("weigh each by its batch size",)),
    Wrong("ex1", "mean of the ratios",
          _scale(GRAD_SQ, TRACE,
                 "np.mean(((sq_small - sq_big) / (1 / b_small - 1 / b_big)) / "
                 "((b_big * sq_big - b_small * sq_small) / (b_big - b_small)))"),
          expect=("then divide once",)),
    Wrong("ex1", "library's noise_scale_from_batches", """
def noise_scale_two_batches(sq_small, sq_big, b_small, b_big):
    return noise_scale_from_batches(sq_small, sq_big, b_small, b_big).b_simple
""", expect=("switched off", "two-batch noise-scale estimate")),
    Wrong("ex2", "decay and 1 - decay swapped", _ema("(1 - decay) * m + decay * theta", EMA_HAT),
          expect=("swapped",)),
    Wrong("ex2", "no bias correction", _ema(EMA_NEW, "m_new"),
          expect=("without the bias correction",)),
    Wrong("ex2", "bias correction with t starting at 0",
          _ema(EMA_NEW, "m_new / (1 - decay ** (t - 1))"),
          expect=(r"decay\*\*\(t - 1\)",)),
    Wrong("ex2", "bias correction with t + 1", _ema(EMA_NEW, "m_new / (1 - decay ** (t + 1))"),
          expect=(r"decay\*\*\(t \+ 1\)",)),
    Wrong("ex2", "corrected average stored as the state", _ema(EMA_NEW, EMA_HAT, "m_hat, m_hat"),
          expect=("uncorrected average",)),
    Wrong("ex2", "old average corrected", _ema(EMA_NEW, "m / (1 - decay ** t)"),
          expect=("old m instead of m_new",)),
    Wrong("ex2", "library's EMA", """
def ema_update(m, theta, decay, t):
    avg = EMA(np.array(theta, dtype=float), decay=decay, bias_correction=True)
    avg.update()
    return decay * m + (1 - decay) * theta, avg.averaged
""", expect=("switched off", "EMA update")),
    Wrong("ex3", "snapshot mean mu missing", _svrg("grad_i(w, i) - grad_i(w_snap, i)"),
          expect=("mu is missing",)),
    Wrong("ex3", "correction with the sign flipped", _svrg("grad_i(w, i) + grad_i(w_snap, i) - mu"),
          expect=("sign is flipped",)),
    Wrong("ex3", "plain SGD, no correction", _svrg("grad_i(w, i)"), expect=("plain SGD step",)),
    Wrong("ex3", "snapshot never refreshed", _svrg(SVRG_G, snap="k == 0"),
          expect=("never refreshed",)),
    Wrong("ex3", "snapshot refreshed every step", _svrg(SVRG_G, snap="True"),
          expect=("refreshed every step",)),
    Wrong("ex3", "in-place update appended without a copy",
          _svrg(SVRG_G, step="w -= lr * g", keep="w"), expect=("append w.copy",)),
    Wrong("ex3", "library's SVRG", """
def svrg_path(grad_i, full_grad, w0, lr, order, m):
    source = SVRG(lambda p, batch: (0.0, p), (np.zeros((len(order), 1)), np.zeros(len(order))),
                  snapshot_every=m)
    return np.array([w0] * (len(order) + 1))
""", expect=("switched off", "SVRG's corrected gradient")),
]

# Added by the learner's-side audit: more slips a learner makes.
WRONG += [
    Wrong("ex1", "trace divided by B_b - B_s",
          _scale(GRAD_SQ, "np.mean((sq_small - sq_big) / (b_big - b_small))"),
          expect=("not B_b - B_s",)),
    Wrong("ex1", "|G|^2 not divided by B_b - B_s",
          _scale("np.mean(b_big * sq_big - b_small * sq_small)", TRACE),
          expect=("division is missing",)),
    Wrong("ex2", "1 - decay * t instead of 1 - decay**t", _ema(EMA_NEW, "m_new / (1 - decay * t)"),
          expect=(r"not 1 - decay \* t",)),
    Wrong("ex2", "correction multiplied", _ema(EMA_NEW, "m_new * (1 - decay ** t)"),
          expect=("you multiplied",)),
    Wrong("ex3", "mu recomputed at the current w", _svrg(
        "grad_i(w, i) - grad_i(w_snap, i) + full_grad(w)"), expect=(r"full_grad\(w_snap\)",)),
    Wrong("ex3", "snapshot taken after the step", """
def svrg_path(grad_i, full_grad, w0, lr, order, m):
    w = np.array(w0, dtype=float)
    path = [w.copy()]
    w_snap, mu = w.copy(), full_grad(w)
    for k, i in enumerate(order):
        w = w - lr * (grad_i(w, i) - grad_i(w_snap, i) + mu)
        if k % m == 0:
            w_snap, mu = w.copy(), full_grad(w)
        path.append(w.copy())
    return np.array(path)
""", expect=("taken after the step",)),
    Wrong("ex3", "path without w0", _svrg(SVRG_G).replace("path = [w.copy()]", "path = []"),
          expect=("w0 and 8 steps",)),
]
