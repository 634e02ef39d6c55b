"""Lesson 20: steps to a target, the forgiveness of a learning-rate sweep, a ranking."""

from harness import *  # noqa: F403
from harness import Wrong

LESSON = "20-bake-off"

_STEPS = """
def steps_to_target(steps, values, target, higher_is_better=False):
    values = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):
        hit = {HIT}
    hit &= ~np.isnan(values)
    if not hit.any():
        return None
    return {RETURN}
"""


def steps_code(HIT="values >= target if higher_is_better else values <= target",
               RETURN="int(np.asarray(steps)[np.argmax(hit)])"):
    return _STEPS.format(HIT=HIT, RETURN=RETURN)


_FORGIVE = """
def forgiveness(lrs, reached):
    lrs = np.asarray(lrs, dtype=float)
    spacing = {SPACING}
    best = run_length = 0
    for ok in reached:
        {LOOP}
    return float({RESULT})
"""


def forgive(SPACING="np.log10(lrs[1] / lrs[0]) if len(lrs) > 1 else 1.0",
            LOOP="run_length = run_length + 1 if ok else 0\n        best = max(best, run_length)",
            RESULT="best * spacing"):
    return _FORGIVE.format(SPACING=SPACING, LOOP=LOOP, RESULT=RESULT)


_RANK = """
def rank(scores, higher_is_better=False):
    worst = {WORST}
    med = {{}}
    for name, vals in scores.items():
        clean = {CLEAN}
        m = float({MEDIAN}(clean))
        med[name] = {SIGNED}
    return {RANKS}
"""


def rank_code(WORST="-np.inf if higher_is_better else np.inf",
              CLEAN="[worst if v is None or np.isnan(v) else float(v) for v in vals]",
              MEDIAN="np.median", SIGNED="-m if higher_is_better else m",
              RANKS="{name: 1 + sum(other < m for other in med.values()) "
                    "for name, m in med.items()}"):
    return _RANK.format(WORST=WORST, CLEAN=CLEAN, MEDIAN=MEDIAN, SIGNED=SIGNED, RANKS=RANKS)


WRONG = [
    Wrong("ex1", "index instead of the step", steps_code(RETURN="int(np.argmax(hit))"),
          expect=("not the index",)),
    Wrong("ex1", "last checkpoint instead of the first",
          steps_code(RETURN="int(np.asarray(steps)[np.flatnonzero(hit)[-1]])"),
          expect=("first",)),
    Wrong("ex1", "higher_is_better ignored", steps_code(HIT="values <= target"),
          expect=(">= target",)),
    Wrong("ex1", "strict comparison", steps_code(
        HIT="values > target if higher_is_better else values < target"),
          expect=("equal to the target counts",)),
    Wrong("ex1", "NumPy integer returned", steps_code(RETURN="np.asarray(steps)[np.argmax(hit)]"),
          expect=("Python int",)),
    Wrong("ex1", "None forgotten when nothing reaches the target", """
def steps_to_target(steps, values, target, higher_is_better=False):
    values = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):
        hit = values >= target if higher_is_better else values <= target
    return int(np.asarray(steps)[np.argmax(hit)])
""", expect=("return None",)),
    Wrong("ex1", "nan counted as reaching (not >)", """
def steps_to_target(steps, values, target, higher_is_better=False):
    for s, v in zip(steps, values):
        if (not v < target) if higher_is_better else (not v > target):
            return int(s)
    return None
""", expect=("nan",)),
    Wrong("ex2", "span between the ends", forgive(RESULT="max(best - 1, 0) * spacing"),
          expect=("count each point as a cell",)),
    Wrong("ex2", "count without the spacing", forgive(RESULT="best"),
          expect=("spacing in decades",)),
    Wrong("ex2", "linear spacing", forgive(SPACING="lrs[1] - lrs[0]"),
          expect=(r"not\s+lrs\[1\] - lrs\[0\]",)),
    Wrong("ex2", "natural log", forgive(SPACING="np.log(lrs[1] / lrs[0])"),
          expect=("log10",)),
    Wrong("ex2", "run at the end of the grid not counted", forgive(
        LOOP="if ok:\n            run_length += 1\n        else:\n"
             "            best = max(best, run_length)\n            run_length = 0"),
          expect=("end of the grid",)),
    Wrong("ex2", "all successes summed", forgive(LOOP="best += bool(ok)"),
          expect=("longest run of consecutive",)),
    Wrong("ex3", "mean instead of median", rank_code(MEDIAN="np.mean"),
          expect=("median", "not the mean")),
    Wrong("ex3", "higher_is_better ignored", rank_code(SIGNED="m"), expect=("largest median",)),
    Wrong("ex3", "ranks from 0", rank_code(
        RANKS="{name: sum(other < m for other in med.values()) for name, m in med.items()}"),
          expect=("start at 1",)),
    Wrong("ex3", "dense ranking", rank_code(
        RANKS="{name: 1 + len({o for o in med.values() if o < m}) for name, m in med.items()}"),
          expect=("not 3",)),
    Wrong("ex3", "no ties (ordinal ranking)", rank_code(
        RANKS="{name: i + 1 for i, name in enumerate(sorted(med, key=med.get))}"),
          expect=("share the better rank",)),
    Wrong("ex3", "failed seeds dropped", rank_code(
        CLEAN="[float(v) for v in vals if v is not None and not np.isnan(v)] or [worst]"),
          expect=("not\\s+dropped",)),
    Wrong("ex3", "failures +inf even when higher is better", rank_code(WORST="np.inf"),
          expect=("-inf, not \\+inf",)),
]
