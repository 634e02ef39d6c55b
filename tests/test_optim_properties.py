"""Properties every optimizer in the registry must have (checked with hypothesis).

The registry is read at collection time, so optimizers added later are covered
too. Skipped: Newton and L-BFGS, whose ``step`` takes a Hessian or a closure
rather than the gradients. Every problem uses a 2-D parameter (3 x 2) so that
Muon, which only updates matrices, runs the same tests; the element-wise
optimizers do not care about the shape.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gdlib.optim import GD, REGISTRY, create

OTHER_STEP = {"newton", "lbfgs", "sam"}   # sam: step(grads, closure), see test_optim_sam.py
SHAPE = (3, 2)
FAST = settings(max_examples=25, deadline=None)


def _canonical_names() -> list[str]:
    """One registry name per class (the registry may hold aliases)."""
    by_class = {}
    for name, cls in REGISTRY.items():
        if by_class.get(cls) != cls.__name__.lower():
            by_class[cls] = name
    return sorted(n for n in by_class.values() if n not in OTHER_STEP)


NAMES = _canonical_names()
ELEMENTWISE = [n for n in NAMES if REGISTRY[n].elementwise]


def _takes(name: str, arg: str) -> bool:
    return arg in inspect.signature(REGISTRY[name]).parameters


def _no_decay(name: str) -> dict:
    # ASGD's lambd shrinks the weights on every step, like a weight decay.
    return {k: 0.0 for k in ("weight_decay", "lambd") if _takes(name, k)}


def _quadratic(seed: int, n: int, low: float, high: float):
    """A random symmetric matrix with eigenvalues spread evenly over [low, high]."""
    r = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(r.standard_normal((n, n)))
    return Q @ np.diag(np.linspace(low, high, n)) @ Q.T, r


# -- a zero gradient does nothing ------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@FAST
@given(
    x0=arrays(np.float64, SHAPE, elements=st.floats(-10, 10, allow_subnormal=False)),
    steps=st.integers(1, 5),
)
def test_zero_gradient_leaves_parameters_unchanged(name, x0, steps):
    x = x0.copy()
    opt = create(name, x, **_no_decay(name))
    for _ in range(steps):
        opt.step(np.zeros(SHAPE))
    # Tight, but not bit-exact: an optimizer may legitimately rebuild x as a convex
    # combination of equal points (schedule-free), which can round in the last bit
    # (subnormal starting values are left out: there the last bit is the whole value).
    np.testing.assert_allclose(x, x0, rtol=1e-13, atol=0)


# -- plain gradient descent has a closed form on a quadratic --------------------------


@FAST
@given(seed=st.integers(0, 2**32 - 1), lr=st.floats(0.01, 0.9), t=st.integers(1, 40))
def test_gd_matches_closed_form_on_quadratic(seed, lr, t):
    # f(x) = x^T A x / 2, gradient A x, so x_t = (I - lr A)^t x_0; eigenvalues of A in
    # [0.5, 2] and lr < 1 keep every factor |1 - lr λ| below 1.
    n = 4
    A, r = _quadratic(seed, n, 0.5, 2.0)
    x0 = r.uniform(-3, 3, n)
    x = x0.copy()
    opt = GD(x, lr=lr)
    for _ in range(t):
        opt.step(A @ x)
    want = np.linalg.matrix_power(np.eye(n) - lr * A, t) @ x0
    np.testing.assert_allclose(x, want, rtol=1e-10, atol=1e-12 * np.abs(x0).max())


# -- every optimizer finds the minimum of a well-conditioned quadratic ----------------

#: lower-case class name -> (hyper-parameters, lr decay per step or None). Sign-like updates
#: (Lion, Muon, RMSprop near the minimum) need a decaying rate to settle, and Adam's relatives
#: a slowly decaying one to stop oscillating; the others run at a fixed lr.
CONVERGENCE = {
    "gd": ({"lr": 0.6}, None),
    "sgd": ({"lr": 0.3, "momentum": 0.5, "nesterov": True}, None),
    "adagrad": ({"lr": 1.0}, None),
    "rmsprop": ({"lr": 0.1}, 0.99),
    "adadelta": ({"lr": 0.5, "eps": 1e-2}, None),
    "adam": ({"lr": 0.1}, 0.995),
    "adamw": ({"lr": 0.1, "weight_decay": 0.0}, 0.995),
    "adamax": ({"lr": 0.2}, None),
    "nadam": ({"lr": 0.1}, 0.995),
    "radam": ({"lr": 0.2}, 0.995),
    "lion": ({"lr": 0.2, "weight_decay": 0.0}, 0.98),
    "muon": ({"lr": 0.2, "weight_decay": 0.0}, 0.98),
    "schedulefreeadamw": ({"lr": 0.5, "betas": (0.95, 0.999)}, None),
    "adafactor": ({"lr": 0.3}, 0.99),
    "rprop": ({"lr": 0.1}, None),
    "asgd": ({"lr": 0.6, "lambd": 0.0, "t0": 100}, None),
    "lars": ({"lr": 1.0, "trust_coefficient": 0.1, "momentum": 0.5}, 0.98),   # steps of
    "lamb": ({"lr": 0.1}, 0.98),        # a fixed fraction of |x| settle only as the lr decays
}
STEPS = 400
TOL = 1e-3   # max |x - x*| after STEPS steps, from a start up to 3 away per coordinate


@pytest.mark.parametrize("name", NAMES)
@FAST
@given(seed=st.integers(0, 2**32 - 1))
def test_reaches_minimum_of_well_conditioned_quadratic(name, seed):
    key = REGISTRY[name].__name__.lower()
    if key not in CONVERGENCE:
        pytest.fail(f"add a convergence setting (lr, decay) for {key!r} to CONVERGENCE")
    hyper, decay = CONVERGENCE[key]
    # f(X) = vec(X - X*)^T H vec(X - X*) / 2, eigenvalues of H in [1, 2] (condition number 2).
    H, r = _quadratic(seed, int(np.prod(SHAPE)), 1.0, 2.0)
    x_star = r.uniform(-1, 1, SHAPE)
    x = r.uniform(-2, 2, SHAPE)
    opt = create(name, x, **hyper)
    lr0 = opt.lr
    for t in range(1, STEPS + 1):
        opt.step((H @ (x - x_star).ravel()).reshape(SHAPE))
        if decay:
            opt.lr = lr0 * decay**t
    # Schedule-free methods evaluate at their averaged point.
    final = opt.eval_params() if hasattr(opt, "eval_params") else x
    err = np.abs(final - x_star).max()
    assert err <= TOL, f"{name}: |x - x*| = {err:.3g} after {STEPS} steps (tolerance {TOL})"


# -- one array, a list or a dict: the same numbers ------------------------------------


def _gradients(seed: int, shapes, steps: int = 6):
    r = np.random.default_rng(seed)
    return [[r.standard_normal(s) for s in shapes] for _ in range(steps)]


@pytest.mark.parametrize("name", NAMES)
def test_array_list_and_dict_give_identical_results(name):
    x0 = np.random.default_rng(1).standard_normal(SHAPE)
    grads = _gradients(2, [SHAPE])

    single = x0.copy()
    in_list = [x0.copy()]
    in_dict = {"w": x0.copy()}
    opts = [create(name, single), create(name, in_list), create(name, in_dict)]
    for (g,) in grads:
        opts[0].step(g)
        opts[1].step([g])
        opts[2].step({"w": g})
    np.testing.assert_array_equal(in_list[0], single)
    np.testing.assert_array_equal(in_dict["w"], single)
    assert not np.array_equal(single, x0)

    # Two parameters: a list and a dict in the same order agree too.
    shapes = [SHAPE, (2, 4)]
    r = np.random.default_rng(3)
    a0, b0 = r.standard_normal(shapes[0]), r.standard_normal(shapes[1])
    two_list = [a0.copy(), b0.copy()]
    two_dict = {"a": a0.copy(), "b": b0.copy()}
    opt_l, opt_d = create(name, two_list), create(name, two_dict)
    for ga, gb in _gradients(4, shapes):
        opt_l.step([ga, gb])
        opt_d.step({"a": ga, "b": gb})
    np.testing.assert_array_equal(two_dict["a"], two_list[0])
    np.testing.assert_array_equal(two_dict["b"], two_list[1])


# -- the sliced (cache-blocked) path equals one call on the whole array ---------------------

#: Non-default settings so the sliced path runs every branch of the rule.
CHUNK_HYPER = {
    "sgd": {"lr": 0.01, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
    "adagrad": {"lr_decay": 0.01, "weight_decay": 0.01, "initial_accumulator_value": 0.1},
    "rmsprop": {"momentum": 0.9, "centered": True, "weight_decay": 0.01},
    "adadelta": {"weight_decay": 0.01},
    "adam": {"amsgrad": True, "weight_decay": 0.01},
    "adamw": {"amsgrad": True},
    "adamax": {"weight_decay": 0.01},
    "nadam": {"weight_decay": 0.01, "decoupled_weight_decay": True},
    "radam": {"weight_decay": 0.01, "betas": (0.9, 0.99)},
}


def _count_updates(opt):
    calls = []
    update = opt.update

    def counted(p, g, state, t):
        calls.append(p.size)
        update(p, g, state, t)

    opt.update = counted
    return calls


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_sliced_path_is_exact(name):
    shape = (41, 27)                      # 1107 elements: 9 slices of at most 128
    chunk = 128
    x0 = np.random.default_rng(5).standard_normal(shape)
    hyper = CHUNK_HYPER.get(name, {})

    whole = x0.copy()
    sliced = x0.copy()
    opt_whole = create(name, whole, **hyper)
    opt_sliced = create(name, sliced, **hyper)
    opt_sliced.chunk_size = chunk
    calls = _count_updates(opt_sliced)
    whole_calls = _count_updates(opt_whole)

    steps = 25                            # past RAdam's 5-step warm-up with betas[1]=0.99
    for (g,) in _gradients(6, [shape], steps=steps):
        opt_whole.step(g)
        opt_sliced.step(g)
    assert len(whole_calls) == steps      # the default chunk size keeps this array whole
    assert len(calls) == steps * -(-x0.size // chunk), "the sliced path was not taken"
    assert max(calls) == chunk
    np.testing.assert_array_equal(sliced, whole)
    for key in opt_whole.state[0]:
        np.testing.assert_array_equal(opt_sliced.state[0][key], opt_whole.state[0][key])
