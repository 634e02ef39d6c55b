r"""Test functions: small landscapes with known minima, to watch optimizers on.

Each function is a :class:`TestFunction` ``f`` with

- ``f(x)``: the value. ``x`` has shape ``(d,)``, or ``(d, *grid)`` to evaluate
  on a whole grid at once (the first axis is the coordinate), as in
  ``f(xp.stack(xp.meshgrid(xs, ys)))``;
- ``f.grad(x)``: the gradient, shape ``(d,)`` (``(d, *grid)`` on a grid);
- ``f.hessian(x)``: the Hessian, shape ``(d, d)`` (``(d, d, *grid)`` on a grid);
- ``f.minima`` (list of arrays, the global minimum first), ``f.fmin`` (the
  global minimum value), ``f.saddles`` (known saddle points), ``f.bounds``
  (a good plot window, one ``(lo, hi)`` per coordinate), ``f.start`` (a
  default starting point), ``f.dim``, ``f.name``, ``f.latex`` (the formula)
  and ``f.source`` (where it comes from).

Gradients and Hessians are written out by hand next to each formula (the
tests check every one of them against finite differences, see
:mod:`gdlib.gradcheck`). The code uses the backend's ``xp``, so the same
functions run on NumPy and CuPy.

Build one with its constructor (``rosenbrock()``) or by name
(``get("rosenbrock", b=10)``); :data:`REGISTRY` lists the names.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

from .backend import asarray, to_host, xp
from .errors import unknown_name_error
from .optim.base import _real, check_finite_array, check_int, check_real

__all__ = [
    "TestFunction",
    "quadratic",
    "rosenbrock",
    "himmelblau",
    "rastrigin",
    "beale",
    "saddle",
    "monkey_saddle",
    "double_well",
    "parabola",
    "styblinski_tang",
    "six_hump_camel",
    "REGISTRY",
    "get",
]


def _as_x(x, dim: int, name: str):
    """``x`` as a floating-point array of the backend, with ``dim`` coordinates first.

    NaN coordinates are allowed and give NaN (the policy of every NumPy function).
    """
    try:
        x = xp.asarray(x)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: x must be an array of numbers, got {x!r}.") from None
    if x.dtype.kind not in "fiu":
        raise TypeError(f"{name}: x must hold real numbers, got dtype {x.dtype}.")
    if x.dtype.kind != "f":
        x = x.astype(xp.float64)
    if x.ndim == 0 or x.shape[0] != dim:
        raise ValueError(
            f"{name} takes points with {dim} coordinate(s): x must have shape ({dim},) "
            f"or ({dim}, *grid), got shape {tuple(x.shape)}."
        )
    return x


def _const(like, value):
    """An array shaped like ``like`` filled with ``value`` (a constant Hessian entry)."""
    return xp.full_like(like, value)


class TestFunction:
    """A test function with its analytic gradient and Hessian.

    Parameters
    ----------
    name : str
        Short name (the key in :data:`REGISTRY`).
    dim : int
        Number of coordinates ``d``.
    value, grad, hessian : callable
        ``value(x) -> (*grid)``, ``grad(x) -> (d, *grid)`` and
        ``hessian(x) -> (d, d, *grid)`` for ``x`` of shape ``(d, *grid)``.
    minima : list of array-like
        Known local minima, the global one(s) first.
    fmin : float
        The global minimum value (``-inf`` when the function is unbounded below).
    bounds : list of (float, float)
        A plot window, one ``(lo, hi)`` per coordinate.
    start : array-like
        A default starting point.
    latex : str
        The formula, for titles and lessons.
    source : str
        Where the function comes from.
    saddles : list of array-like, optional
        Known saddle points.
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(
        self,
        name: str,
        dim: int,
        value: Callable,
        grad: Callable,
        hessian: Callable,
        minima: Sequence,
        fmin: float,
        bounds: Sequence[tuple[float, float]],
        start,
        latex: str = "",
        source: str = "",
        saddles: Sequence = (),
    ):
        self.name = name
        self.dim = int(dim)
        self._value, self._grad, self._hessian = value, grad, hessian
        self.minima = [asarray(m, dtype=xp.float64) for m in minima]
        self.fmin = float(fmin)
        self.saddles = [asarray(s, dtype=xp.float64) for s in saddles]
        self.bounds = [(float(lo), float(hi)) for lo, hi in bounds]
        self.start = asarray(start, dtype=xp.float64)
        self.latex = latex
        self.source = source

    def __call__(self, x):
        """The value :math:`f(x)`; a 0-d array for one point, ``grid``-shaped on a grid."""
        return self._value(_as_x(x, self.dim, self.name))

    def value(self, x):
        """Same as ``f(x)``."""
        return self(x)

    def grad(self, x):
        r"""The gradient :math:`\nabla f(x)`, shape ``(d,)`` (``(d, *grid)`` on a grid)."""
        return self._grad(_as_x(x, self.dim, self.name))

    def hessian(self, x):
        r"""The Hessian :math:`\nabla^2 f(x)`, shape ``(d, d)`` (``(d, d, *grid)`` on a grid)."""
        return self._hessian(_as_x(x, self.dim, self.name))

    def grid(self, n: int = 200, bounds=None):
        """A grid over ``bounds`` for contour plots: returns ``(X, Y, Z)`` as NumPy arrays.

        Only for 2-D functions. ``X`` and ``Y`` come from ``meshgrid`` (shape
        ``(n, n)``) and ``Z = f(stack([X, Y]))``.
        """
        if self.dim != 2:
            raise ValueError(f"grid() draws 2-D functions; {self.name} has dim={self.dim}.")
        n = check_int("n", n, minimum=2)
        try:
            (x0, x1), (y0, y1) = bounds if bounds is not None else self.bounds
        except (TypeError, ValueError):
            raise ValueError(
                f"bounds must be ((x_min, x_max), (y_min, y_max)), got {bounds!r}."
            ) from None
        for name, lo, hi in (("bounds[0]", x0, x1), ("bounds[1]", y0, y1)):
            if not check_real(f"{name}[0]", lo) < check_real(f"{name}[1]", hi):
                raise ValueError(f"{name} must be (low, high) with low < high, got {(lo, hi)}.")
        X, Y = xp.meshgrid(xp.linspace(x0, x1, n), xp.linspace(y0, y1, n))
        Z = self._value(xp.stack([X, Y]))
        return to_host(X), to_host(Y), to_host(Z)

    def __repr__(self) -> str:
        return f"<TestFunction {self.name} (dim={self.dim}, fmin={self.fmin:g})>"


# ----------------------------------------------------------------------------
# Quadratics


def quadratic(condition_number: float = 10.0, dim: int = 2, angle: float = 0.0,
              center=None) -> TestFunction:
    r"""A convex quadratic bowl with a chosen condition number.

    .. math::

        f(x) = \tfrac12 (x - c)^\top A (x - c)
             = \tfrac12 x^\top A x - b^\top x + \tfrac12 c^\top A c,
        \qquad b = A c,

    with :math:`A = R\, \mathrm{diag}(\lambda_1, \dots, \lambda_d)\, R^\top`, the
    eigenvalues spaced geometrically from :math:`\mu = 1` to
    :math:`L = \kappa` (the condition number) and :math:`R` a rotation by
    ``angle`` in the plane of the first two coordinates. The gradient is
    :math:`A(x - c)`, the Hessian :math:`A`, the minimizer :math:`x^* = c`
    (:math:`= A^{-1} b`) with :math:`f(x^*) = 0`. Gradient descent with step
    :math:`\eta` is stable iff :math:`\eta < 2/L` (Cauchy 1847's method on the
    model problem of every convergence proof).

    Parameters
    ----------
    condition_number : float, default 10
        :math:`\kappa = L/\mu \ge 1` (unused when ``dim == 1``, where :math:`A = [1]`).
    dim : int, default 2
        Number of coordinates.
    angle : float, default 0
        Rotation (radians) of the eigenvectors in the :math:`(x_1, x_2)` plane;
        with 0 the axes of the ellipses are the coordinate axes and the steep
        direction is the last coordinate.
    center : array-like, optional
        The minimizer :math:`c` (default: the origin).

    Attributes
    ----------
    A, b : arrays
        The matrix and the linear term.
    L, mu : float
        Largest and smallest eigenvalue of :math:`A`.
    eigenvalues : array
        All eigenvalues, ascending.
    """
    dim = _check_dim(dim)
    kappa = _real("condition_number", condition_number)
    if not kappa >= 1.0 or math.isinf(kappa):
        raise ValueError(
            f"Invalid condition_number={condition_number!r}: it must be a finite number >= 1 "
            "(the ratio of the largest to the smallest eigenvalue)."
        )
    angle = check_real("angle", angle)
    c = (xp.zeros(dim) if center is None
         else check_finite_array("center", center, xp.float64).reshape(-1))
    if c.shape != (dim,):
        raise ValueError(f"center must have shape ({dim},), got {tuple(c.shape)}.")
    # λ_i = κ^{i/(d-1)}: geometric spacing from μ = 1 to L = κ.
    lam = asarray([kappa ** (i / (dim - 1)) if dim > 1 else 1.0 for i in range(dim)],
                  dtype=xp.float64)
    R = xp.eye(dim)
    if dim >= 2:
        co, si = math.cos(angle), math.sin(angle)
        R[0, 0], R[0, 1], R[1, 0], R[1, 1] = co, -si, si, co
    A = (R * lam) @ R.T                              # A = R diag(λ) Rᵀ
    A = 0.5 * (A + A.T)                              # exactly symmetric
    b = A @ c

    def value(x):
        y = x - c.reshape((dim,) + (1,) * (x.ndim - 1))
        Ay = xp.tensordot(A, y, axes=1)
        return 0.5 * (y * Ay).sum(axis=0)            # ½ (x-c)ᵀ A (x-c)

    def grad(x):
        y = x - c.reshape((dim,) + (1,) * (x.ndim - 1))
        return xp.tensordot(A, y, axes=1)            # A (x - c)

    def hessian(x):
        return xp.broadcast_to(A.reshape(A.shape + (1,) * (x.ndim - 1)),
                               A.shape + x.shape[1:]).copy()

    host_c = [float(v) for v in to_host(c)]
    start = [ci + (-4.0 if i % 2 == 0 else 3.0) for i, ci in enumerate(host_c)]
    f = TestFunction(
        "quadratic", dim, value, grad, hessian, minima=[c], fmin=0.0,
        bounds=[(ci - 5.0, ci + 5.0) for ci in host_c], start=start,
        latex=r"f(x) = \tfrac12 (x-c)^\top A (x-c)",
        source="the model problem of gradient-descent analysis (Cauchy 1847 onwards)",
    )
    f.A, f.b, f.c = A, b, c
    f.eigenvalues = lam
    f.L, f.mu = float(lam[-1]), float(lam[0])
    f.condition_number = f.L / f.mu
    return f


def parabola(curvature: float = 2.0, center: float = 0.0) -> TestFunction:
    r"""The 1-D parabola :math:`f(x) = \tfrac{a}{2} (x - c)^2` (default :math:`x^2`).

    :math:`f'(x) = a (x - c)`, :math:`f''(x) = a`; minimum at :math:`c`.
    Gradient descent with step :math:`\eta` multiplies the error by
    :math:`1 - \eta a` each step: it converges iff :math:`0 < \eta < 2/a`.

    Parameters
    ----------
    curvature : float, default 2
        :math:`a > 0`, the second derivative.
    center : float, default 0
        The minimizer :math:`c`.
    """
    a = _real("curvature", curvature)
    if not a > 0 or math.isinf(a):
        raise ValueError(f"Invalid curvature={curvature!r}: it must be a finite number > 0.")
    c = check_real("center", center)

    def value(x):
        return 0.5 * a * (x[0] - c) ** 2

    def grad(x):
        return a * (x - c)

    def hessian(x):
        return _const(x[0], a)[None, None]

    return TestFunction(
        "parabola", 1, value, grad, hessian, minima=[[c]], fmin=0.0,
        bounds=[(c - 4.0, c + 4.0)], start=[c + 3.0],
        latex=r"f(x) = \tfrac{a}{2}(x-c)^2", source="the simplest convex function",
    )


# ----------------------------------------------------------------------------
# Classic 2-D benchmarks


def rosenbrock(a: float = 1.0, b: float = 100.0) -> TestFunction:
    r"""Rosenbrock's banana valley (Rosenbrock 1960).

    .. math:: f(x, y) = (a - x)^2 + b\,(y - x^2)^2

    A curved, narrow valley: easy to find, slow to follow to the minimum
    :math:`(a, a^2)`, :math:`f = 0`. The classic start is :math:`(-1.2, 1)`.

    Source: H. H. Rosenbrock (1960), "An automatic method for finding the
    greatest or least value of a function", The Computer Journal 3(3), 175-184.
    """
    a, b = check_real("a", a), _real("b", b)
    if not 0 < b < math.inf:
        raise ValueError(f"Invalid b={b!r}: it must be > 0 (the steepness of the valley walls).")

    def value(x):
        X, Y = x[0], x[1]
        return (a - X) ** 2 + b * (Y - X**2) ** 2

    def grad(x):
        X, Y = x[0], x[1]
        r = Y - X**2                                  # the valley coordinate
        return xp.stack([-2 * (a - X) - 4 * b * X * r, 2 * b * r])

    def hessian(x):
        X, Y = x[0], x[1]
        fxx = 2 - 4 * b * Y + 12 * b * X**2
        fxy = -4 * b * X
        fyy = _const(X, 2 * b)
        return xp.stack([xp.stack([fxx, fxy]), xp.stack([fxy, fyy])])

    return TestFunction(
        "rosenbrock", 2, value, grad, hessian, minima=[[a, a * a]], fmin=0.0,
        bounds=[(-2.0, 2.0), (-1.0, 3.0)], start=[-1.2, 1.0],
        latex=r"f(x,y) = (a-x)^2 + b\,(y-x^2)^2",
        source="H. H. Rosenbrock (1960), The Computer Journal 3(3), 175-184",
    )


def himmelblau() -> TestFunction:
    r"""Himmelblau's function (Himmelblau 1972): four minima of equal depth.

    .. math:: f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2

    Minima (all with :math:`f = 0`): :math:`(3, 2)`, :math:`(-2.8051, 3.1313)`,
    :math:`(-3.7793, -3.2832)`, :math:`(3.5844, -1.8481)`; a local maximum near
    :math:`(-0.2708, -0.9230)`. Which minimum gradient descent reaches depends
    on where it starts.

    Source: D. M. Himmelblau (1972), Applied Nonlinear Programming, McGraw-Hill.
    """

    def value(x):
        X, Y = x[0], x[1]
        return (X**2 + Y - 11) ** 2 + (X + Y**2 - 7) ** 2

    def grad(x):
        X, Y = x[0], x[1]
        u, v = X**2 + Y - 11, X + Y**2 - 7
        return xp.stack([4 * X * u + 2 * v, 2 * u + 4 * Y * v])

    def hessian(x):
        X, Y = x[0], x[1]
        u, v = X**2 + Y - 11, X + Y**2 - 7
        fxx = 4 * u + 8 * X**2 + 2
        fxy = 4 * X + 4 * Y
        fyy = 2 + 4 * v + 8 * Y**2
        return xp.stack([xp.stack([fxx, fxy]), xp.stack([fxy, fyy])])

    # Newton-polished to machine precision (the tests check the gradient vanishes).
    minima = [
        [3.0, 2.0],
        [-2.805118086952745, 3.131312518250573],
        [-3.779310253377747, -3.2831859912861696],
        [3.5844283403304917, -1.8481265269644034],
    ]
    return TestFunction(
        "himmelblau", 2, value, grad, hessian, minima=minima, fmin=0.0,
        bounds=[(-5.0, 5.0), (-5.0, 5.0)], start=[0.0, 0.0],
        latex=r"f(x,y) = (x^2+y-11)^2 + (x+y^2-7)^2",
        source="D. M. Himmelblau (1972), Applied Nonlinear Programming, McGraw-Hill",
    )


def beale() -> TestFunction:
    r"""Beale's function (Beale 1958): flat plateaus and sharp ridges.

    .. math::

        f(x, y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2

    A sum of squared residuals :math:`r_k = c_k - x + x y^k`; minimum
    :math:`(3, 0.5)`, :math:`f = 0`. Gradient :math:`2\sum_k r_k \nabla r_k`,
    Hessian :math:`2\sum_k (\nabla r_k \nabla r_k^\top + r_k \nabla^2 r_k)`.

    Source: E. M. L. Beale (1958), "On an iterative method for finding a local
    minimum of a function of more than one variable", Technical Report 25,
    Statistical Techniques Research Group, Princeton University.
    """
    cs = (1.5, 2.25, 2.625)

    def value(x):
        X, Y = x[0], x[1]
        return sum((c - X + X * Y**k) ** 2 for k, c in enumerate(cs, start=1))

    def grad(x):
        X, Y = x[0], x[1]
        gx = gy = 0.0
        for k, c in enumerate(cs, start=1):
            r = c - X + X * Y**k                      # residual r_k
            gx = gx + 2 * r * (Y**k - 1)              # ∂r_k/∂x = y^k - 1
            gy = gy + 2 * r * (k * X * Y ** (k - 1))  # ∂r_k/∂y = k x y^(k-1)
        return xp.stack([gx, gy])

    def hessian(x):
        X, Y = x[0], x[1]
        hxx = hxy = hyy = 0.0
        for k, c in enumerate(cs, start=1):
            r = c - X + X * Y**k
            rx, ry = Y**k - 1, k * X * Y ** (k - 1)
            rxy = k * Y ** (k - 1)                      # ∂²r_k/∂x∂y
            ryy = k * (k - 1) * X * Y ** (k - 2) if k >= 2 else 0.0
            hxx = hxx + 2 * rx * rx                     # ∂²r_k/∂x² = 0
            hxy = hxy + 2 * (rx * ry + r * rxy)
            hyy = hyy + 2 * (ry * ry + r * ryy)
        return xp.stack([xp.stack([hxx, hxy]), xp.stack([hxy, hyy])])

    return TestFunction(
        "beale", 2, value, grad, hessian, minima=[[3.0, 0.5]], fmin=0.0,
        bounds=[(-4.5, 4.5), (-4.5, 4.5)], start=[1.0, 1.5],
        latex=r"f(x,y) = (1.5-x+xy)^2 + (2.25-x+xy^2)^2 + (2.625-x+xy^3)^2",
        source="E. M. L. Beale (1958), Tech. Rep. 25, Statistical Techniques Research "
               "Group, Princeton University",
    )


def six_hump_camel() -> TestFunction:
    r"""The six-hump camel function (Dixon and Szegő 1978): six minima, two global.

    .. math:: f(x, y) = \left(4 - 2.1x^2 + \tfrac{x^4}{3}\right) x^2 + xy + (-4 + 4y^2)\, y^2

    Global minima :math:`\pm(0.0898, -0.7127)` with :math:`f = -1.0316`; four
    local minima, at :math:`\pm(1.7036, -0.7961)` (:math:`f = -0.2155`) and
    :math:`\pm(1.6071, 0.5687)` (:math:`f = 2.1043`).

    Source: L. C. W. Dixon and G. P. Szegő (1978), "The global optimization
    problem: an introduction", in Towards Global Optimisation 2, North-Holland.
    """

    def value(x):
        X, Y = x[0], x[1]
        return (4 - 2.1 * X**2 + X**4 / 3) * X**2 + X * Y + (-4 + 4 * Y**2) * Y**2

    def grad(x):
        X, Y = x[0], x[1]
        return xp.stack([8 * X - 8.4 * X**3 + 2 * X**5 + Y, X - 8 * Y + 16 * Y**3])

    def hessian(x):
        X, Y = x[0], x[1]
        fxx = 8 - 25.2 * X**2 + 10 * X**4
        fxy = _const(X, 1.0)
        fyy = -8 + 48 * Y**2
        return xp.stack([xp.stack([fxx, fxy]), xp.stack([fxy, fyy])])

    g = (0.08984201310031807, -0.7126564030207396)
    m2 = (1.703606714969981, -0.7960835686726251)
    m3 = (1.6071047529201974, 0.5686514548841313)
    minima = [g, (-g[0], -g[1]), m2, (-m2[0], -m2[1]), m3, (-m3[0], -m3[1])]
    return TestFunction(
        "six_hump_camel", 2, value, grad, hessian, minima=minima, fmin=-1.0316284534898774,
        bounds=[(-2.2, 2.2), (-1.2, 1.2)], start=[-1.5, -1.0],
        latex=r"f(x,y) = (4-2.1x^2+x^4/3)x^2 + xy + (4y^2-4)y^2",
        source="L. C. W. Dixon and G. P. Szegő (1978), Towards Global Optimisation 2",
    )


# ----------------------------------------------------------------------------
# Saddles


def saddle() -> TestFunction:
    r"""The saddle :math:`f(x, y) = x^2 - y^2`.

    Gradient :math:`(2x, -2y)`, Hessian :math:`\mathrm{diag}(2, -2)`: a minimum
    along :math:`x`, a maximum along :math:`y`. No minimum (``fmin = -inf``);
    the saddle point is the origin. Gradient descent started on the
    :math:`x`-axis converges to the saddle; a tiny :math:`y` lets it escape,
    slowly at first.
    """

    def value(x):
        return x[0] ** 2 - x[1] ** 2

    def grad(x):
        return xp.stack([2 * x[0], -2 * x[1]])

    def hessian(x):
        two, zero = _const(x[0], 2.0), _const(x[0], 0.0)
        return xp.stack([xp.stack([two, zero]), xp.stack([zero, -two])])

    return TestFunction(
        "saddle", 2, value, grad, hessian, minima=[], fmin=-math.inf,
        bounds=[(-2.0, 2.0), (-2.0, 2.0)], start=[1.5, 1e-3], saddles=[[0.0, 0.0]],
        latex=r"f(x,y) = x^2 - y^2", source="the hyperbolic paraboloid",
    )


def monkey_saddle() -> TestFunction:
    r"""The monkey saddle :math:`f(x, y) = x^3 - 3xy^2`.

    Gradient :math:`(3x^2 - 3y^2, -6xy)`, Hessian
    :math:`\begin{pmatrix} 6x & -6y \\ -6y & -6x \end{pmatrix}`. At the origin
    gradient *and* Hessian vanish: a degenerate saddle with three valleys (two
    for the legs, one for the monkey's tail), where second-order tests say
    nothing. No minimum (``fmin = -inf``).
    """

    def value(x):
        X, Y = x[0], x[1]
        return X**3 - 3 * X * Y**2

    def grad(x):
        X, Y = x[0], x[1]
        return xp.stack([3 * X**2 - 3 * Y**2, -6 * X * Y])

    def hessian(x):
        X, Y = x[0], x[1]
        return xp.stack([xp.stack([6 * X, -6 * Y]), xp.stack([-6 * Y, -6 * X])])

    return TestFunction(
        "monkey_saddle", 2, value, grad, hessian, minima=[], fmin=-math.inf,
        bounds=[(-1.5, 1.5), (-1.5, 1.5)], start=[0.5, 0.3], saddles=[[0.0, 0.0]],
        latex=r"f(x,y) = x^3 - 3xy^2", source="a classic degenerate saddle",
    )


# ----------------------------------------------------------------------------
# Many minima


def _cubic_roots(p: float, q: float) -> list[float]:
    """The three real roots of :math:`t^3 + p t + q = 0` (needs :math:`4p^3 + 27q^2 < 0`).

    Viète's trigonometric solution, ascending.
    """
    r = 2.0 * math.sqrt(-p / 3.0)
    phi = math.acos(3.0 * q / (p * r))
    return sorted(r * math.cos(phi / 3.0 - 2.0 * math.pi * k / 3.0) for k in range(3))


def double_well(tilt: float = 0.3) -> TestFunction:
    r"""A tilted 1-D double well: a deep global and a shallow local minimum.

    .. math:: f(x) = (x^2 - 1)^2 + \tau x

    :math:`f'(x) = 4x^3 - 4x + \tau`, :math:`f''(x) = 12x^2 - 4`. The tilt
    :math:`\tau` lowers the left well: with :math:`\tau = 0.3` the global
    minimum is near :math:`x = -1.04` and a local one near :math:`x = 0.96`,
    separated by a hump near :math:`x = 0.08`. The minima are the outer roots of
    :math:`f' = 0`, computed with Viète's formula. The default start, 1.5,
    rolls gradient descent into the *local* well.

    Parameters
    ----------
    tilt : float, default 0.3
        :math:`\tau`, with :math:`0 < |\tau| < 1.5` so that both wells exist.
    """
    tau = _real("tilt", tilt)
    if not 0 < abs(tau) < 1.5:
        raise ValueError(
            f"Invalid tilt={tilt!r}: use 0 < |tilt| < 1.5 (beyond about 1.54 one well vanishes)."
        )
    lo, hump, hi = _cubic_roots(-1.0, tau / 4.0)      # roots of x³ - x + τ/4

    def value(x):
        return (x[0] ** 2 - 1) ** 2 + tau * x[0]

    def grad(x):
        return 4 * x**3 - 4 * x + tau

    def hessian(x):
        return (12 * x[0] ** 2 - 4)[None, None]

    def f(t):
        return (t * t - 1) ** 2 + tau * t

    minima = sorted([lo, hi], key=f)
    return TestFunction(
        "double_well", 1, value, grad, hessian, minima=[[m] for m in minima],
        fmin=f(minima[0]), bounds=[(-2.0, 2.0)], start=[1.5], saddles=[[hump]],
        latex=r"f(x) = (x^2-1)^2 + \tau x",
        source="the quartic double-well potential of physics, tilted",
    )


def rastrigin(dim: int = 2, A: float = 10.0) -> TestFunction:
    r"""Rastrigin's function (Rastrigin 1974): a bowl covered in ripples.

    .. math:: f(x) = A d + \sum_{i=1}^d \left(x_i^2 - A \cos(2\pi x_i)\right)

    Gradient :math:`2x_i + 2\pi A \sin(2\pi x_i)`, Hessian diagonal
    :math:`2 + 4\pi^2 A \cos(2\pi x_i)`. Global minimum at the origin,
    :math:`f = 0`, among a lattice of local minima near the integer points.

    Source: L. A. Rastrigin (1974), Systems of Extremal Control, Nauka, Moscow
    (2-D); generalised to :math:`d` dimensions by H. Mühlenbein, M. Schomisch
    and J. Born (1991), Parallel Computing 17, 619-632.
    """
    dim = _check_dim(dim)
    A = _real("A", A)
    if not 0 <= A < math.inf:
        raise ValueError(f"Invalid A={A!r}: it must be >= 0 (the height of the ripples).")
    two_pi = 2 * math.pi

    def value(x):
        return A * dim + (x**2 - A * xp.cos(two_pi * x)).sum(axis=0)

    def grad(x):
        return 2 * x + two_pi * A * xp.sin(two_pi * x)

    def hessian(x):
        diag = 2 + two_pi**2 * A * xp.cos(two_pi * x)
        eye = xp.eye(dim).reshape((dim, dim) + (1,) * (x.ndim - 1))
        return eye * diag[None]

    start = [(2.7 if i % 2 == 0 else -3.3) for i in range(dim)]
    return TestFunction(
        "rastrigin", dim, value, grad, hessian, minima=[[0.0] * dim], fmin=0.0,
        bounds=[(-5.12, 5.12)] * dim, start=start,
        latex=r"f(x) = A d + \sum_i \left(x_i^2 - A\cos(2\pi x_i)\right)",
        source="L. A. Rastrigin (1974), Systems of Extremal Control; "
               "Mühlenbein, Schomisch and Born (1991)",
    )


def styblinski_tang(dim: int = 2) -> TestFunction:
    r"""The Styblinski-Tang function (Styblinski and Tang 1990).

    .. math:: f(x) = \tfrac12 \sum_{i=1}^d \left(x_i^4 - 16 x_i^2 + 5 x_i\right)

    Separable: each coordinate has a deep well near :math:`-2.9035` and a
    shallower one near :math:`2.7468` (the outer roots of :math:`4t^3 - 32t + 5`),
    so there are :math:`2^d` local minima; the global one is at
    :math:`x_i = -2.9035\ldots` with :math:`f \approx -39.166\, d`. ``minima``
    lists all of them, deepest first, when :math:`d \le 4` (only the global one
    beyond). Gradient :math:`2x_i^3 - 16x_i + 2.5`, Hessian diagonal
    :math:`6x_i^2 - 16`.

    Source: M. A. Styblinski and T.-S. Tang (1990), "Experiments in nonconvex
    optimization: stochastic approximation with function smoothing and
    simulated annealing", Neural Networks 3(4), 467-483.
    """
    dim = _check_dim(dim)
    deep, _, shallow = _cubic_roots(-8.0, 1.25)       # roots of t³ - 8t + 5/4

    def h(t):                                         # one coordinate's term
        return 0.5 * (t**4 - 16 * t**2 + 5 * t)

    def value(x):
        return (0.5 * (x**4 - 16 * x**2 + 5 * x)).sum(axis=0)

    def grad(x):
        return 2 * x**3 - 16 * x + 2.5

    def hessian(x):
        diag = 6 * x**2 - 16
        eye = xp.eye(dim).reshape((dim, dim) + (1,) * (x.ndim - 1))
        return eye * diag[None]

    if dim <= 4:
        minima = sorted(itertools.product((deep, shallow), repeat=dim),
                        key=lambda m: sum(h(t) for t in m))
    else:
        minima = [(deep,) * dim]
    start = [(3.5 if i % 2 == 0 else 4.0) for i in range(dim)]
    return TestFunction(
        "styblinski_tang", dim, value, grad, hessian, minima=[list(m) for m in minima],
        fmin=dim * h(deep), bounds=[(-5.0, 5.0)] * dim, start=start,
        latex=r"f(x) = \tfrac12 \sum_i \left(x_i^4 - 16x_i^2 + 5x_i\right)",
        source="M. A. Styblinski and T.-S. Tang (1990), Neural Networks 3(4), 467-483",
    )


def _check_dim(dim) -> int:
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise ValueError(f"Invalid dim={dim!r}: it must be a positive integer.")
    return dim


# ----------------------------------------------------------------------------
# By name

#: Constructors by name.
REGISTRY: dict[str, Callable[..., TestFunction]] = {
    "quadratic": quadratic,
    "parabola": parabola,
    "rosenbrock": rosenbrock,
    "himmelblau": himmelblau,
    "beale": beale,
    "six_hump_camel": six_hump_camel,
    "saddle": saddle,
    "monkey_saddle": monkey_saddle,
    "double_well": double_well,
    "rastrigin": rastrigin,
    "styblinski_tang": styblinski_tang,
}


def get(name: str, **kw) -> TestFunction:
    """Build the test function called ``name`` (case-insensitive, ``-`` or ``_``).

    Examples
    --------
    >>> f = get("rosenbrock", b=10)
    >>> float(f([1.0, 1.0]))
    0.0
    """
    key = str(name).strip().lower().replace("-", "_").replace(" ", "_")
    if key not in REGISTRY:
        raise unknown_name_error("test function", name, REGISTRY)
    return REGISTRY[key](**kw)
