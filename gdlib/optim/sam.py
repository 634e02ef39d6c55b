r"""Sharpness-aware minimisation (SAM): descend from the worst point of a small ball.

SAM (Foret, Kleiner, Mobahi and Neyshabur, 2021) minimises
:math:`\max_{\|\epsilon\| \le \rho} L(w + \epsilon)` instead of :math:`L(w)`.
To first order the inner maximum is reached at the ascent step
:math:`\hat\epsilon = \rho\, g / \|g\|`, and its gradient is taken to be the
gradient at :math:`w + \hat\epsilon`; that gradient is then used *from w* by a
base optimizer (SGD in the paper). Each step therefore needs two gradients: the
one at :math:`w` (the same as for any optimizer) and one at :math:`w +
\hat\epsilon`, for which :meth:`SAM.step` takes a *closure*, as in the
authors' PyTorch code.

Sources
-------
- P. Foret, A. Kleiner, H. Mobahi and B. Neyshabur (2021), "Sharpness-aware
  minimization for efficiently improving generalization", ICLR: Algorithm 1.
- J. Kwon, J. Kim, H. Park and I. K. Choi (2021), "ASAM: adaptive sharpness-aware
  minimization for scale-invariant learning of deep neural networks", ICML: the
  adaptive variant, :math:`\hat\epsilon = \rho\, T^2 g / \|T g\|` with
  :math:`T = \mathrm{diag}|w|`.
- D. Samuel's PyTorch implementation (github.com/davda54/sam, 2020-2022), whose
  ``first_step`` / ``second_step`` this follows to the last constant
  (``1e-12`` in the norm, restoring the saved :math:`w` exactly).
"""

from __future__ import annotations

from .base import Optimizer, check_bool, check_nonnegative, xp

__all__ = ["SAM"]

#: Added to :math:`\|g\|` before dividing, as in the reference implementation.
NORM_EPS = 1e-12


class SAM(Optimizer):
    r"""Sharpness-aware minimisation (Foret et al., 2021) around a base optimizer.

    One step, with :math:`g = \nabla L(w)`:

    .. math::

        \hat\epsilon &= \rho\, \frac{g}{\|g\| + 10^{-12}}
            \quad\text{(one global norm over every parameter)} \\
        g_{\mathrm{SAM}} &= \nabla L(w + \hat\epsilon)
            \quad\text{(the closure, evaluated at the perturbed point)} \\
        w &\leftarrow \mathrm{base\ step}(w,\ g_{\mathrm{SAM}})
            \quad\text{(from } w \text{, not from } w + \hat\epsilon)

    With ``adaptive=True`` (ASAM, Kwon et al. 2021) the ball is scaled by the
    size of each weight: :math:`\hat\epsilon = \rho\, w^2 \odot g / (\|\,|w|
    \odot g\| + 10^{-12})`.

    Parameters
    ----------
    params : array, list or dict of arrays
        Parameters, updated in place (shared with the base optimizer).
    base_optimizer : str or Optimizer class, default "sgd"
        The rule that takes the step, by name (``"sgd"``, ``"gd"``, ``"adam"``
        ...) or class; built over the same ``params`` with ``**base_hyper``.
    rho : float, default 0.05
        The radius :math:`\rho \ge 0` of the ascent step (0: the base optimizer,
        at twice the cost).
    adaptive : bool, default False
        ASAM's element-wise scaling.
    **base_hyper
        Hyper-parameters of the base optimizer (``lr=0.1, momentum=0.9``).

    Attributes
    ----------
    base : Optimizer
        The base optimizer; ``sam.lr`` reads and sets ``sam.base.lr``, so a
        learning-rate schedule works on a SAM optimizer as on its base.

    Notes
    -----
    :func:`gdlib.train.train` and :func:`gdlib.train.minimize` recognise the
    two-argument ``step(grads, closure)`` and pass a closure that recomputes the
    loss and gradient of the *same* mini-batch at the current parameters.
    """

    squares_gradient = True        # the norm of g is taken

    def __init__(self, params, base_optimizer="sgd", rho=0.05, adaptive=False, **base_hyper):
        from . import REGISTRY

        if isinstance(base_optimizer, str):
            cls = REGISTRY.get(base_optimizer.lower())
            if cls is None:
                from ..errors import unknown_name_error

                raise unknown_name_error("base_optimizer", base_optimizer, REGISTRY)
        elif isinstance(base_optimizer, type) and issubclass(base_optimizer, Optimizer):
            cls = base_optimizer
        else:
            raise TypeError(
                "base_optimizer must be an optimizer name such as 'sgd' or an Optimizer class, "
                f"got {base_optimizer!r}."
            )
        if cls is SAM:
            raise ValueError("base_optimizer cannot be SAM itself: give the rule that takes "
                             "the step, e.g. 'sgd'.")
        if "closure" in _step_params(cls):
            raise ValueError(f"base_optimizer {cls.__name__} needs a closure of its own "
                             "(a line search); SAM needs a rule that steps from a gradient.")
        rho = check_nonnegative("rho", rho)
        adaptive = check_bool("adaptive", adaptive)
        self.base = cls(params, **base_hyper)           # validates params and base_hyper
        hyper = {"rho": rho, "adaptive": adaptive}
        if "lr" in self.base.hyper:                     # saved and checked with SAM's own
            hyper["lr"] = self.base.lr
        super().__init__(params, **hyper)

    # The learning rate is the base optimizer's, so schedules can set it here.
    @property
    def lr(self):
        return self.base.lr

    @lr.setter
    def lr(self, value):
        self.base.lr = value

    def __repr__(self) -> str:
        return f"SAM(rho={self.rho!r}, adaptive={self.adaptive!r}, base={self.base!r})"

    def ascent_step(self, grads) -> list:
        r"""The perturbation :math:`\hat\epsilon` for each parameter, from checked gradients."""
        from ..clipping import total_norm  # here: gdlib.clipping imports gdlib.optim

        gs = self._check_grads(grads)
        if self.adaptive:
            scaled = [xp.abs(p) * g for p, g in zip(self.params, gs)]
        else:
            scaled = gs
        scale = self.rho / (total_norm(scaled, 2.0) + NORM_EPS)
        if self.adaptive:
            return [(p * p) * g * scale for p, g in zip(self.params, gs)]
        return [g * scale for g in gs]

    def step(self, grads, closure):
        """Take one SAM step.

        Parameters
        ----------
        grads : array, list or dict of arrays
            The gradient at the current parameters :math:`w`.
        closure : callable ``() -> (loss, grads)``
            Recomputes the loss and gradient (of the same mini-batch) at the
            current parameters; it is called once, while they hold
            :math:`w + \\hat\\epsilon`.

        Returns
        -------
        float
            The loss the closure returned at :math:`w + \\hat\\epsilon`.

        All or nothing: when the closure or the base step raises, the
        parameters are restored to :math:`w` and nothing else changes.
        """
        if not callable(closure):
            raise TypeError(
                "SAM.step needs a closure, a function of no arguments returning (loss, grads) "
                f"at the current parameters; got {type(closure).__name__}."
            )
        self._check_hyper()
        self.base._check_hyper()
        eps = self.ascent_step(grads)
        saved = [p.copy() for p in self.params]
        try:
            for p, e in zip(self.params, eps):
                p += e                                   # w + eps
            out = closure()
            try:
                loss, g_sam = out
            except (TypeError, ValueError):
                raise TypeError(
                    "the SAM closure must return (loss, grads), the loss and the gradients at "
                    f"the current parameters; it returned {type(out).__name__}."
                ) from None
            # Copy (the closure may return arrays it reuses) and check while perturbed.
            g_sam = self.base._check_grads(g_sam)
            g_sam = [g.copy() for g in g_sam]
        finally:
            for p, s in zip(self.params, saved):
                p[...] = s                               # back to w, exactly
        self.base.step(self._tree(g_sam))                # the base step from w
        self.t += 1
        return loss

    def _tree(self, arrays):
        if self._kind == "dict":
            return dict(zip(self._keys, arrays))
        return arrays[0] if self._kind == "single" else list(arrays)

    def zero_state(self) -> None:
        super().zero_state()
        self.base.zero_state()

    def state_dict(self) -> dict:
        """SAM's record (``t``, ``rho``, ``adaptive``), the base optimizer's under ``'base'``."""
        out = super().state_dict()
        out["base"] = self.base.state_dict()
        return out

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore :meth:`state_dict`; both parts are checked before anything changes."""
        if not isinstance(state_dict, dict):
            raise TypeError("state_dict must be a dict as returned by state_dict(), got "
                            f"{type(state_dict).__name__}.")
        if "base" not in state_dict:
            raise ValueError("state_dict of SAM must be a dict from SAM.state_dict(), with the "
                             "base optimizer's state under 'base'.")
        own = {k: v for k, v in state_dict.items() if k != "base"}
        hyper, t, state = self._validate_state_dict(own)
        base = self.base._validate_state_dict(state_dict["base"])
        for k, v in hyper.items():
            setattr(self, k, v)
        self.t, self.state = t, state
        self._checked_hyper = tuple(hyper.values())
        b_hyper, b_t, b_state = base
        for k, v in b_hyper.items():
            setattr(self.base, k, v)
        self.base.t, self.base.state = b_t, b_state
        self.base._checked_hyper = tuple(b_hyper.values())
        self.base._on_load()


def _step_params(cls) -> set:
    import inspect

    try:
        return set(inspect.signature(cls.step).parameters)
    except (TypeError, ValueError):  # pragma: no cover
        return set()
