"""Lesson 28: log-uniform sampling, the median steps to a target, the performance profile."""

from harness import *  # noqa: F403
from harness import Wrong

LESSON = "28-tuning"


def _log(body: str) -> str:
    return f"""
def log_uniform(u, low, high):
    u = np.asarray(u, dtype=float)
    return {body}
"""


def _median(hit: str = "losses <= target", miss: str = "np.inf", best: str = "steps.min()",
            summary: str = "np.median(best)", step: str = "checkpoints[np.argmax(hit, axis=1)]",
            keep: str = "best") -> str:
    return f"""
def median_steps_to_target(studies, checkpoints, target):
    checkpoints = np.asarray(checkpoints, dtype=float)
    best = []
    for losses in studies:
        losses = np.asarray(losses, dtype=float)
        with np.errstate(invalid="ignore"):
            hit = {hit}
        steps = np.where(hit.any(axis=1), {step}, {miss})
        best.append({best})
    best = {keep}
    return float({summary})
"""


def _profile(ratio: str = "T / best", count: str = "(r[None, :] <= taus[:, None]).mean(axis=1)"
             ) -> str:
    return f"""
def performance_profile(times, taus):
    names = list(times)
    T = np.array([np.asarray(times[k], dtype=float) for k in names])
    best = T.min(axis=0)
    worst = T.max(axis=0)
    taus = np.asarray(taus, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = {ratio}
    out = {{}}
    for k, r in zip(names, ratios):
        out[k] = {count}
    return out
"""


WRONG = [
    # -- Exercise 1: log-uniform sampling --------------------------------------------------
    Wrong("ex1", "uniform instead of log-uniform", _log("low + u * (high - low)"),
          expect=("uniform between low and high",)),
    Wrong("ex1", "bounds read as base-10 exponents", _log("10 ** (low + u * (high - low))"),
          expect=("not base-10 exponents",)),
    Wrong("ex1", "log10 undone with exp",
          _log("np.exp(np.log10(low) + u * (np.log10(high) - np.log10(low)))"),
          expect=("same base",)),
    Wrong("ex1", "natural log undone with 10 **",
          _log("10 ** (np.log(low) + u * (np.log(high) - np.log(low)))"),
          expect=("same base",)),
    Wrong("ex1", "range reversed", _log("high * (low / high) ** u"), expect=("backwards",)),
    Wrong("ex1", "library's Dim", _log('Dim(low, high, "log").from_unit(u)'),
          expect=("switched off", "log-uniform sampling")),
    # -- Exercise 2: the median steps to a target ----------------------------------------
    Wrong("ex2", "a miss counted as the budget", _median(miss="checkpoints[-1]"),
          expect=("counted as the budget",)),
    Wrong("ex2", "missed studies dropped",
          _median(keep="[b for b in best if np.isfinite(b)]"), expect=("dropped",)),
    Wrong("ex2", "a miss counted as 0 steps", _median(miss="0.0"), expect=("counted as 0",)),
    Wrong("ex2", "mean instead of median", _median(summary="np.mean(best)"),
          expect=("mean of the studies", "median")),
    Wrong("ex2", "< instead of <=", _median(hit="losses < target"),
          expect=("<= target",)),
    Wrong("ex2", "index instead of step", _median(step="np.argmax(hit, axis=1)"),
          expect=("step number",)),
    Wrong("ex2", "all trials pooled",
          _median(best="steps", summary="np.median(np.concatenate(best))"),
          expect=("best \\(fastest\\) trial", "pooled")),
    Wrong("ex2", "slowest trial per study", _median(best="steps.max()"),
          expect=("fastest trial",)),
    Wrong("ex2", "library's steps_to_target", """
def median_steps_to_target(studies, checkpoints, target):
    best = [min(tuning.steps_to_target(row, target, checkpoints) for row in np.asarray(s))
            for s in studies]
    return float(np.median(best))
""", expect=("switched off", "steps to a target")),
    # -- Exercise 3: the performance profile ---------------------------------------------
    Wrong("ex3", "ratio to the worst", _profile(ratio="T / worst"),
          expect=("not by the worst",)),
    Wrong("ex3", "< instead of <=", _profile(count="(r[None, :] < taus[:, None]).mean(axis=1)"),
          expect=("at most tau",)),
    Wrong("ex3", "share of the solved workloads only",
          _profile(count="(r[None, :] <= taus[:, None]).sum(axis=1)"
                         " / max(np.isfinite(r).sum(), 1)"),
          expect=("all workloads",)),
    Wrong("ex3", "count instead of fraction",
          _profile(count="(r[None, :] <= taus[:, None]).sum(axis=1).astype(float)"),
          expect=("fraction",)),
    Wrong("ex3", "best over mine", _profile(ratio="best / T"), expect=("best over yours",)),
    Wrong("ex3", "library's performance_profile", """
def performance_profile(times, taus):
    return tuning.performance_profile(times, taus)
""", expect=("switched off", "performance profile")),
]

# Added by the learner's-side audit: more slips a learner makes.
WRONG += [
    Wrong("ex1", "logarithm not raised back (np.log)",
          _log("np.log(low) + u * (np.log(high) - np.log(low))"), expect=(r"np\.exp",)),
    Wrong("ex1", "logarithm not raised back (log10)",
          _log("np.log10(low) + u * (np.log10(high) - np.log10(low))"), expect=(r"10 \*\*",)),
    Wrong("ex1", "np.logspace ignoring u",
          _log("np.logspace(np.log10(low), np.log10(high), u.size).reshape(u.shape)"),
          expect=("ignores the values of u",)),
    Wrong("ex2", "np.argmax without checking for a hit", """
def median_steps_to_target(studies, checkpoints, target):
    checkpoints = np.asarray(checkpoints)
    best = []
    for losses in studies:
        hit = np.asarray(losses) <= target
        best.append(checkpoints[np.argmax(hit, axis=1)].min())
    return float(np.median(best))
""", expect=("argmax of a row with no hit",)),
    Wrong("ex2", "step of the lowest loss, not the first hit",
          _median(hit="losses <= target", step="checkpoints[np.nanargmin(losses, axis=1)]"),
          expect=("not of its lowest loss",)),
    Wrong("ex3", "best over the wrong axis",
          _profile(ratio="T / T.min(axis=1, keepdims=True)"),
          expect=("each optimizer's own best",)),
    Wrong("ex3", "divided by the number of optimizers",
          _profile(count="(r[None, :] <= taus[:, None]).sum(axis=1) / len(names)"),
          expect=("not of optimizers",)),
]
