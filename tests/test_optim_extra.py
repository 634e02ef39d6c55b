"""Lion, Muon, ScheduleFreeAdamW, Adafactor, Newton and L-BFGS against their references.

The fixture ``tests/fixtures/optim_extra.npz`` comes from
``tools/reference/extra_optim.py`` (run with the reference environment; this
file imports neither torch nor jax). References: ``optax.lion``,
``optax.contrib.schedule_free_adamw`` (jax x64), ``torch.optim.Muon``,
``torch.optim.Adafactor`` and ``torch.optim.LBFGS`` (torch 2.13, float64).

Replay (Lion, Muon, ScheduleFreeAdamW, Adafactor): the stored gradients are fed
to gdlib and the parameters after every step must match the reference's to a
relative error of 1e-10 (max-norm of the difference over max-norm of the
reference). For schedule-free both sequences are checked: the training point
y (the parameters) and the averaged point x (``eval_params``).

Muon: torch runs the Newton-Schulz iteration in bfloat16. The fixture script
monkeypatches torch's helper ``_zeropower_via_newtonschulz`` to run the same
iteration in float64 (and checks that in bfloat16 the replacement reproduces
torch's helper bit for bit), so the update rule is compared at 1e-10 rather than
at bfloat16's ~1e-2.

L-BFGS is compared in closed loop: gdlib recomputes the gradients at its own
iterates with the same NumPy formulas the fixture script used. torch adds
``t * d`` to the parameters with one rounding (``add_(d, alpha=t)``) where NumPy
rounds twice, and its dot products sum in a different order, so the iterates
differ in the last bits from the first iteration on; L-BFGS then feeds those
differences back through the curvature pairs (``1 / y's``), and the strong-Wolfe
search's branch decisions could amplify them further. Tolerances:

* least squares (a convex quadratic, condition number ~10): 1e-8 relative at
  every outer step. The observed error is ~1e-14; the margin covers BLAS
  summation orders on other machines.
* Rosenbrock: 1e-6 relative at every step. Along the curved valley floor the
  curvature pairs are ill-conditioned (y's small), so last-bit differences grow
  by several orders of magnitude over 60 function evaluations; the observed
  error is about 1e-13, and 1e-6 still distinguishes any change to the algorithm
  (a different step rule moves the iterates by 1e-2 or more).
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

from gdlib import backend
from gdlib.optim import (
    LBFGS,
    REGISTRY,
    Adafactor,
    Lion,
    Muon,
    Newton,
    ScheduleFreeAdamW,
    create,
)
from gdlib.optim.newton import SingularHessianError

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "optim_extra.npz"
REPLAY_RTOL = 1e-10
LBFGS_RTOL = {"lstsq": 1e-8, "rosenbrock": 1e-6}

_Z = np.load(FIXTURE, allow_pickle=False)
CASES = json.loads(str(_Z["cases"]))
META = {c: json.loads(str(_Z[f"{c}/meta"])) for c in CASES}
REPLAY_CASES = [c for c in CASES if META[c]["optimizer"] != "lbfgs"]
LBFGS_CASES = [c for c in CASES if META[c]["optimizer"] == "lbfgs"]
DATA = {k.split("/", 1)[1]: _Z[k] for k in _Z.files if k.startswith("problems/")}


# -- the fixture's problems, with the same NumPy formulas ------------------------------


def rosenbrock(x):
    x0, x1 = x.reshape(-1)
    return (1 - x0) ** 2 + 100 * (x1 - x0**2) ** 2


def rosenbrock_grad(x):
    x0, x1 = x.reshape(-1)
    g = np.array([-2 * (1 - x0) - 400 * x0 * (x1 - x0**2), 200 * (x1 - x0**2)])
    return g.reshape(x.shape)


def lstsq(W):
    r = DATA["A"] @ W - DATA["B"]
    return 0.5 * np.sum(r * r) / DATA["A"].shape[0]


def lstsq_grad(W):
    A = DATA["A"]
    return A.T @ (A @ W - DATA["B"]) / A.shape[0]


PROBLEMS = {"rosenbrock": (rosenbrock, rosenbrock_grad), "lstsq": (lstsq, lstsq_grad)}


def hyper_of(case):
    """The case's hyper-parameters, with JSON lists turned back into tuples."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in META[case]["hyper"].items()}


def rel_error(got, want):
    got, want = backend.to_host(got), np.asarray(want)
    return float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-300))


# -- replay ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", REPLAY_CASES)
def test_replay_matches_reference(case, cpu_backend):
    meta = META[case]
    x = _Z[f"{case}/x0"].copy()
    opt = create(meta["optimizer"], x, **hyper_of(case))
    grads, want = _Z[f"{case}/grads"], _Z[f"{case}/params"]
    want_x = _Z[f"{case}/eval_params"] if f"{case}/eval_params" in _Z.files else None
    for k in range(len(grads)):
        opt.step(grads[k].copy())
        err = rel_error(x, want[k])
        assert err <= REPLAY_RTOL, (
            f"{case}: step {k + 1}: params differ from {meta['reference']} by {err:.2e}"
        )
        if want_x is not None:
            err_x = rel_error(opt.eval_params(), want_x[k])
            assert err_x <= REPLAY_RTOL, (
                f"{case}: step {k + 1}: eval_params (x) differ by {err_x:.2e}"
            )
    # The comparison is not vacuous: the parameters moved well beyond the tolerance.
    assert rel_error(want[-1], _Z[f"{case}/x0"]) > 1e-4


def test_every_optimizer_has_default_and_custom_cases():
    by_opt = {}
    for c in CASES:
        by_opt.setdefault(META[c]["optimizer"], []).append(c)
    assert set(by_opt) == {"lion", "muon", "schedulefree_adamw", "adafactor", "lbfgs"}
    for name, cases in by_opt.items():
        if name == "lbfgs":
            hypers = [META[c]["hyper"].get("line_search_fn") for c in cases]
            assert None in hypers and "strong_wolfe" in hypers
            continue
        assert any(META[c]["hyper"] == {} for c in cases), name
        assert any(META[c]["hyper"] for c in cases), name
        eps = [META[c]["hyper"].get("eps") for c in cases]
        if name != "lion":  # Lion has no eps
            assert any(e is not None and min(np.ravel(e)) >= 1e-3 for e in eps), name


# -- L-BFGS, closed loop -----------------------------------------------------------------


def run_lbfgs(case, x=None):
    meta = META[case]
    f, grad = PROBLEMS[meta["problem"]]
    x = _Z[f"{case}/x0"].copy() if x is None else x
    opt = LBFGS(x, **hyper_of(case))

    def closure():
        return f(x), grad(x)

    return x, opt, closure


@pytest.mark.parametrize("case", LBFGS_CASES)
def test_lbfgs_closed_loop_matches_torch(case, cpu_backend):
    x, opt, closure = run_lbfgs(case)
    want, losses = _Z[f"{case}/params"], _Z[f"{case}/losses"]
    rtol = LBFGS_RTOL[META[case]["problem"]]
    for k in range(len(want)):
        loss = opt.step(closure)
        assert abs(loss - losses[k]) <= rtol * max(abs(losses[k]), 1e-12), (case, k, loss)
        err = rel_error(x, want[k])
        assert err <= rtol, f"{case}: outer step {k + 1}: params differ from torch by {err:.2e}"
    assert opt.state[0]["func_evals"] == int(_Z[f"{case}/func_evals"])
    assert opt.state[0]["n_iter"] == int(_Z[f"{case}/n_iter"])


def test_lbfgs_solves_least_squares():
    # torch's default tolerance_change=1e-9 stops once the loss moves less than 1e-9;
    # with tighter tolerances the iterates reach the least-squares solution.
    x = _Z["lbfgs-wolfe-lstsq/x0"].copy()
    opt = LBFGS(x, line_search_fn="strong_wolfe", tolerance_grad=1e-12, tolerance_change=1e-15)
    opt.step(lambda: (lstsq(x), lstsq_grad(x)))
    w_star = np.linalg.lstsq(DATA["A"], DATA["B"], rcond=None)[0]
    assert np.max(np.abs(x - w_star)) < 1e-8        # one call: 20 iterations, 15 unknowns


def test_lbfgs_list_of_params_is_one_flat_vector():
    """Two arrays are optimized as one vector: the same iterates as a single array."""
    A, B = DATA["A"], DATA["B"]
    W1 = _Z["lbfgs-wolfe-lstsq/x0"].copy()
    parts = [W1[:2].copy(), W1[2:].copy()]
    opt1 = LBFGS(W1, max_iter=3, line_search_fn="strong_wolfe")
    opt2 = LBFGS(parts, max_iter=3, line_search_fn="strong_wolfe")

    def closure2():
        W = np.concatenate(parts)
        g = lstsq_grad(W)
        return lstsq(W), [g[:2], g[2:]]

    for _ in range(4):
        opt1.step(lambda: (lstsq(W1), lstsq_grad(W1)))
        opt2.step(closure2)
    np.testing.assert_allclose(np.concatenate(parts), W1, rtol=1e-12, atol=1e-14)
    assert np.max(np.abs(W1 - np.linalg.lstsq(A, B, rcond=None)[0])) < 1e-3


# -- Newton -------------------------------------------------------------------------------


def test_newton_solves_a_quadratic_in_one_step():
    rng = np.random.default_rng(3)
    M = rng.standard_normal((5, 5))
    A = M @ M.T + 5 * np.eye(5)
    b = rng.standard_normal(5)
    x = rng.standard_normal(5)
    opt = Newton(x)
    opt.step(A @ x - b, A)                      # f = x'Ax/2 - b'x
    np.testing.assert_allclose(x, np.linalg.solve(A, b), rtol=1e-12, atol=1e-12)


def rosen_hessian(x):
    x0, x1 = x
    return np.array([[2 - 400 * (x1 - x0**2) + 800 * x0**2, -400 * x0], [-400 * x0, 200.0]])


def test_newton_converges_quadratically_on_rosenbrock():
    x = np.array([0.95, 0.9])                   # near the minimum (1, 1), in the valley
    opt = Newton(x)
    errors = [np.linalg.norm(x - 1)]
    for _ in range(5):
        opt.step(rosenbrock_grad(x), rosen_hessian(x))
        errors.append(np.linalg.norm(x - 1))
    assert errors[-1] < 1e-11, errors
    # Quadratic: e_{k+1} <= C e_k^2 (here C is about 5), so the digits double each step;
    # a linearly convergent method would need hundreds of steps on this valley.
    for e0, e1 in zip(errors, errors[1:]):
        if e0 > 1e-10:
            assert e1 <= 10 * e0**2, errors


def test_newton_step_size_and_damping_shorten_the_step():
    A = np.diag([1.0, 4.0])
    x = np.array([2.0, 2.0])
    Newton(x, lr=0.5).step(A @ x, A)
    np.testing.assert_allclose(x, [1.0, 1.0])   # half the Newton step
    x = np.array([2.0, 2.0])
    Newton(x, damping=1.0).step(A @ x, A)        # x - (A + I)^-1 A x
    np.testing.assert_allclose(x, [2 - 2 * 1 / 2, 2 - 2 * 4 / 5])


def test_newton_singular_hessian_suggests_damping():
    x = np.array([1.0, 1.0])
    H = np.array([[1.0, 0.0], [0.0, 0.0]])
    with pytest.raises(SingularHessianError, match="damping"):
        Newton(x).step(np.array([1.0, 1.0]), H)
    Newton(x, damping=1e-3).step(np.array([1.0, 1.0]), H)
    assert np.all(np.isfinite(x))


def test_newton_needs_one_flat_vector_and_a_square_hessian():
    with pytest.raises(ValueError, match="one flat vector"):
        Newton(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="one flat vector"):
        Newton([np.zeros(2), np.zeros(2)])
    with pytest.raises(ValueError, match=r"\(2, 2\)"):
        Newton(np.zeros(2)).step(np.zeros(2), np.eye(3))


# -- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [Lion, Muon, ScheduleFreeAdamW, Adafactor, Newton, LBFGS])
def test_negative_lr_is_refused(cls):
    with pytest.raises(ValueError, match="lr=-0.1"):
        cls(np.zeros((2, 2)) if cls is Muon else np.zeros(2), lr=-0.1)


@pytest.mark.parametrize(
    "cls, kwargs, name",
    [
        (Lion, {"betas": (1.0, 0.99)}, "betas[0]"),
        (Lion, {"weight_decay": -1.0}, "weight_decay"),
        (Muon, {"momentum": -0.5}, "momentum"),
        (Muon, {"eps": 0.0}, "eps"),
        (Muon, {"ns_steps": 100}, "ns_steps"),
        (Muon, {"adjust_lr_fn": "sqrt"}, "adjust_lr_fn"),
        (ScheduleFreeAdamW, {"betas": (0.0, 0.999)}, "betas[0]"),
        (ScheduleFreeAdamW, {"eps": -1e-8}, "eps"),
        (ScheduleFreeAdamW, {"warmup_steps": -3}, "warmup_steps"),
        (Adafactor, {"beta2_decay": 0.5}, "beta2_decay"),
        (Adafactor, {"d": 0.5}, "d=0.5"),
        (Adafactor, {"eps": (None, -1.0)}, "eps[1]"),
        (Newton, {"damping": -1.0}, "damping"),
        (LBFGS, {"line_search_fn": "armijo"}, "line_search_fn"),
        (LBFGS, {"history_size": 0}, "history_size"),
        (LBFGS, {"max_iter": 0}, "max_iter"),
    ],
)
def test_bad_hyper_parameters_name_the_parameter(cls, kwargs, name):
    params = np.zeros((2, 2)) if cls is Muon else np.zeros(2)
    with pytest.raises(ValueError) as info:
        cls(params, **kwargs)
    assert name in str(info.value)


def test_muon_refuses_non_matrices_naming_the_parameter():
    with pytest.raises(ValueError, match=r"'bias' has shape \(3,\)"):
        Muon({"weight": np.zeros((3, 2)), "bias": np.zeros(3)})
    with pytest.raises(ValueError, match="2-D"):
        Muon(np.zeros((2, 2, 2)))


def test_lbfgs_step_needs_a_closure_returning_loss_and_grads():
    x = np.ones(2)
    opt = LBFGS(x)
    with pytest.raises(TypeError, match="closure"):
        opt.step(np.ones(2))
    with pytest.raises(TypeError, match=r"\(loss, grads\)"):
        opt.step(lambda: 1.0)
    with pytest.raises(ValueError, match="shape"):
        opt.step(lambda: (1.0, np.ones(3)))


def test_registry_names():
    for name, cls in [("lion", Lion), ("muon", Muon), ("schedulefree_adamw", ScheduleFreeAdamW),
                      ("schedule_free_adamw", ScheduleFreeAdamW),
                      ("schedulefreeadamw", ScheduleFreeAdamW), ("adafactor", Adafactor),
                      ("newton", Newton), ("lbfgs", LBFGS)]:
        assert REGISTRY[name] is cls


def test_schedule_free_eval_params_keeps_the_structure():
    params = {"w": np.ones((2, 3)), "b": np.zeros(3)}
    opt = ScheduleFreeAdamW(params, lr=0.1)
    x = opt.eval_params()
    assert set(x) == {"w", "b"} and x["w"] is not params["w"]
    np.testing.assert_array_equal(x["w"], params["w"])         # before a step, x = y
    opt.step({"w": np.ones((2, 3)), "b": np.ones(3)})
    np.testing.assert_allclose(opt.eval_params()["w"], params["w"])   # c_1 = 1: x_1 = z_1 = y_1
    opt.step({"w": -np.ones((2, 3)), "b": np.ones(3)})
    x = opt.eval_params()
    assert x["w"].shape == (2, 3)
    assert not np.allclose(x["w"], params["w"])                 # x and y part after a step
    assert isinstance(ScheduleFreeAdamW([np.ones(2)]).eval_params(), list)


# -- state_dict round trip -----------------------------------------------------------------


@pytest.mark.parametrize("case", [
    "lion-custom-lstsq", "muon-custom-lstsq", "sfadamw-custom-lstsq", "adafactor-default-tensor3",
    "adafactor-custom-rosenbrock",
])
def test_state_dict_round_trip(case):
    meta = META[case]
    grads = _Z[f"{case}/grads"]
    x = _Z[f"{case}/x0"].copy()
    opt = create(meta["optimizer"], x, **hyper_of(case))
    for k in range(10):
        opt.step(grads[k].copy())
    saved = opt.state_dict()
    x2 = x.copy()
    opt2 = create(meta["optimizer"], x2, lr=0.123)     # hyper-parameters come from the state
    opt2.load_state_dict(saved)
    for k in range(10, 20):
        opt.step(grads[k].copy())
        opt2.step(grads[k].copy())
    np.testing.assert_array_equal(x2, x)
    np.testing.assert_allclose(x, _Z[f"{case}/params"][19], rtol=1e-10, atol=1e-12)


def test_lbfgs_state_dict_round_trip():
    case = "lbfgs-wolfe-rosenbrock"
    x, opt, closure = run_lbfgs(case)
    for _ in range(3):
        opt.step(closure)
    saved = opt.state_dict()
    assert all(isinstance(a, np.ndarray) for a in saved["state"][0]["old_dirs"])
    x2, opt2, closure2 = run_lbfgs(case, x=x.copy())
    opt2.load_state_dict(saved)
    for _ in range(3):
        opt.step(closure)
        opt2.step(closure2)
    np.testing.assert_array_equal(x2, x)


# -- GPU parity -----------------------------------------------------------------------------

GPU_CASES = ["lion-custom-lstsq", "muon-default-lstsq", "sfadamw-custom-lstsq",
             "adafactor-default-tensor3", "adafactor-default-rosenbrock"]


@pytest.mark.gpu
@pytest.mark.skipif(not backend.gpu_available(),
                    reason=f"no usable GPU for the CuPy parity test: {backend._cupy()[1]}")
@pytest.mark.parametrize("case", GPU_CASES + ["newton", "lbfgs-wolfe-lstsq"])
def test_gpu_matches_cpu(case):
    """The same rule on CuPy and on NumPy agrees to 1e-6 (relative) at every step."""
    def run(device):
        previous = backend.device()
        xp = backend.use(device)
        try:
            if case == "newton":
                x = xp.asarray([1.05, 1.08])
                opt, path = Newton(x, damping=1e-3), []
                for _ in range(5):
                    h = backend.to_host(x)
                    opt.step(xp.asarray(rosenbrock_grad(h)), xp.asarray(rosen_hessian(h)))
                    path.append(backend.to_host(x).copy())
                return path
            if case.startswith("lbfgs"):
                x = xp.asarray(_Z[f"{case}/x0"])
                A, B = xp.asarray(DATA["A"]), xp.asarray(DATA["B"])
                opt, path = LBFGS(x, **hyper_of(case)), []

                def closure():
                    r = A @ x - B
                    return float((r * r).sum()) / 2 / A.shape[0], A.T @ r / A.shape[0]

                for _ in range(5):
                    opt.step(closure)
                    path.append(backend.to_host(x).copy())
                return path
            x = xp.asarray(_Z[f"{case}/x0"])
            opt, path = create(META[case]["optimizer"], x, **hyper_of(case)), []
            for g in _Z[f"{case}/grads"]:
                opt.step(xp.asarray(g))
                path.append(backend.to_host(x).copy())
            return path
        finally:
            backend.use(previous)

    for k, (c, g) in enumerate(zip(run("cpu"), run("gpu"))):
        assert rel_error(g, c) <= 1e-6, f"{case}: step {k + 1}: GPU differs from CPU"
