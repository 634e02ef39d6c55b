"""Lesson 10: the cosine formula, warm-up then cosine, clipping by global norm."""

from harness import *  # noqa: F403
from harness import Wrong

LESSON = "10-schedules"


def cosine(body):
    return "def cosine_lr(t, lr0, T_max, eta_min=0.0):\n    return " + body + "\n"


def warmup(warm="lr0 * (start_factor + (1 - start_factor) * t / warmup)",
           cos="cosine_lr(t - warmup, lr0, total - warmup, eta_min)"):
    return ("def warmup_cosine_lr(t, lr0, warmup, total, start_factor=0.1, eta_min=0.0):\n"
            f"    if t < warmup:\n        return {warm}\n    return {cos}\n")


def clip(norm="np.sqrt(sum(float(np.sum(a * a)) for a in grads))",
         scale="min(1.0, max_norm / (total + 1e-6))", out="[a * scale for a in grads]",
         returned="total"):
    return ("def clip_by_global_norm(grads, max_norm):\n"
            f"    total = {norm}\n    scale = {scale}\n    return {out}, {returned}\n")


WRONG = [
    Wrong("ex1", "the 1/2 left out",
          cosine("eta_min + (lr0 - eta_min) * (1 + np.cos(np.pi * t / T_max))"),
          expect=("multiplied by 1/2",)),
    Wrong("ex1", "pi left out", cosine("eta_min + 0.5 * (lr0 - eta_min) * (1 + np.cos(t / T_max))"),
          expect=("pi \\* t / T_max \\(radians\\)",)),
    Wrong("ex1", "sine for cosine",
          cosine("eta_min + 0.5 * (lr0 - eta_min) * (1 + np.sin(np.pi * t / T_max))"),
          expect=("use the cosine",)),
    Wrong("ex1", "one step late",
          cosine("eta_min + 0.5 * (lr0 - eta_min) * (1 + np.cos(np.pi * (t + 1) / T_max))"),
          expect=("t counts from 0",)),
    Wrong("ex1", "integer division",
          cosine("eta_min + 0.5 * (lr0 - eta_min) * (1 + np.cos(np.pi * (t // T_max)))"),
          expect=("integer division",)),
    Wrong("ex1", "eta_min ignored", cosine("0.5 * lr0 * (1 + np.cos(np.pi * t / T_max))"),
          expect=("eta_min is ignored",)),
    Wrong("ex1", "amplitude lr0 with the floor added",
          cosine("eta_min + 0.5 * lr0 * (1 + np.cos(np.pi * t / T_max))"),
          expect=("amplitude is \\(lr0 - eta_min\\)",)),
    Wrong("ex1", "floor not added back",
          cosine("0.5 * (lr0 - eta_min) * (1 + np.cos(np.pi * t / T_max))"),
          expect=("added back",)),
    Wrong("ex1", "gdlib's CosineAnnealingLR through lr_curve", """
def cosine_lr(t, lr0, T_max, eta_min=0.0):
    curve = lr_curve(lambda o: schedules.CosineAnnealingLR(o, T_max=T_max, eta_min=eta_min),
                     T_max + 1, lr=lr0)
    return curve[t]
""", expect=("switched off", "the cosine formula yourself")),
    Wrong("ex2", "warm-up from zero", warmup(warm="lr0 * t / warmup"),
          expect=("not at 0",)),
    Wrong("ex2", "warm-up one step ahead",
          warmup(warm="lr0 * (start_factor + (1 - start_factor) * (t + 1) / warmup)"),
          expect=("t counts from 0",)),
    Wrong("ex2", "warm-up slope without (1 - start_factor)",
          warmup(warm="lr0 * (start_factor + t / warmup)"),
          expect=("\\(1 - start_factor\\) / warmup per step",)),
    Wrong("ex2", "cosine not shifted by the warm-up",
          warmup(cos="cosine_lr(t, lr0, total - warmup, eta_min)"),
          expect=("use t - warmup",)),
    Wrong("ex2", "cosine over the whole run",
          warmup(cos="cosine_lr(t - warmup, lr0, total, eta_min)"),
          expect=("over total - warmup steps, not total",)),
    Wrong("ex2", "cosine from t = 0 over total", warmup(cos="cosine_lr(t, lr0, total, eta_min)"),
          expect=("must start at t = warmup",)),
    Wrong("ex2", "gdlib's SequentialLR", """
def warmup_cosine_lr(t, lr0, warmup, total, start_factor=0.1, eta_min=0.0):
    make = gdlib_warmup_cosine(warmup, total, start_factor, eta_min)
    return lr_curve(make, total + 1, lr=lr0)[t]
""", expect=("switched off", "warm-up then cosine yourself")),
    Wrong("ex3", "1e-6 left out", clip(scale="min(1.0, max_norm / total) if total else 1.0"),
          expect=("torch's 1e-6",)),
    Wrong("ex3", "short gradients stretched", clip(scale="max_norm / (total + 1e-6)"),
          expect=("only shrinks",)),
    Wrong("ex3", "max instead of min", clip(scale="max(1.0, max_norm / (total + 1e-6))"),
          expect=("not shortened",)),
    Wrong("ex3", "squared norm", clip(norm="sum(float(np.sum(a * a)) for a in grads)",
                                      scale="min(1.0, max_norm / (np.sqrt(total) + 1e-6))"),
          expect=("squared norm",)),
    Wrong("ex3", "norm after clipping returned", clip(returned="total * scale"),
          expect=("\\*before\\* clipping",)),
    Wrong("ex3", "sum of the arrays' norms", clip(norm="sum(np.linalg.norm(a) for a in grads)"),
          expect=("not the sum of the arrays' norms",)),
    Wrong("ex3", "each array clipped by its own norm", clip(
        out="[a * min(1.0, max_norm / (np.linalg.norm(a) + 1e-6)) for a in grads]"),
          expect=("its own norm",)),
    Wrong("ex3", "inputs scaled in place", """
def clip_by_global_norm(grads, max_norm):
    total = np.sqrt(sum(float(np.sum(a * a)) for a in grads))
    scale = min(1.0, max_norm / (total + 1e-6))
    for a in grads:
        a *= scale
    return grads, total
""", expect=("in place",)),
    Wrong("ex3", "gdlib's clip_grad_norm_", """
def clip_by_global_norm(grads, max_norm):
    copies = [np.array(a, dtype=float) for a in grads]
    return copies, clipping.clip_grad_norm_(copies, max_norm)
""", expect=("switched off", "clipping by global norm yourself")),
]
