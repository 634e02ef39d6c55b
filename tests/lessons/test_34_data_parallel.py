"""Lesson 34: the ring all-reduce, the LARS trust ratio, one rank's step of sharded Adam."""

from harness import *  # noqa: F403
from harness import Wrong

LESSON = "34-data-parallel"


def _ring(send_chunk: str = "(r - s) % K", gather_chunk: str = "(r + 1 - s) % K",
          dst: str = "(r + 1) % K", phases: str = '("reduce-scatter", "all-gather")',
          finish: str = "[b / K for b in bufs]", copy: str = "np.array(x, dtype=float)") -> str:
    return f"""
def ring_allreduce(xs, log):
    K = len(xs)
    bufs = [{copy} for x in xs]
    chunks = [np.array_split(b, K) for b in bufs]
    for phase in {phases}:
        for s in range(K - 1):
            sends = []
            for r in range(K):
                c = {send_chunk} if phase == "reduce-scatter" else {gather_chunk}
                sends.append((r, {dst}, c, chunks[r][c].copy()))
            for src, to, c, data in sends:
                if phase == "reduce-scatter":
                    chunks[to][c] += data
                else:
                    chunks[to][c][...] = data
                log.append((phase, s, src, to, c))
    return {finish}
"""


def _trust(body: str) -> str:
    return f"""
def lars_trust_ratio(w, g, weight_decay=0.0, trust_coefficient=0.001, eps=0.0):
    u = g + weight_decay * w
{body}
"""


_ZERO_GUARD = """    if np.linalg.norm(w) == 0 or np.linalg.norm(u) == 0:
        return 1.0
"""


def _shard(bounds: str, update: str = "p[lo:hi] - lr * m_hat / (np.sqrt(v_hat) + eps)",
           hats: str = "m_new / (1 - b1 ** t), v_new / (1 - b2 ** t)") -> str:
    return f"""
def adam_shard_step(p, g, m, v, t, rank, K, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    n = len(p)
{bounds}
    b1, b2 = betas
    gs = g[lo:hi]
    m_new = b1 * m + (1 - b1) * gs
    v_new = b2 * v + (1 - b2) * gs * gs
    m_hat, v_hat = {hats}
    return {update}, m_new, v_new
"""


_GOOD_BOUNDS = """    sizes = [len(a) for a in np.array_split(np.arange(n), K)]
    lo = sum(sizes[:rank])
    hi = lo + sizes[rank]"""


WRONG = [
    # -- exercise 1: the ring all-reduce
    Wrong("ex1", "sums but forgets to average", _ring(finish="bufs"),
          expect=("sum over the ranks", "divide by K")),
    Wrong("ex1", "all-gather phase missing", _ring(phases='("reduce-scatter",)'),
          expect=("all-gather phase", "missing")),
    Wrong("ex1", "reduce-scatter chunk index off by one", _ring(send_chunk="(r - s + 1) % K"),
          expect=("off by one",)),
    Wrong("ex1", "sends to the left neighbour", _ring(dst="(r - 1) % K"),
          expect=("wrong neighbour",)),
    Wrong("ex1", "adds into the input arrays", _ring(copy="x"),
          expect=("changed the input arrays",)),
    Wrong("ex1", "averages directly, no messages",
          "\ndef ring_allreduce(xs, log):\n    mean = np.mean(xs, axis=0)\n"
          "    return [mean.copy() for _ in xs]\n",
          expect=("no messages",)),
    Wrong("ex1", "all-gather adds instead of copying", _ring().replace(
          "chunks[to][c][...] = data", "chunks[to][c] += data"), expect=("replaces",)),
    Wrong("ex1", "all-gather uses the reduce-scatter chunk rule",
          _ring(gather_chunk="(r - s) % K"), expect=("all-gather step 0", r"\(r \+ 1 - s\) % K")),
    Wrong("ex1", "divides by n instead of K", _ring(finish="[b / len(b) for b in bufs]"),
          expect=("divided by n", "divide by K")),
    Wrong("ex1", "library's simulated ring",
          "\ndef ring_allreduce(xs, log):\n"
          "    return dist.simulate_ring_allreduce(xs, op='mean', trace=log)\n",
          expect=("switched off", "ring all-reduce")),
    # -- exercise 2: the LARS trust ratio
    Wrong("ex2", "ratio inverted",
          _trust(_ZERO_GUARD + "    return trust_coefficient * (np.linalg.norm(u) + eps) / "
                 "np.linalg.norm(w)"),
          expect=("inverted",)),
    Wrong("ex2", "norm of the gradient, weight decay missing",
          _trust(_ZERO_GUARD + "    return trust_coefficient * np.linalg.norm(w) / "
                 "(np.linalg.norm(g) + eps)"),
          expect=("weight decay",)),
    Wrong("ex2", "trust coefficient missing",
          _trust(_ZERO_GUARD + "    return np.linalg.norm(w) / (np.linalg.norm(u) + eps)"),
          expect=("trust coefficient is missing",)),
    Wrong("ex2", "eps added to the numerator",
          _trust(_ZERO_GUARD + "    return trust_coefficient * (np.linalg.norm(w) + eps) / "
                 "np.linalg.norm(u)"),
          expect=("eps goes under the fraction",)),
    Wrong("ex2", "zero-norm case not handled (returns 0)",
          _trust("    return trust_coefficient * np.linalg.norm(w) / (np.linalg.norm(u) + eps)"),
          expect=("zero-norm case",)),
    Wrong("ex2", "zero-norm case returns the trust coefficient",
          _trust("    if np.linalg.norm(w) == 0 or np.linalg.norm(u) == 0:\n"
                 "        return trust_coefficient\n"
                 "    return trust_coefficient * np.linalg.norm(w) / (np.linalg.norm(u) + eps)"),
          expect=("zero-norm case", "not the trust")),
    Wrong("ex2", "weight decay added after the norms", """
def lars_trust_ratio(w, g, weight_decay=0.0, trust_coefficient=0.001, eps=0.0):
    w_norm = np.linalg.norm(w)
    u_norm = np.linalg.norm(g) + weight_decay * w_norm
    if w_norm == 0 or u_norm == 0:
        return 1.0
    return trust_coefficient * w_norm / (u_norm + eps)
""", expect=("after the norms",)),
    Wrong("ex2", "zero-norm guard for w only", _trust("""    if np.linalg.norm(w) == 0:
        return 1.0
    return trust_coefficient * np.linalg.norm(w) / (np.linalg.norm(u) + eps)"""),
          expect=("zero-norm case", "g = 0")),
    Wrong("ex2", "squared norms", _trust(
          _ZERO_GUARD + """    return trust_coefficient * (w @ w) / (u @ u + eps)"""),
          expect=("squared norms",)),
    Wrong("ex2", "library's trust_ratio",
          _trust("    return trust_ratio(w, u, trust_coefficient, eps)"),
          expect=("switched off", "trust ratio")),
    # -- exercise 3: one rank's step of sharded Adam
    Wrong("ex3", "bias correction missing", _shard(_GOOD_BOUNDS, hats="m_new, v_new"),
          expect=("bias correction is missing",)),
    Wrong("ex3", "shards from n // K leave the rest out",
          _shard("    lo = rank * (n // K)\n    hi = lo + n // K"),
          expect=("left out", "array_split")),
    Wrong("ex3", "overlapping shard boundaries",
          _shard("    lo = rank * (n // K)\n    hi = lo + n // K + 1"),
          expect=("overlap",)),
    Wrong("ex3", "the last shard takes the rest",
          _shard("    lo = rank * (n // K)\n    hi = n if rank == K - 1 else lo + n // K"),
          expect=("first n % K shards are the longer",)),
    Wrong("ex3", "updates the whole vector",
          _shard(_GOOD_BOUNDS,
                 update="np.concatenate([p[:lo], p[lo:hi] - lr * m_hat / (np.sqrt(v_hat) + eps),"
                        " p[hi:]])"),
          expect=("whole vector",)),
    Wrong("ex3", "bias correction with t - 1", _shard(_GOOD_BOUNDS,
          hats="m_new / (1 - b1 ** (t - 1)), v_new / (1 - b2 ** (t - 1))"),
          expect=("t - 1",)),
    Wrong("ex3", "moments fed the whole gradient, not the shard", _shard(_GOOD_BOUNDS).replace(
          "gs = g[lo:hi]", "gs = g"), expect=(r"g\[lo:hi\] must be the rank's shard",)),
    Wrong("ex3", "library's Adam on the shard",
          "\ndef adam_shard_step(p, g, m, v, t, rank, K, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):"
          "\n    lo, hi = dist.shard_bounds(len(p), K)[rank]"
          "\n    q = p[lo:hi].copy()"
          "\n    opt = Adam(q, lr=lr, betas=betas, eps=eps)"
          "\n    opt.step(g[lo:hi])"
          "\n    return q, opt.state[0]['exp_avg'], opt.state[0]['exp_avg_sq']\n",
          expect=("switched off", "sharded Adam")),
]
