"""Lesson 17: one RNN step forward, one step of BPTT, clipping by global norm."""

from harness import *  # noqa: F403
from harness import Wrong

LESSON = "17-rnn"

_STEP = """
def rnn_step_forward(x, h_prev, Wx, Wh, b):
    return {BODY}
"""

_BACK = """
def rnn_step_backward(dh, x, h_prev, h_next, Wx, Wh):
    da = {DA}
    dx = da @ Wx.T
    dh_prev = {DH_PREV}
    dWx = {DWX}
    dWh = {DWH}
    db = {DB}
    return dx, dh_prev, dWx, dWh, db
"""


def back(DA="dh * (1.0 - h_next**2)", DH_PREV="da @ Wh.T", DWX="x.T @ da",
         DWH="h_prev.T @ da", DB="da.sum(axis=0)"):
    """One step of BPTT with one part changed."""
    return _BACK.format(DA=DA, DH_PREV=DH_PREV, DWX=DWX, DWH=DWH, DB=DB)


_CLIP = """
def clip_by_global_norm(grads, max_norm):
    total_norm = {NORM}
    scale = {SCALE}
    clipped = {CLIPPED}
    return clipped, {RETURNED}
"""


def clip(NORM="math.sqrt(sum(float(np.sum(g * g)) for g in grads))",
         SCALE="min(1.0, max_norm / (total_norm + 1e-6))", CLIPPED="[g * scale for g in grads]",
         RETURNED="total_norm"):
    return _CLIP.format(NORM=NORM, SCALE=SCALE, CLIPPED=CLIPPED, RETURNED=RETURNED)


WRONG = [
    Wrong("ex1", "no tanh", _STEP.format(BODY="x @ Wx + h_prev @ Wh + b"), expect=("np.tanh",)),
    Wrong("ex1", "sigmoid instead of tanh",
          _STEP.format(BODY="1 / (1 + np.exp(-(x @ Wx + h_prev @ Wh + b)))"),
          expect=("not the sigmoid",)),
    Wrong("ex1", "Wh transposed", _STEP.format(BODY="np.tanh(x @ Wx + h_prev @ Wh.T + b)"),
          expect=("h_prev @ Wh, not",)),
    Wrong("ex1", "Wx and Wh swapped", _STEP.format(BODY="np.tanh(x @ Wh + h_prev @ Wx + b)"),
          expect=("swapped",)),
    Wrong("ex1", "bias forgotten", _STEP.format(BODY="np.tanh(x @ Wx + h_prev @ Wh)"),
          expect=("bias b is missing",)),
    Wrong("ex1", "gdlib's RNN", """
def rnn_step_forward(x, h_prev, Wx, Wh, b):
    cell = RNN(x.shape[1], Wh.shape[0])
    cell.params["W_ih"][...] = Wx
    cell.params["W_hh"][...] = Wh
    cell.params["b_ih"][...] = b
    cell.params["b_hh"][...] = 0.0
    return cell(x[:, None], h0=h_prev)[:, 0]
""", expect=("switched off", "the RNN step yourself")),
    Wrong("ex2", "tanh's derivative left out", back(DA="dh"), expect=("through tanh first",)),
    Wrong("ex2", "tanh's derivative from h_prev", back(DA="dh * (1.0 - h_prev**2)"),
          expect=("not from h_prev",)),
    Wrong("ex2", "tanh applied again in the derivative",
          back(DA="dh * (1.0 - np.tanh(h_next)**2)"), expect=(r"not\s+1 - tanh\(h_next\)",)),
    Wrong("ex2", "dh_prev through Wh, not Wh.T", back(DH_PREV="da @ Wh"),
          expect=(r"Wh\s+transposed",)),
    Wrong("ex2", "dWx transposed", back(DWX="da.T @ x"), expect=("dWx", "transposed")),
    Wrong("ex2", "dWh from h_next", back(DWH="h_next.T @ da"),
          expect=("h_prev.T @ da, not h_next",)),
    Wrong("ex2", "db is the mean over the batch", back(DB="da.mean(axis=0)"),
          expect=("not the mean",)),
    Wrong("ex2", "gdlib's RNN.backward", """
def rnn_step_backward(dh, x, h_prev, h_next, Wx, Wh):
    cell = RNN(x.shape[1], Wh.shape[0])
    cell.params["W_ih"][...] = Wx
    cell.params["W_hh"][...] = Wh
    cell(x[:, None], h0=h_prev)
    dx = cell.backward(dh[:, None])[:, 0]
    return dx, None, cell.grads["W_ih"], cell.grads["W_hh"], cell.grads["b_ih"]
""", expect=("switched off", "the BPTT step yourself")),
    Wrong("ex3", "sum of squares without the root",
          clip(NORM="sum(float(np.sum(g * g)) for g in grads)"), expect=("square root",)),
    Wrong("ex3", "norm of the first array only", clip(NORM="float(np.linalg.norm(grads[0]))"),
          expect=("all arrays together",)),
    Wrong("ex3", "each array clipped by its own norm", clip(
        CLIPPED="[g * min(1.0, max_norm / (np.linalg.norm(g) + 1e-6)) for g in grads]"),
          expect=("same factor",)),
    Wrong("ex3", "clipping by value", clip(CLIPPED="[np.clip(g, -max_norm, max_norm) "
                                                   "for g in grads]"),
          expect=("clipping by value",)),
    Wrong("ex3", "always scaled (no min with 1)", clip(SCALE="max_norm / (total_norm + 1e-6)"),
          expect=(r"min\(1, c",)),
    Wrong("ex3", "norm after clipping returned",
          clip(RETURNED="math.sqrt(sum(float(np.sum(g * g)) for g in clipped))"),
          expect=("before",)),
    Wrong("ex3", "gradients scaled in place", """
def clip_by_global_norm(grads, max_norm):
    total_norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads))
    scale = min(1.0, max_norm / (total_norm + 1e-6))
    for g in grads:
        g *= scale
    return grads, total_norm
""", expect=("in place",)),
    Wrong("ex3", "gdlib's clip_grad_norm_", """
def clip_by_global_norm(grads, max_norm):
    clipped = [g.copy() for g in grads]
    return clipped, clipping.clip_grad_norm_(clipped, max_norm)
""", expect=("switched off", "clipping by global norm yourself")),
]
