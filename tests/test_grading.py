"""gdlib.grading: each diagnosis fires on the mistake it describes, and only then."""

from __future__ import annotations

import numpy as np
import pytest

from gdlib import grading
from gdlib.grading import (
    Feedback,
    check_close,
    check_function,
    check_shape,
    check_true,
    check_update_rule,
)

W = np.array([1.0, -2.0, 3.0])


def feedback(fn, *args, **kwargs) -> Feedback:
    with pytest.raises(Feedback) as info:
        fn(*args, **kwargs)
    assert isinstance(info.value, AssertionError)  # nbgrader counts it as a failed test
    return info.value


# -- passing ----------------------------------------------------------------------


def test_a_correct_answer_passes_and_says_so(capsys):
    check_close(W + 1e-9, W, "grad")
    check_close(2.0, 2, "f'(1)")
    check_close([1.0, -2.0, 3.0], W, "a list is read as an array")
    assert "\u2713 grad" in capsys.readouterr().out


def test_verbose_off_is_silent(capsys, monkeypatch):
    monkeypatch.setattr(grading, "VERBOSE", False)
    check_close(W, W, "grad")
    assert capsys.readouterr().out == ""


def test_tolerance_is_numpy_isclose():
    check_close(1.0 + 5e-7, 1.0, rtol=1e-6, atol=0)
    fb = feedback(check_close, 1.0 + 2e-6, 1.0, "x", rtol=1e-6, atol=0)
    assert fb.kind == "value"
    check_close(1e-10, 0.0, atol=1e-9)


# -- nothing usable came back --------------------------------------------------------


def test_none_suggests_a_missing_return():
    fb = feedback(check_close, None, W, "grad")
    assert fb.kind == "none" and "return" in str(fb) and "grad" in str(fb)


def test_a_function_instead_of_its_value():
    fb = feedback(check_close, np.sin, W, "grad")
    assert fb.kind == "callable" and "call it" in str(fb)


def test_text_instead_of_numbers():
    fb = feedback(check_close, "1, 2, 3", W, "grad")
    assert fb.kind == "type" and "str" in str(fb)


def test_a_tuple_where_one_number_is_expected():
    fb = feedback(check_close, (2.0, 3.0), 2.0, "slope")
    assert fb.kind == "tuple" and "2 values" in str(fb)


def test_ragged_lists_are_reported():
    fb = feedback(check_close, [[1.0, 2.0], [3.0]], np.ones((2, 2)), "M")
    assert fb.kind == "type"


# -- not implemented / exceptions -------------------------------------------------------


def test_not_implemented_says_the_exercise_is_not_done():
    def df(x):
        raise NotImplementedError()

    fb = feedback(check_function, df, lambda x: 2 * x, [1.0])
    assert fb.kind == "not_implemented" and "NotImplementedError" in str(fb)
    assert fb.name == "df"


def test_an_exception_names_the_inputs():
    def df(x):
        return x / undefined  # noqa: F821

    fb = feedback(check_function, df, lambda x: 2 * x, [(3.0,)])
    assert fb.kind == "exception" and "NameError" in str(fb) and "df(3" in str(fb)
    assert isinstance(fb.__cause__, NameError)


# -- shapes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "got, want, words",
    [
        (np.ones((3, 2)), np.ones((2, 3)), "transposed"),
        (np.ones((3, 1)), np.ones(3), "squeeze"),
        (np.ones((4, 3)), np.ones(3), "sum"),
        (np.ones(3), np.ones((3, 1)), "keepdims"),
        (np.float64(6.0), np.ones(3), "sum over every axis"),
        (np.ones((3, 3)), np.ones(3), "broadcasting"),
        (np.ones(6), np.ones((2, 3)), "reshape"),
    ],
)
def test_wrong_shapes_show_both_shapes_and_a_guess(got, want, words):
    fb = feedback(check_close, got, want, "g")
    assert fb.kind == "shape"
    assert str(got.shape) in str(fb) and str(want.shape) in str(fb)
    assert words in str(fb)


def test_check_shape_with_wildcards():
    check_shape(np.zeros((5, 2)), (None, 2), "X")
    check_shape(np.zeros(4), 4, "v")
    fb = feedback(check_shape, np.zeros((2, 5)), (5, 2), "X")
    assert fb.kind == "shape" and ".T" in str(fb)
    fb = feedback(check_shape, np.zeros((5, 3)), (None, 2), "X")
    assert "(any, 2)" in str(fb)
    fb = feedback(check_shape, None, (2,), "X")
    assert fb.kind == "none"


# -- values -----------------------------------------------------------------------


def test_non_finite_values_are_reported_with_their_index():
    fb = feedback(check_close, np.array([1.0, np.nan, 3.0]), W, "grad")
    assert fb.kind == "nonfinite" and "NaN" in str(fb) and "[1]" in str(fb)
    fb = feedback(check_close, np.inf, 1.0, "loss")
    assert fb.kind == "nonfinite" and "infinity" in str(fb)


def test_sign_error():
    fb = feedback(check_close, -W, W, "grad")
    assert fb.kind == "sign" and "against" in str(fb)
    fb = feedback(check_close, -6.0, 6.0, "df(3)")
    assert fb.kind == "sign"


def test_zero_is_not_called_a_sign_error():
    fb = feedback(check_close, np.array([1e-3, 0.0]), np.zeros(2), "grad")
    assert fb.kind == "value"


def test_learning_rate_applied_twice_or_not_at_all():
    step = -0.1 * W
    fb = feedback(check_close, 0.1 * step, step, "step", hints={"lr": 0.1})
    assert fb.kind == "lr" and "twice" in str(fb)
    fb = feedback(check_close, -W, step, "step", hints={"lr": 0.1})
    assert fb.kind == "lr" and "not to be applied" in str(fb)
    fb = feedback(check_close, 0.1 * 0.5, 0.5, "one step", hints={"learning_rate": 0.1})
    assert fb.kind == "lr"


def test_missing_bias_correction():
    beta, t = 0.9, 2
    m_hat = np.array([0.5, -1.0])
    m = m_hat * (1 - beta**t)
    fb = feedback(check_close, m, m_hat, "m_hat", hints={"bias_correction": 1 - beta**t})
    assert fb.kind == "bias_correction" and "missing" in str(fb) and "beta**t" in str(fb)
    fb = feedback(check_close, m_hat / (1 - beta**t), m_hat, "m_hat",
                  hints={"bias_correction": 1 - beta**t})
    assert fb.kind == "bias_correction" and "twice" in str(fb)


def test_a_constant_factor_is_reported_with_its_value():
    fb = feedback(check_close, 2 * W, W, "grad")
    assert fb.kind == "factor" and "2 times" in str(fb)
    fb = feedback(check_close, 1.7 * W, W, "grad")
    assert fb.kind == "factor" and "1.7 times" in str(fb)
    # a single number is a multiple of any other: only simple factors are named
    assert feedback(check_close, 4.0, 2.0, "slope").kind == "factor"
    assert feedback(check_close, 2.37, 2.0, "slope").kind == "value"


def test_a_named_factor_from_hints():
    fb = feedback(check_close, W / 32, W, "mean grad", hints={"batch_size": 32})
    assert fb.kind == "hint" and "batch_size" in str(fb) and "missing" in str(fb)


def test_free_form_hints_match_a_transform_of_the_answer():
    hints = {"squared": (lambda w: w**2, "you squared the gradient")}
    fb = feedback(check_close, W**2, W, "grad", hints=hints)
    assert fb.kind == "hint" and "you squared the gradient" in str(fb)
    fb = feedback(check_close, W[::-1].copy(), W, "grad", hints={"reversed": lambda w: w[::-1]})
    assert fb.kind == "hint" and "reversed" in str(fb)
    # a hint that does not match leaves the generic diagnosis
    fb = feedback(check_close, W + [0, 0, 1], W, "grad", hints=hints)
    assert fb.kind == "value"


def test_plain_text_hints_are_added_to_any_failure():
    fb = feedback(check_close, W + [0, 0, 1], W, "v", hints={"v": "Look ahead first."})
    assert fb.kind == "value" and str(fb).endswith("Hint: Look ahead first.")
    check_close(W, W, "v", hints={"v": "never shown"})


def test_bad_hints_are_a_type_error_for_the_author():
    with pytest.raises(TypeError, match="hint 'lr'"):
        check_close(2 * W, W, hints={"lr": [0.1]})


def test_transposed_square_matrix():
    A = np.array([[1.0, 2.0], [3.0, 4.0]])
    fb = feedback(check_close, A.T, A, "H")
    assert fb.kind == "transpose"


def test_otherwise_the_worst_entry_with_the_tolerance():
    got = W + np.array([0.0, 0.5, 1e-3])
    fb = feedback(check_close, got, W, "grad", rtol=1e-6, atol=1e-9)
    text = str(fb)
    assert fb.kind == "value"
    assert "grad[1]" in text and "-1.5" in text and "-2" in text
    assert "2 of 3 entries" in text and "allowed" in text


def test_a_near_miss_is_called_close():
    fb = feedback(check_close, np.float32(0.1), 0.1, "lr", rtol=1e-12, atol=0)
    assert "close" in str(fb)


# -- check_function / check_update_rule / check_true --------------------------------------


def test_check_function_reports_the_first_failing_case_with_its_inputs():
    def df(x):
        return 2 * x if np.ndim(x) == 0 else -2 * x

    fb = feedback(check_function, df, lambda x: 2 * x, [1.0, np.array([1.0, 2.0])], name="df")
    assert fb.kind == "sign" and "df([1., 2.])" in str(fb)


def test_check_function_accepts_tuples_and_dicts_and_copies_inputs(capsys):
    def scale_in_place(x, k):
        x *= k
        return x

    def reference(x, k):
        return x * k

    x = np.array([1.0, 2.0])
    check_function(scale_in_place, reference, [(x, 3.0), {"x": x, "k": 0.5}], name="scale")
    assert np.array_equal(x, [1.0, 2.0])  # neither function saw the other's edits
    assert "scale on 2 cases" in capsys.readouterr().out


def test_check_function_needs_cases():
    with pytest.raises(ValueError):
        check_function(abs, abs, [])


def heavy_ball(x, g, v, lr, beta):
    v = beta * v - lr * g
    return x + v, v


def test_update_rule_passes_for_the_reference():
    check_update_rule(heavy_ball, heavy_ball, np.array([1.0, 2.0]), lambda x: 2 * x,
                      state0=(np.zeros(2),), hyper={"lr": 0.1, "beta": 0.8}, steps=4)


@pytest.mark.parametrize(
    "student, kind",
    [
        (lambda x, g, v, lr, beta: (x + (beta * v + lr * g), beta * v + lr * g), "sign"),
        (lambda x, g, v, lr, beta: (x + beta * v - lr * lr * g, beta * v - lr * lr * g), "lr"),
        (lambda x, g, v, lr, beta: (x + beta * v - g, beta * v - g), "lr"),
        (lambda x, g, v, lr, beta: None, "none"),
        (lambda x, g, v, lr, beta: x - lr * g, "tuple"),
    ],
)
def test_update_rule_diagnoses(student, kind):
    fb = feedback(check_update_rule, student, heavy_ball, np.array([1.0, 2.0]), lambda x: 2 * x,
                  state0=(np.zeros(2),), hyper={"lr": 0.1, "beta": 0.8}, state_names=["v"],
                  name="heavy_ball_step")
    assert fb.kind == kind
    assert fb.name == "heavy_ball_step"


def test_update_rule_finds_the_first_wrong_step_and_the_state():
    def no_momentum(x, g, v, lr, beta):  # right at step 1 (v = 0), wrong afterwards
        v = -lr * g
        return x + v, v

    fb = feedback(check_update_rule, no_momentum, heavy_ball, np.array([1.0, 2.0]),
                  lambda x: 2 * x, state0=(np.zeros(2),), hyper={"lr": 0.1, "beta": 0.8},
                  state_names=["v"])
    assert "step 2" in str(fb) and "Inputs" in str(fb)


def test_update_rule_with_step_dependent_hints_and_t():
    beta = 0.9

    def ema(x, g, m, lr, t):
        m = beta * m + (1 - beta) * g
        return x - lr * m / (1 - beta**t), m

    def ema_no_correction(x, g, m, lr, t):
        m = beta * m + (1 - beta) * g
        return x - lr * m, m

    check_update_rule(ema, ema, np.ones(2), [np.array([1.0, -1.0])] * 3, state0=np.zeros(2),
                      hyper={"lr": 0.05})
    fb = feedback(check_update_rule, ema_no_correction, ema, np.ones(2),
                  [np.array([1.0, -1.0])] * 3, state0=np.zeros(2), hyper={"lr": 0.05},
                  hints=lambda t: {"bias_correction": 1 - beta**t})
    assert fb.kind == "bias_correction" and "step 1" in str(fb)


def test_update_rule_not_implemented():
    def step(x, g, lr):
        raise NotImplementedError()

    fb = feedback(check_update_rule, step, lambda x, g, lr: x - lr * g, np.ones(1),
                  lambda x: x, hyper={"lr": 0.1})
    assert fb.kind == "not_implemented"


def test_check_true():
    check_true(np.float64(1.0) < 2.0, "never shown")
    check_true(np.array(True), "never shown")
    fb = feedback(check_true, False, "the loss should go down", name="loss")
    assert str(fb) == "the loss should go down" and fb.kind == "check"
    with pytest.raises(TypeError):
        check_true(np.array([True, False]), "ambiguous")


# -- CuPy ------------------------------------------------------------------------


@pytest.mark.gpu
def test_cupy_arrays_are_compared_on_the_host(gpu_backend):
    cp = gpu_backend
    check_close(cp.asarray(W), W, "grad")
    check_close(cp.asarray(W), cp.asarray(W), "grad")
    fb = feedback(check_close, -cp.asarray(W), W, "grad")
    assert fb.kind == "sign"
    check_function(lambda x: 2 * x, lambda x: 2 * x, [cp.asarray(W)], name="df")
    check_shape(cp.zeros((2, 3)), (2, 3))


# -- in a notebook: rendering, unfinished exercises, write-it-yourself ------------------


def test_feedback_renders_as_its_message_without_a_traceback():
    fb = feedback(check_close, -W, W, "grad")
    lines = fb._render_traceback_()
    assert "sign is flipped" in lines[0] and "Traceback" not in "\n".join(lines)


def test_feedback_names_the_learners_line_when_their_code_raised():
    def step(x):
        return x[5]  # IndexError inside the learner's code

    step.__code__ = step.__code__.replace(co_filename="/tmp/ipykernel_1/123.py")
    fb = feedback(check_function, step, lambda x: x, [np.zeros(2)], name="step")
    assert fb.kind == "exception" and "in `step`" in fb._render_traceback_()[-1]


def test_switched_off_replaces_every_reference_and_restores_them():
    from gdlib import optim, train
    from gdlib.optim import Adam

    namespace = {"Adam": Adam, "alias": Adam}

    def sneaky(impl=Adam):
        return impl

    namespace["sneaky"] = sneaky
    with grading.switched_off(Adam, task="Adam", namespace=namespace):
        for ref in (optim.Adam, namespace["Adam"], namespace["alias"], sneaky()):
            with pytest.raises(Feedback, match="write Adam yourself.*switched off"):
                ref(np.zeros(2))
        with pytest.raises(Feedback, match="switched off"):
            train.minimize(lambda x: float(x @ x), np.ones(2), "adam", steps=1,
                           grad=lambda x: 2 * x)
    assert optim.Adam is Adam and namespace["alias"] is Adam and sneaky() is Adam
    opt = Adam(np.zeros(2))
    assert isinstance(opt, Adam)


def test_switched_off_restores_after_an_error():
    from gdlib import optim

    original = optim.SGD
    with pytest.raises(ZeroDivisionError), grading.switched_off(optim.SGD, namespace={}):
        _ = 1 / 0
    assert optim.SGD is original


def test_recorded_replays_the_reference_inside_switched_off():
    from gdlib import optim

    def heavy(x, g, v, lr, beta):
        v = beta * v - lr * g
        return x + v, v

    def via_sgd(x, g, v, lr, beta):
        optim.SGD(np.zeros(1))  # the library, switched off below
        return heavy(x, g, v, lr, beta)

    hyper = {"lr": 0.1, "beta": 0.5}
    ref = grading.recorded(via_sgd, np.ones(2), lambda x: 2 * x, (np.zeros(2),), steps=3,
                           hyper=hyper)
    with grading.switched_off(optim.SGD, namespace={}):
        check_update_rule(heavy, ref, np.ones(2), lambda x: 2 * x, (np.zeros(2),), steps=3,
                          hyper=hyper)
    with pytest.raises(RuntimeError, match="only 3 step"):
        ref(np.ones(2), np.ones(2), np.zeros(2), **hyper)
