"""L-BFGS: a quasi-Newton method that remembers the last few steps.

Sources
-------
- J. Nocedal (1980), "Updating quasi-Newton matrices with limited storage",
  Math. Comp. 35(151), 773-782: the limited-memory update and the two-loop
  recursion.
- D. C. Liu and J. Nocedal (1989), "On the limited memory BFGS method for large
  scale optimization", Math. Programming 45, 503-528: L-BFGS as used today,
  with the initial scaling :math:`\\gamma_k = s^\\top y / y^\\top y`.
- J. Nocedal and S. J. Wright (2006), *Numerical Optimization*, 2nd ed.,
  Springer: Algorithm 7.4 (two-loop recursion), Algorithms 3.5-3.6 and
  section 3.5 (line search for the strong Wolfe conditions, cubic interpolation).
- P. Wolfe (1969), "Convergence conditions for ascent methods", SIAM Review
  11(2), 226-235: the Wolfe conditions.

The algorithm is a port of ``torch.optim.LBFGS`` (torch 2.13), itself derived
from M. Schmidt's minFunc and torch7's ``lbfgs.lua`` / ``lswolfe.lua``; its
stopping rules and constants are kept so the two give the same iterates.
"""

from __future__ import annotations

import math

from ..errors import NonFiniteGradientError
from .base import (
    Optimizer,
    _check_keys,
    _copy_host,
    _load_array,
    check_int,
    check_lr,
    check_nonnegative,
    check_real,
    xp,
)

__all__ = ["LBFGS", "strong_wolfe"]


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """Minimizer of the cubic through (x1, f1, f'=g1) and (x2, f2, f'=g2), clipped to bounds.

    Nocedal and Wright (2006), eq. (3.59). Falls back to the middle of the
    bounds when the cubic has no real minimizer.
    """
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square < 0:
        return (lo + hi) / 2.0
    d2 = math.sqrt(d2_square)
    if x1 <= x2:
        min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(min_pos, lo), hi)


def strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                 max_ls=25):
    r"""Find a step :math:`t` along ``d`` that satisfies the strong Wolfe conditions.

    .. math::

        f(x + t d) \le f(x) + c_1 t\, g^\top d \quad\text{(sufficient decrease)}, \qquad
        |\nabla f(x + t d)^\top d| \le c_2 |g^\top d| \quad\text{(curvature)}

    Two phases (Nocedal and Wright 2006, Algorithms 3.5 and 3.6): *bracketing*
    grows the step until an interval is known to hold an acceptable point;
    *zoom* shrinks that interval by cubic interpolation until a point passes.

    Parameters
    ----------
    obj_func : callable ``(x, t, d) -> (f, flat_grad)``
        Evaluates the loss and flat gradient at ``x + t d`` (and leaves the
        parameters at ``x``).
    x : list of arrays
        The current parameters (a copy).
    t : float
        The first trial step.
    d : array
        The search direction (flat).
    f, g, gtd : float, array, float
        Loss, flat gradient and directional derivative :math:`g^\top d` at ``x``.

    Returns
    -------
    f_new, g_new, t, evaluations
        Loss and flat gradient at the accepted step, the step, and the number
        of function evaluations used.
    """
    d_norm = float(xp.abs(d).max())
    g = g.copy()
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = float(g_new @ d)

    # -- phase 1: bracket an interval that contains an acceptable step --------
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
            # No sufficient decrease (or worse than before): the answer lies in [t_prev, t].
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            # Both conditions hold at t: done without zooming.
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            # The slope turned positive: a minimizer lies in [t_prev, t].
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        # Still descending: extrapolate, between 1.01 t and 10 t.
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        t_prev, t = t, _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                                          bounds=(min_step, max_step))
        f_prev, g_prev, gtd_prev = f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1

    if ls_iter == max_ls:
        # Out of evaluations while still bracketing: settle for the better end.
        bracket, bracket_f, bracket_g = [0.0, t], [f, f_new], [g, g_new]

    # -- phase 2: zoom into the bracket ---------------------------------------
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break  # the interval is too small to matter

        # Trial point: the minimizer of the cubic through both ends.
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                               bracket[1], bracket_f[1], bracket_gtd[1])

        # Guard against creeping along one end: if t is within 10% of the
        # interval's length of an end, twice in a row (or outside), move it to
        # 10% inside the nearest end.
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False

        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1

        if f_new > f + c1 * t * gtd or f_new >= bracket_f[low_pos]:
            # Not a sufficient decrease, or no better than the low end: new high end.
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new.copy(), gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True  # strong Wolfe conditions hold
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                # The slope points away from the high end: the old low end becomes the high end.
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos] = bracket_g[low_pos]
                bracket_gtd[high_pos] = bracket_gtd[low_pos]
            # The new point is the new low end.
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new.copy(), gtd_new

    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals


class LBFGS(Optimizer):
    r"""Limited-memory BFGS (Nocedal 1980; Liu and Nocedal 1989), as ``torch.optim.LBFGS``.

    L-BFGS approximates Newton's step :math:`-H^{-1} g` without forming any
    matrix. It keeps the last :math:`m` pairs of steps and gradient changes,

    .. math::

        s_k = \theta_{k+1} - \theta_k, \qquad y_k = g_{k+1} - g_k, \qquad
        \rho_k = 1 / (y_k^\top s_k),

    (a pair is kept only when :math:`y_k^\top s_k > 10^{-10}`, i.e. the
    curvature is positive) and applies the BFGS inverse-Hessian update to
    :math:`g` implicitly, by the *two-loop recursion*:

    .. math::

        &q \leftarrow -g; \quad \text{for } i = k-1, \dots, k-m:\
            \alpha_i = \rho_i s_i^\top q,\ q \leftarrow q - \alpha_i y_i \\
        &r \leftarrow \gamma_k q, \quad
            \gamma_k = \frac{s_{k-1}^\top y_{k-1}}{y_{k-1}^\top y_{k-1}} \\
        &\text{for } i = k-m, \dots, k-1:\
            \beta_i = \rho_i y_i^\top r,\ r \leftarrow r + (\alpha_i - \beta_i) s_i

    and :math:`d = r` is the search direction. The step along it is ``lr``
    (the very first one is :math:`\min(1, 1/\lVert g \rVert_1)\,` ``lr``), or
    the result of a strong-Wolfe line search (:func:`strong_wolfe`).

    One call of :meth:`step` runs up to ``max_iter`` such iterations, as in
    torch; it stops early when the largest gradient entry is below
    ``tolerance_grad`` or when the loss or the parameters change by less than
    ``tolerance_change``. The memory carries over between calls.

    Parameters
    ----------
    params : array, list or dict of arrays
        Parameters, updated in place (treated as one flat vector).
    lr : float, default 1
        Step length (1 is the quasi-Newton step).
    max_iter : int, default 20
        Iterations per call of :meth:`step`.
    max_eval : int, optional
        Function evaluations per call (default ``max_iter * 5 // 4``).
    tolerance_grad : float, default 1e-7
        Stop when :math:`\max_i |g_i| \le` ``tolerance_grad``.
    tolerance_change : float, default 1e-9
        Stop when the loss, or the largest parameter change, moves less than this.
    history_size : int, default 100
        :math:`m`, the number of pairs :math:`(s, y)` remembered.
    line_search_fn : {None, 'strong_wolfe'}, default None
        None takes fixed steps of length ``lr``.

    Examples
    --------
    >>> import numpy as np
    >>> A, b = np.array([[3.0, 1.0], [1.0, 2.0]]), np.array([1.0, -1.0])
    >>> x = np.zeros(2)
    >>> opt = LBFGS(x, line_search_fn="strong_wolfe")
    >>> def closure():
    ...     return 0.5 * x @ A @ x - b @ x, A @ x - b
    >>> loss = opt.step(closure)
    >>> np.allclose(A @ x, b)
    True
    """

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        max_iter = check_int("max_iter", max_iter, minimum=1)
        max_eval = max_iter * 5 // 4 if max_eval is None else check_int("max_eval", max_eval,
                                                                         minimum=1)
        if not (line_search_fn is None or (isinstance(line_search_fn, str)
                                           and line_search_fn == "strong_wolfe")):
            raise ValueError(
                f"Invalid line_search_fn={line_search_fn!r}: use None (fixed steps) or "
                "'strong_wolfe'."
            )
        super().__init__(
            params, lr=check_lr(lr), max_iter=max_iter, max_eval=max_eval,
            tolerance_grad=check_nonnegative("tolerance_grad", tolerance_grad),
            tolerance_change=check_nonnegative("tolerance_change", tolerance_change),
            history_size=check_int("history_size", history_size, minimum=1),
            line_search_fn=line_search_fn,
        )

    # -- the parameters as one flat vector ---------------------------------------

    def _evaluate(self):
        """Call the closure; return ``(loss as float, loss as returned, flat gradient)``."""
        out = self._closure()
        try:
            loss, grads = out
        except (TypeError, ValueError):
            raise TypeError(
                "the L-BFGS closure must return (loss, grads), the loss and the gradients at "
                f"the current parameters; it returned {type(out).__name__}."
            ) from None
        try:
            value = float(loss)
        except (TypeError, ValueError):
            raise TypeError(
                f"the L-BFGS closure must return one number as the loss, got {loss!r}."
            ) from None
        if self.check_finite and not math.isfinite(value):
            # The line search would compare NaN and accept it: refuse instead (the
            # step is rolled back, nothing changes).
            raise NonFiniteGradientError(
                f"the L-BFGS closure returned the loss {value} during step {self._step_no}: "
                + ("your inputs or initial point give a non-finite loss."
                   if self._step_no == 1 and not self.state[0] else
                   "the iterates left the region where the loss is finite; lower lr, or use "
                   "line_search_fn='strong_wolfe'.")
            )
        gs = self._check_grads(grads)
        flat = xp.concatenate([g.reshape(-1) for g in gs])
        return value, loss, flat

    def _add_to_params(self, step, d) -> None:
        """θ <- θ + step * d, with the flat vector d split over the parameters."""
        offset = 0
        for p in self.params:
            n = p.size
            p += step * d[offset:offset + n].reshape(p.shape)
            offset += n

    def _directional_evaluate(self, x, t, d):
        """Loss and flat gradient at x + t d; the parameters are left at x."""
        self._add_to_params(t, d)
        loss, _, flat = self._evaluate()
        for p, xi in zip(self.params, x):
            p[...] = xi
        return loss, flat

    # -- one call: up to max_iter iterations -------------------------------------

    def step(self, closure):
        """Run up to ``max_iter`` L-BFGS iterations; return the loss at the start.

        Parameters
        ----------
        closure : callable ``() -> (loss, grads)``
            Evaluates the loss and its gradients (same structure as ``params``)
            at the *current* parameters, which this method changes in place
            between calls.

        Returns
        -------
        The loss returned by the first call of ``closure`` (before the step).
        """
        if not callable(closure):
            raise TypeError(
                "LBFGS.step needs a closure, a function of no arguments returning (loss, grads) "
                f"at the current parameters; got {type(closure).__name__}."
            )
        # All or nothing: a closure that fails half-way (or returns a bad
        # gradient) leaves the parameters, the memory and t as they were.
        saved_params = [p.copy() for p in self.params]
        saved_state = [{k: (list(v) if isinstance(v, list) else v) for k, v in s.items()}
                       for s in self.state]
        saved_t = self.t
        self._step_no = self.t + 1
        self._closure = closure
        try:
            return self._step()
        except BaseException:
            for p, saved in zip(self.params, saved_params):
                p[...] = saved
            self.state, self.t = saved_state, saved_t
            raise
        finally:
            self._closure = None

    def _step(self):
        lr, max_iter, max_eval = self.lr, self.max_iter, self.max_eval
        tolerance_grad, tolerance_change = self.tolerance_grad, self.tolerance_change
        self._check_hyper()
        loss, orig_loss, flat_grad = self._evaluate()
        self.t += 1
        # L-BFGS's state is global; like torch, it is kept with the first parameter.
        state = self.state[0]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        current_evals = 1
        state["func_evals"] += 1
        opt_cond = float(xp.abs(flat_grad).max()) <= tolerance_grad
        if opt_cond:
            return orig_loss  # already at a stationary point

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps = state.get("old_dirs"), state.get("old_stps")
        ro, H_diag = state.get("ro"), state.get("H_diag")
        prev_flat_grad, prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # -- the search direction d ----------------------------------------
            if state["n_iter"] == 1:
                d = -flat_grad                        # first iteration: steepest descent
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1.0
            else:
                y = flat_grad - prev_flat_grad        # y = g_{k+1} - g_k
                s = d * t                             # s = θ_{k+1} - θ_k
                ys = float(y @ s)
                if ys > 1e-10:                        # keep only positive-curvature pairs
                    if len(old_dirs) == self.history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)               # ρ = 1 / yᵀs
                    H_diag = ys / float(y @ y)        # γ = sᵀy / yᵀy, the initial H⁻¹ ≈ γI

                # Two-loop recursion: d = -H⁻¹ g without forming H⁻¹.
                num_old = len(old_dirs)
                al = [0.0] * num_old
                q = -flat_grad
                for i in range(num_old - 1, -1, -1):  # newest to oldest
                    al[i] = float(old_stps[i] @ q) * ro[i]        # α_i = ρ_i s_iᵀ q
                    q -= al[i] * old_dirs[i]                      # q -= α_i y_i
                r = q * H_diag                                    # r = γ q
                for i in range(num_old):              # oldest to newest
                    be_i = float(old_dirs[i] @ r) * ro[i]         # β_i = ρ_i y_iᵀ r
                    r += (al[i] - be_i) * old_stps[i]             # r += (α_i - β_i) s_i
                d = r

            prev_flat_grad = flat_grad.copy()
            prev_loss = loss

            # -- the step length t ---------------------------------------------
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / float(xp.abs(flat_grad).sum())) * lr
            else:
                t = lr
            gtd = float(flat_grad @ d)                # directional derivative gᵀd
            if gtd > -tolerance_change:
                break                                 # not a descent direction (any more)

            ls_func_evals = 0
            if self.line_search_fn == "strong_wolfe":
                x_init = [p.copy() for p in self.params]
                loss, flat_grad, t, ls_func_evals = strong_wolfe(
                    self._directional_evaluate, x_init, t, d, loss, flat_grad, gtd,
                    max_ls=max_eval - current_evals,
                )
                self._add_to_params(t, d)             # θ <- θ + t d
                opt_cond = float(xp.abs(flat_grad).max()) <= tolerance_grad
            else:
                self._add_to_params(t, d)             # θ <- θ + t d (fixed step)
                if n_iter != max_iter:
                    # Re-evaluate, except after the last iteration (the next call will).
                    loss, _, flat_grad = self._evaluate()
                    opt_cond = float(xp.abs(flat_grad).max()) <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            # -- stopping rules --------------------------------------------------
            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if float(xp.abs(d * t).max()) <= tolerance_change:
                break                                 # the parameters stopped moving
            if abs(loss - prev_loss) < tolerance_change:
                break                                 # the loss stopped moving

        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=H_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss

    # -- saving: the history is a list of arrays -----------------------------------

    def state_dict(self) -> dict:
        out = super().state_dict()
        out["state"] = [
            {k: ([_copy_host(a) for a in v] if isinstance(v, list) else _copy_host(v))
             for k, v in s.items()}
            for s in self.state
        ]
        return out

    #: The keys of the memory kept with the first parameter after a full iteration.
    _MEMORY = ("func_evals", "n_iter", "d", "t", "old_dirs", "old_stps", "ro", "H_diag",
               "prev_flat_grad", "prev_loss")

    def _check_state_entry(self, where, i, p, entry, t):
        """The memory lives with the first parameter; the other entries stay empty."""
        if i > 0 or t == 0 or not entry:
            _check_keys(where, entry, set(), t)
            return {}
        keys = set(self._MEMORY) if set(entry) - {"func_evals", "n_iter"} else {
            "func_evals", "n_iter"}
        _check_keys(where, entry, keys, t)
        out = {k: check_int(f"{where}[{k!r}]", entry[k], minimum=0)
               for k in ("func_evals", "n_iter")}
        if len(keys) == 2:
            return out
        n = sum(q.size for q in self.params)
        dtype = self.params[0].dtype
        for k in ("d", "prev_flat_grad"):
            out[k] = _load_array(f"{where}[{k!r}]", entry[k], (n,), dtype)
        for k in ("t", "H_diag", "prev_loss"):
            out[k] = check_real(f"{where}[{k!r}]", entry[k])
        lists = {}
        for k in ("old_dirs", "old_stps", "ro"):
            v = entry[k]
            if not isinstance(v, (list, tuple)):
                raise TypeError(f"{where}[{k!r}] must be a list, got {type(v).__name__}.")
            lists[k] = v
        lengths = {len(v) for v in lists.values()}
        if len(lengths) != 1 or lengths.pop() > self.history_size:
            raise ValueError(
                f"{where}: old_dirs, old_stps and ro must have the same length, at most "
                f"history_size={self.history_size}; got "
                f"{[len(v) for v in lists.values()]}."
            )
        for k in ("old_dirs", "old_stps"):
            out[k] = [_load_array(f"{where}[{k!r}][{j}]", a, (n,), dtype)
                      for j, a in enumerate(lists[k])]
        out["ro"] = [check_real(f"{where}['ro'][{j}]", r) for j, r in enumerate(lists["ro"])]
        return out

