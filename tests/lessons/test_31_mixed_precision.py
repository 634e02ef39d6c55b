"""Lesson 31: round to nearest even, the dynamic loss-scale rule, a master-weights step."""

from harness import *  # noqa: F403
from harness import Wrong

LESSON = "31-mixed-precision"


def _round(body: str) -> str:
    return f"""
def round_mantissa(x, bits):
    m, e = np.frexp(np.asarray(x, dtype=float))
    return {body}
"""


def _update(body: str) -> str:
    return f"""
def update_scale(scale, tracker, found_inf, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000):
{body}
"""


def _master(body: str) -> str:
    return f"""
def master_step(master, grad16, lr, scale):
{body}
"""


CORRECT_TAIL = """    tracker += 1
    if tracker == growth_interval:
        return scale * growth_factor, 0, True
    return scale, tracker, True"""

WRONG = [
    Wrong("ex1", "truncation instead of rounding",
          _round("np.ldexp(np.trunc(np.ldexp(m, bits + 1)), e - bits - 1)"),
          expect=("truncation",)),
    Wrong("ex1", "floor instead of rounding",
          _round("np.ldexp(np.floor(np.ldexp(m, bits + 1)), e - bits - 1)"),
          expect=("np.floor",)),
    Wrong("ex1", "ties away from zero",
          _round("np.ldexp(np.sign(m) * np.floor(np.abs(np.ldexp(m, bits + 1)) + 0.5), "
                 "e - bits - 1)"),
          expect=("half to even",)),
    Wrong("ex1", "one bit too few (implicit bit forgotten)",
          _round("np.ldexp(np.round(np.ldexp(m, bits)), e - bits)"),
          expect=("one bit too few",)),
    Wrong("ex1", "one bit too many",
          _round("np.ldexp(np.round(np.ldexp(m, bits + 2)), e - bits - 2)"),
          expect=("one bit too many",)),
    Wrong("ex1", "decimal places instead of bits", _round("np.round(np.asarray(x, float), bits)"),
          expect=("decimal",)),
    Wrong("ex1", "cast to float16 whatever bits is", """
def round_mantissa(x, bits):
    return np.asarray(x, dtype=float).astype(np.float16).astype(float)
""", expect=("whatever `bits` is",)),
    Wrong("ex1", "mantissa rounded to decimal places", _round("np.ldexp(np.round(m, bits), e)"),
          expect=("decimal", "of m")),
    Wrong("ex1", "sign lost (frexp of |x|)", """
def round_mantissa(x, bits):
    m, e = np.frexp(np.abs(np.asarray(x, dtype=float)))
    return np.ldexp(np.round(np.ldexp(m, bits + 1)), e - bits - 1)
""", expect=("sign is lost",)),
    Wrong("ex1", "library's round_to", _round("round_to(x, 'float16')"),
          expect=("switched off",)),
    Wrong("ex2", "step taken on inf gradients", _update("""
    if found_inf:
        return scale * backoff_factor, 0, True
""" + CORRECT_TAIL), expect=("must be skipped",)),
    Wrong("ex2", "scale grown on an overflow step", _update("""
    if found_inf:
        return scale * growth_factor, 0, False
""" + CORRECT_TAIL), expect=("you grew it",)),
    Wrong("ex2", "scale not backed off", _update("""
    if found_inf:
        return scale, 0, False
""" + CORRECT_TAIL), expect=("left it unchanged",)),
    Wrong("ex2", "count kept after an overflow", _update("""
    if found_inf:
        return scale * backoff_factor, tracker, False
""" + CORRECT_TAIL), expect=("restarts the count",)),
    Wrong("ex2", "grows one step late (count compared before adding)", _update("""
    if found_inf:
        return scale * backoff_factor, 0, False
    if tracker == growth_interval:
        return scale * growth_factor, 0, True
    return scale, tracker + 1, True"""), expect=("one step later",)),
    Wrong("ex2", "count not restarted after growth", _update("""
    if found_inf:
        return scale * backoff_factor, 0, False
    tracker += 1
    if tracker == growth_interval:
        return scale * growth_factor, tracker, True
    return scale, tracker, True"""), expect=("restart the count at 0",)),
    Wrong("ex2", "take_step is found_inf (inverted)", _update("""
    if found_inf:
        return scale * backoff_factor, 0, found_inf
    tracker += 1
    if tracker == growth_interval:
        return scale * growth_factor, 0, found_inf
    return scale, tracker, found_inf"""), expect=("must be skipped", "take_step False")),
    Wrong("ex2", "scale divided by backoff_factor", _update("""
    if found_inf:
        return scale / backoff_factor, 0, False
""" + CORRECT_TAIL), expect=("times backoff_factor",)),
    Wrong("ex2", "scale grown at every good step", _update("""
    if found_inf:
        return scale * backoff_factor, 0, False
    return scale * growth_factor, 0, True"""), expect=("too early",)),
    Wrong("ex2", "library's GradScaler", _update("""
    s = GradScaler(scale, growth_factor, backoff_factor, growth_interval)
    s.growth_tracker = tracker
    s.update(bool(found_inf))
    return s.scale, s.growth_tracker, not found_inf"""), expect=("switched off",)),
    Wrong("ex3", "master weights updated from the fp16 copy", _master("""
    w16 = master.astype(np.float16)
    new16 = w16 - np.float16(lr) * (grad16 / np.float16(scale))
    return new16.astype(np.float32), new16"""), expect=("updated the float16 copy",)),
    Wrong("ex3", "scale not divided out before the step", _master("""
    new = (master - np.float32(lr) * grad16.astype(np.float32)).astype(np.float32)
    return new, new.astype(np.float16)"""), expect=("not divided by the loss scale",)),
    Wrong("ex3", "scale multiplied instead of divided", _master("""
    g = grad16.astype(np.float32) * np.float32(scale)
    new = (master - np.float32(lr) * g).astype(np.float32)
    return new, new.astype(np.float16)"""), expect=("divide the gradient",)),
    Wrong("ex3", "unscaled in float16 (underflow)", _master("""
    g = (grad16 / np.float16(scale)).astype(np.float32)
    new = (master - np.float32(lr) * g).astype(np.float32)
    return new, new.astype(np.float16)"""), expect=("unscaled in float16",)),
    Wrong("ex3", "fp16 copy of the old weights", _master("""
    g = grad16.astype(np.float32) / np.float32(scale)
    new = (master - np.float32(lr) * g).astype(np.float32)
    return new, master.astype(np.float16)"""), expect=("old",)),
    Wrong("ex3", "step along the gradient", _master("""
    g = grad16.astype(np.float32) / np.float32(scale)
    new = (master + np.float32(lr) * g).astype(np.float32)
    return new, new.astype(np.float16)"""), expect=("sign is flipped",)),
    Wrong("ex3", "weights16 rounded but kept as float32", _master("""
    g = grad16.astype(np.float32) / np.float32(scale)
    new = (master - np.float32(lr) * g).astype(np.float32)
    return new, new.astype(np.float16).astype(np.float32)"""), expect=("float16 copy",)),
    Wrong("ex3", "master weights come back as float64", _master("""
    g = grad16.astype(np.float64) / scale
    new = master - lr * g
    return new, new.astype(np.float16)"""), expect=("stays float32",)),
    Wrong("ex3", "divided by the scale twice", _master("""
    g = grad16.astype(np.float32) / np.float32(scale)
    new = (master - np.float32(lr / scale) * g).astype(np.float32)
    return new, new.astype(np.float16)"""), expect=("scale twice",)),
    Wrong("ex3", "library's GradScaler unscale", _master("""
    (g,), _ = GradScaler(scale).unscale([grad16])
    new = (master - np.float32(lr) * g).astype(np.float32)
    return new, new.astype(np.float16)"""), expect=("switched off",)),
]
