"""Bad input to an optimizer fails at once, with a message that names the culprit.

Runs over every optimizer in ``gdlib.optim.REGISTRY`` (read at collection time,
so optimizers added later are covered too). Which checks apply is read from
each constructor's signature: an optimizer without ``betas`` is not asked to
validate them.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from gdlib.errors import NonFiniteGradientError
from gdlib.optim import REGISTRY, create

#: Optimizers whose ``step`` takes other arguments than the gradients.
OTHER_STEP = {"newton", "lbfgs", "sam"}   # sam: step(grads, closure), see test_optim_sam.py


def _defaults(name: str) -> dict:
    sig = inspect.signature(REGISTRY[name])
    return {k: p.default for k, p in sig.parameters.items() if k != "params"}


def _param():
    # 2-D, so that Muon (weight matrices only) can be built too.
    return np.arange(1.0, 7.0).reshape(2, 3)


def _canonical_names() -> list[str]:
    """One registry name per class (the registry may hold aliases)."""
    by_class = {}
    for name, cls in REGISTRY.items():
        if by_class.get(cls) != cls.__name__.lower():
            by_class[cls] = name
    return sorted(by_class.values())


NAMES = _canonical_names()
STEPPERS = [n for n in NAMES if n not in OTHER_STEP]


def _names_with(arg: str) -> list[str]:
    return [n for n in NAMES if arg in _defaults(n)]


@pytest.mark.parametrize("name", _names_with("lr"))
@pytest.mark.parametrize("lr", [-0.1, -1e-12, float("inf"), float("nan")])
def test_bad_learning_rate(name, lr):
    with pytest.raises(ValueError, match=r"\blr\b"):
        create(name, _param(), lr=lr)


@pytest.mark.parametrize("name", _names_with("lr"))
def test_learning_rate_must_be_a_number(name):
    with pytest.raises(TypeError, match=r"\blr\b"):
        create(name, _param(), lr="0.1")


@pytest.mark.parametrize("name", _names_with("betas"))
@pytest.mark.parametrize("index", [0, 1])
@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5])
def test_betas_outside_unit_interval(name, index, bad):
    betas = list(_defaults(name)["betas"])
    betas[index] = bad
    with pytest.raises(ValueError, match=rf"betas\[{index}\]"):
        create(name, _param(), betas=tuple(betas))


@pytest.mark.parametrize("name", _names_with("betas"))
def test_betas_wrong_length(name):
    with pytest.raises(ValueError, match="betas"):
        create(name, _param(), betas=(0.9,))


@pytest.mark.parametrize("name", _names_with("eps"))
@pytest.mark.parametrize("bad", [0.0, -1e-8])
def test_eps_not_positive(name, bad):
    default = _defaults(name)["eps"]
    if isinstance(default, tuple):
        # Adafactor's (eps1 or None, eps2): a floor, where torch allows 0; only < 0 is wrong.
        if bad == 0:
            pytest.skip("Adafactor's eps2 may be 0 (as in torch.optim.Adafactor)")
        eps = default[:-1] + (bad,)
    elif name == "lars" and bad == 0:
        pytest.skip("LARS's eps is an optional term of the trust ratio, 0 by default (optax.lars)")
    else:
        eps = bad
    with pytest.raises(ValueError, match="eps"):
        create(name, _param(), eps=eps)


# Hyper-parameters specific to one optimizer: (optimizer, argument, bad value).
SPECIFIC = [
    ("adagrad", "lr_decay", -0.1),
    ("adagrad", "initial_accumulator_value", -1.0),
    ("adagrad", "weight_decay", -1e-4),
    ("rmsprop", "alpha", -0.5),
    ("rmsprop", "alpha", 1.0),
    ("rmsprop", "momentum", -0.9),
    ("rmsprop", "weight_decay", -1e-4),
    ("adadelta", "rho", -0.1),
    ("adadelta", "rho", 1.2),
    ("adadelta", "weight_decay", -1e-4),
    ("adamax", "weight_decay", -1e-4),
    ("nadam", "momentum_decay", -4e-3),
    ("nadam", "weight_decay", -1e-4),
    ("radam", "weight_decay", -1e-4),
    ("sgd", "momentum", -0.9),
    ("sgd", "weight_decay", -1e-4),
    ("adam", "weight_decay", -1e-4),
]


@pytest.mark.parametrize(
    ("name", "arg", "bad"), SPECIFIC, ids=[f"{n}-{a}-{b}" for n, a, b in SPECIFIC]
)
def test_specific_hyperparameters(name, arg, bad):
    with pytest.raises(ValueError, match=arg):
        create(name, _param(), **{arg: bad})


@pytest.mark.parametrize("name", STEPPERS)
def test_wrong_gradient_shape(name):
    w = _param()
    opt = create(name, {"weights": w})
    with pytest.raises(ValueError, match=r"'weights'.*shape \(3, 2\).*shape \(2, 3\)"):
        opt.step({"weights": np.ones((3, 2))})
    np.testing.assert_array_equal(w, _param())   # nothing was changed


@pytest.mark.parametrize("name", STEPPERS)
def test_wrong_number_of_gradients(name):
    opt = create(name, [_param(), _param()])
    with pytest.raises(ValueError, match="grads must match params"):
        opt.step([np.ones((2, 3))])


@pytest.mark.parametrize("name", STEPPERS)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_gradient(name, bad):
    w = _param()
    opt = create(name, {"weights": w})
    opt.step({"weights": np.full((2, 3), 0.5)})
    before = w.copy()
    g = np.full((2, 3), 0.5)
    g[1, 2] = bad
    with pytest.raises(NonFiniteGradientError, match=r"'weights'.*NaN or infinity at step 2"):
        opt.step({"weights": g})
    np.testing.assert_array_equal(w, before)
    assert opt.t == 1                             # the failed step did not count


def test_unknown_optimizer_name():
    with pytest.raises(ValueError, match=r"unknown optimizer 'adamm'.*Did you mean 'adam'"):
        create("adamm", _param())
    with pytest.raises(ValueError, match="unknown optimizer 'nope'"):
        create("nope", _param())


def test_create_is_case_insensitive():
    assert type(create("RMSprop", _param())) is REGISTRY["rmsprop"]
    assert type(create("NAdam", _param())) is REGISTRY["nadam"]


@pytest.mark.parametrize("cls", sorted(set(REGISTRY.values()), key=lambda c: c.__name__),
                         ids=lambda c: c.__name__)
def test_every_optimizer_is_registered_under_its_lower_case_name(cls):
    # The API contract: create(cls.__name__.lower(), ...) builds cls (aliases may exist too).
    assert REGISTRY.get(cls.__name__.lower()) is cls
