"""Lesson 23: the REINFORCE estimate, a running-mean baseline, returns-to-go."""

from harness import *  # noqa: F403
from harness import Wrong

LESSON = "23-reinforcement-learning"

# Each exercise's wrong answers are one template with the mistake filled in.
PG = """
def policy_gradient(theta, arms, rewards):
    theta = np.asarray(theta, dtype=float)
    e = np.exp({exp_of})
    pi = e / e.sum()
    onehot = np.eye(len(theta))[np.asarray(arms)]
    return ({weight} * ({term})).{reduce}(axis=0)
"""
R = "np.asarray(rewards, dtype=float)[:, None]"


def pg(exp_of="theta - theta.max()", weight=R, term="onehot - pi", reduce="mean"):
    return PG.format(exp_of=exp_of, weight=weight, term=term, reduce=reduce)


BASE = """
def running_baseline(rewards, alpha, b0=0.0):
    rewards = np.asarray(rewards, dtype=float)
    adv = np.empty_like(rewards)
    b = {start}
    for t, r in enumerate(rewards):
        {first}
        {second}
    return adv, b
"""


def base(first="adv[t] = r - b", second="b = b + alpha * (r - b)", start="float(b0)"):
    return BASE.format(first=first, second=second, start=start)


RTG = """
def returns_to_go(rewards, gamma):
    {prepare}
    out = np.zeros_like(rewards)
    running = 0.0
    for t in {order}:
        {body}
    return {result}
"""
BACKWARDS = "range(len(rewards) - 1, -1, -1)"


def rtg(body="running = rewards[t] + gamma * running\n        out[t] = running",
        order=BACKWARDS, prepare="rewards = np.asarray(rewards, dtype=float)", result="out"):
    return RTG.format(body=body, order=order, prepare=prepare, result=result)


WRONG = [
    Wrong("ex1", "sign flipped: pi - onehot (descends J)", pg(term="pi - onehot"),
          expect=("sign",)),
    Wrong("ex1", "sum over the pulls instead of the mean", pg(reduce="sum"),
          expect=("average|divide by N", "not sum")),
    Wrong("ex1", "the - pi term left out", pg(term="onehot"), expect=("- pi",)),
    Wrong("ex1", "rewards left out", pg(weight="1.0"), expect=("rewards are missing",)),
    Wrong("ex1", "softmax without the max shift overflows", pg(exp_of="theta"),
          expect=("NaN|overflow",)),
    Wrong("ex1", "gdlib's reinforce_loss instead of the formula", """
def policy_gradient(theta, arms, rewards):
    arms = np.asarray(arms)
    _, d = rl.reinforce_loss(np.tile(theta, (len(arms), 1)), arms, rewards)
    return -d.sum(axis=0)
""", expect=("switched off",)),
    Wrong("ex2", "baseline updated before it is used",
          base(first="b = b + alpha * (r - b)", second="adv[t] = r - b"),
          expect=("before using it|updated b before",)),
    Wrong("ex2", "baseline never updated", base(second="pass"), expect=("never updated",)),
    Wrong("ex2", "running mean's weights swapped", base(second="b = alpha * b + (1 - alpha) * r"),
          expect=("weights are swapped",)),
    Wrong("ex2", "b - r instead of r - b", base(first="adv[t] = b - r"), expect=("sign",)),
    Wrong("ex2", "b0 ignored", base(start="0.0"), expect=("b0 is ignored",)),
    Wrong("ex3", "forward cumulative sum (the past rewards)", rtg(order="range(len(rewards))"),
          expect=("past",)),
    Wrong("ex3", "discount counted from the start of the episode",
          rtg(body="running = gamma ** t * rewards[t] + running\n        out[t] = running"),
          expect=("start of the episode",)),
    Wrong("ex3", "gamma ignored", rtg(body="running = rewards[t] + running\n        "
                                           "out[t] = running"),
          expect=("gamma is ignored",)),
    Wrong("ex3", "off by one: starts at the next reward",
          rtg(body="out[t] = gamma * running\n        running = rewards[t] + gamma * running"),
          expect=("off by one|next",)),
    Wrong("ex3", "r_t discounted too",
          rtg(body="running = gamma * (rewards[t] + running)\n        out[t] = running"),
          expect=("r_t itself is not", "discounted")),
    Wrong("ex3", "rewards reversed in place",
          rtg(prepare="rewards[:] = rewards[::-1]          # work backwards",
              order="range(len(rewards))", result="out[::-1]"),
          expect=("must not change",)),
]
