r"""Fused update kernels: each element-wise rule in one multi-threaded pass.

The readable ``update`` of an optimizer (the one the lessons show) is a few NumPy
statements, and each statement is a pass over the arrays that makes a
temporary: Adam reads and writes memory about fifteen times per element,
on one thread. This module holds the same rules written as *one loop over
the elements*, which reads each array once and writes it once:

- on the CPU, a `numba <https://numba.pydata.org>`_ loop compiled with
  ``parallel=True``, so ``prange`` splits the elements over the cores;
- on the GPU, a CuPy ``ElementwiseKernel`` (one CUDA kernel per update).

Each loop is written statement by statement like the readable rule, with the
same operations in the same order and every constant in the array's dtype, so
the fused and readable paths give the same numbers (bit for bit in the tests,
float32 and float64; see ``tests/test_optim_fused.py``).

When it is used
---------------
Every optimizer with a ``fused_update`` method takes ``fused=None`` (as
``torch.optim`` names it):

``fused=None`` (default)
    Follow the environment variable ``GDLIB_FUSED``: ``auto`` (or unset) fuses
    arrays of at least :data:`MIN_SIZE` elements, where the fused loop is
    measurably faster; ``1`` fuses every array; ``0`` never fuses.
``fused=True`` / ``fused=False``
    Always / never, whatever ``GDLIB_FUSED`` says. ``True`` raises at once when
    no kernel can run (numba missing, a dtype other than float32/float64).

Small arrays (every lesson's) therefore keep the readable rule. A parameter
whose gradient has another dtype, or a float16 parameter, is always updated
by the readable rule, whose mixed-precision arithmetic is the definition.
Arrays that are fused below :data:`PARALLEL_MIN_SIZE` elements run the loop on
one thread.

Threads
-------
The large-array loops use all cores (``NUMBA_NUM_THREADS``, default: all).
On a machine busy with other work (a shared JupyterHub server, a test run)
each multi-threaded step waits for a time slice on every core, which can cost
tens of milliseconds; ``NUMBA_NUM_THREADS=1`` keeps the one-pass loop on one
core, and ``GDLIB_FUSED=0`` goes back to NumPy. ``torch.optim`` has the same
problem with its threads.

Why numba and not numexpr (measured on the course's 2-core machine)
-------------------------------------------------------------------
Both were tried on SGD with momentum and Adam, float32, 10^6 and 10^7
elements (``benchmarks/optimizer_step.py`` and the numbers in the README):

- *Speed.* numexpr evaluates one expression per call, so Adam takes three calls
  (``m``, ``v``, then ``p``) that together read ten arrays and write three,
  against numba's one loop reading four and writing three: at 10^7 (float32,
  load average 9 on the 2 cores), numexpr's Adam was no faster than the plain
  NumPy statements (376 ms against 341 ms), numba's took 41 ms; numexpr's
  per-call cost also made it slower than NumPy at 10^6 (28 ms against 9 ms).
- *Threads.* Both use all cores (numexpr's ``nthreads``, numba's
  ``NUMBA_NUM_THREADS``); both suffer on an overloaded machine.
- *float32.* Both keep float32 arithmetic in float32 when the constants are
  float32 (here: ``dtype.type(c)``): numexpr's Adam and numba's loops both
  matched NumPy's statements bit for bit over 50 steps.
- *Costs of numba.* A bigger install (numba and llvmlite: 64 MB of wheels,
  210 MB installed, against numexpr's 0.4 MB and 2 MB), an import of 0.3-1.3 s
  (paid only when the first array is fused), and a compilation on the first
  call of each kernel and dtype (about 1 s single-threaded, 2-4 s
  multi-threaded, measured under load), cached on disk (``cache=True``) so
  later runs load it in a fraction of a second.
- *Readability.* numexpr's strings (``"b1*m + (1-b1)*g"``) read like the
  equation but hide it from linters and debuggers; numba's loop is ordinary
  Python with the rule written for one element, which is what the lessons'
  equations are.

The GPU kernels
---------------
Each rule's CUDA body sits under its CPU loop (the same statements in C++).
They are compiled with ``--fmad=false`` so that, like NumPy, every product is
rounded before it is added (CUDA would otherwise fuse ``a*b + c``).
**They have not been run on a GPU yet**: the tests compile the same bodies as
C++ with the host compiler and check them against the numba loops, element by
element; the CuPy kernels themselves run in the tests marked ``gpu``.
"""

from __future__ import annotations

import importlib.util
import math
import os
import types

import numpy

#: The loops' parallel range. numba is imported only when the first kernel is
#: compiled (importing it takes 0.3-1.3 s, which small-array users never pay);
#: then this becomes ``numba.prange``.
prange = range
_HAVE_NUMBA = importlib.util.find_spec("numba") is not None

__all__ = [
    "ENV_VAR",
    "MIN_SIZE",
    "PARALLEL_MIN_SIZE",
    "Kernel",
    "KERNELS",
    "check_fused",
    "mode",
    "wanted",
    "apply",
    "cpu_available",
]

#: The environment variable that switches the fused path: ``0``, ``1`` or ``auto``.
ENV_VAR = "GDLIB_FUSED"

#: Arrays with at least this many elements are fused by default (``fused=None``,
#: ``GDLIB_FUSED`` unset or ``auto``). Below it the readable rule, run by NumPy,
#: is as fast or faster: starting the threads costs more than it saves. (Measured
#: on the 2-core machine: the fused loop wins from 2^15 elements for SGD with
#: momentum and from 2^14 for Adam.)
MIN_SIZE = 1 << 16

#: Smaller arrays (fused by ``fused=True`` or ``GDLIB_FUSED=1``) run the same
#: loop compiled without threads: waking the threads would cost more than the
#: loop, and far more on a busy machine.
PARALLEL_MIN_SIZE = MIN_SIZE

_DTYPES = (numpy.dtype(numpy.float32), numpy.dtype(numpy.float64))


# ----------------------------------------------------------------------------
# Choosing the path


def check_fused(fused) -> bool | None:
    """Return ``fused`` when it is ``None``, ``True`` or ``False``; raise otherwise.

    With ``None``, ``GDLIB_FUSED`` is checked too, so that a misspelt value is
    reported when the optimizer is made (a step never raises for it).
    """
    if fused is None:
        mode()
        return None
    if isinstance(fused, (bool, numpy.bool_)):
        return bool(fused)
    raise TypeError(
        f"fused must be None (automatic), True or False, got {fused!r} "
        f"({type(fused).__name__})."
    )


def mode(strict: bool = True) -> str:
    """``'auto'``, ``'always'`` or ``'never'``, as ``GDLIB_FUSED`` says (default ``auto``).

    An unknown value raises ``ValueError``, or reads as ``auto`` when not ``strict``.
    """
    value = os.environ.get(ENV_VAR, "auto").strip().lower()
    if value in ("", "auto"):
        return "auto"
    if value in ("1", "true", "on", "yes", "always"):
        return "always"
    if value in ("0", "false", "off", "no", "never"):
        return "never"
    if not strict:
        return "auto"
    raise ValueError(
        f"{ENV_VAR}={value!r} is not understood: use 0 (never fuse), 1 (always) or "
        "auto (large arrays only, the default)."
    )


def cpu_available() -> tuple[bool, str]:
    """``(True, "")`` when numba imports, else ``(False, why)``."""
    if not _HAVE_NUMBA:
        return False, "numba is not installed (pip install numba)"
    return True, ""


def _gpu_available() -> tuple[bool, str]:
    try:
        import cupy  # noqa: F401
    except ImportError:
        return False, "CuPy is not installed"
    return True, ""


def _module_ok(a) -> tuple[bool, str]:
    if isinstance(a, numpy.ndarray):
        return cpu_available()
    if type(a).__module__.startswith("cupy"):
        return _gpu_available()
    return False, f"no fused kernel for {type(a).__name__} arrays"


def check_params(fused: bool | None, arrays, names) -> None:
    """With ``fused=True``, raise at once when some parameter cannot be fused."""
    if fused is not True:
        return
    for a, name in zip(arrays, names):
        ok, why = _module_ok(a)
        if not ok:
            raise ValueError(f"fused=True, but parameter {name!r} cannot be fused: {why}. "
                             "Use fused=None (automatic) or False.")
        if a.dtype not in _DTYPES:
            raise ValueError(
                f"fused=True, but parameter {name!r} has dtype {a.dtype}: the fused kernels "
                "are float32 and float64. Use fused=None (the readable rule runs it) or False."
            )


def wanted(fused: bool | None, p, g, state: dict) -> bool:
    """Whether this parameter's step takes the fused path."""
    if fused is False:
        return False
    if fused is None:
        how = mode(strict=False)        # checked when the optimizer was made
        if how == "never" or (how == "auto" and p.size < MIN_SIZE):
            return False
    dtype = p.dtype
    if dtype not in _DTYPES or g.dtype != dtype or type(g) is not type(p):
        return False
    for v in state.values():
        if hasattr(v, "dtype") and (v.dtype != dtype or v.shape != p.shape):
            return False
    return _module_ok(p)[0]


def _flat(a):
    """``(a as a 1-d C-ordered array, True if that is a copy to write back)``."""
    if a.flags.c_contiguous:
        return a.reshape(-1), False
    mod = numpy if isinstance(a, numpy.ndarray) else _cupy()
    return mod.ascontiguousarray(a).reshape(-1), True


def apply(opt, p, g, state: dict) -> None:
    """Run ``opt.fused_update`` on flat views of ``p``, ``g`` and the state arrays.

    Arrays that are not C-contiguous (a transposed or strided view) are copied
    into C order, updated there and copied back, so the same elements meet in
    the loop whatever the layout; the copies are exact, so the result is too.
    Scalars in the state (schedule-free's running sums) are passed through.
    """
    pf, p_copied = _flat(p)
    gf, _ = _flat(g)
    flat, copied = {}, []
    for k, v in state.items():
        if hasattr(v, "shape"):
            flat[k], was_copied = _flat(v)
            if was_copied:
                copied.append(k)
        else:
            flat[k] = v
    opt.fused_update(pf, gf, flat, opt.t)
    if p_copied:
        p[...] = pf.reshape(p.shape)
    for k, v in flat.items():
        if k in copied:
            state[k][...] = v.reshape(p.shape)
        elif not hasattr(v, "shape"):
            state[k] = v


def _cupy():
    import cupy

    return cupy


# ----------------------------------------------------------------------------
# Kernels: one loop per rule, and its CUDA twin


class Kernel:
    """One fused update rule, for the CPU (numba) and the GPU (CuPy).

    Parameters
    ----------
    loop : function
        The rule for every element ``i`` in ``prange(p.size)``; arguments in the
        order ``arrays``, ``scalars``, ``flags``.
    arrays : str
        The array arguments, written ones first (``p`` and the state), then
        ``g`` (read only). A name ending in ``?`` is optional: pass ``None``
        when the option that needs it is off.
    scalars, flags : str
        The real-valued constants (cast to the arrays' dtype before the call,
        as NumPy casts a Python float) and the on/off options.
    cuda : str
        The loop's body in CUDA C++ for ``cupy.ElementwiseKernel``; an optional
        array ``x`` is a raw array there, read as ``x[i]``.
    """

    def __init__(self, name: str, loop, arrays: str, scalars: str, flags: str, cuda: str):
        self.name = name
        self.loop = loop
        self.arrays = arrays.split()
        self.scalars = scalars.split()
        self.flags = flags.split()
        self.cuda = cuda
        self._cpu: dict = {}
        self._gpu = None

    def __repr__(self) -> str:
        return f"Kernel({self.name!r})"

    def __call__(self, *arrays, **values) -> None:
        """Run the rule in place on 1-d arrays of one dtype (NumPy or CuPy)."""
        if len(arrays) != len(self.arrays) or set(values) != set(self.scalars + self.flags):
            raise TypeError(
                f"{self.name} takes the arrays {self.arrays} and the values "
                f"{self.scalars + self.flags}; got {len(arrays)} arrays and {sorted(values)}."
            )
        p = arrays[0]
        real = p.dtype.type
        mod = numpy if isinstance(p, numpy.ndarray) else _cupy()
        unused = mod.empty(1, p.dtype)       # stands in for an optional array that is off
        filled = [unused if a is None else a for a in arrays]
        scalars = [real(values[s]) for s in self.scalars]
        flags = [bool(values[f]) for f in self.flags]
        if isinstance(p, numpy.ndarray):
            self.cpu(parallel=p.size >= PARALLEL_MIN_SIZE)(*filled, *scalars, *flags)
        else:
            self._run_gpu(filled, scalars, flags)

    def cpu(self, parallel: bool = True):
        """The loop compiled by numba, on all cores or on one (compiled on the first
        call, cached on disk)."""
        compiled = self._cpu.get(parallel)
        if compiled is None:
            import numba

            here = globals()
            here["prange"] = numba.prange            # the loops split over the threads
            for name, fn in HELPERS.items():        # the loops call the compiled helpers
                if here[name] is fn:
                    here[name] = numba.njit(inline="always", cache=True)(fn)
            loop = self.loop
            if not parallel:                        # its own name: its own cache file
                loop = types.FunctionType(loop.__code__, loop.__globals__,
                                          f"{self.name}_serial", loop.__defaults__)
                loop.__qualname__ = loop.__name__
            compiled = numba.njit(parallel=parallel, cache=True, fastmath=False,
                                  nogil=True)(loop)
            self._cpu[parallel] = compiled
        return compiled

    def cuda_params(self) -> tuple[str, str]:
        """``(in_params, out_params)`` of the ``ElementwiseKernel``."""
        outs = [f"raw T {a[:-1]}" if a.endswith("?") else f"T {a}" for a in self.arrays[:-1]]
        ins = [f"T {self.arrays[-1]}"] + [f"T {s}" for s in self.scalars] + [
            f"bool {f}" for f in self.flags]
        return ", ".join(ins), ", ".join(outs)

    def gpu(self):
        """The ``cupy.ElementwiseKernel`` (built on the first call)."""
        if self._gpu is None:
            cupy = _cupy()
            ins, outs = self.cuda_params()
            self._gpu = cupy.ElementwiseKernel(
                ins, outs, self.cuda, f"gdlib_fused_{self.name}", preamble=PREAMBLE,
                no_return=True, options=("--fmad=false",))
        return self._gpu

    def _run_gpu(self, arrays, scalars, flags) -> None:
        written, g = arrays[:-1], arrays[-1]
        self.gpu()(g, *scalars, *flags, *written)


#: Every kernel by name (the tests check each CUDA body's syntax).
KERNELS: dict[str, Kernel] = {}
#: Functions the loops call, by name; numba compiles them with the first kernel.
HELPERS: dict = {}


def _helper(fn):
    HELPERS[fn.__name__] = fn
    return fn


def _kernel(arrays: str, scalars: str, flags: str, cuda: str):
    def register(loop):
        name = loop.__name__
        KERNELS[name] = Kernel(name, loop, arrays, scalars, flags, cuda)
        return KERNELS[name]
    return register


# In every loop, ``gi`` is the gradient of element i after maximize and the
# L2 penalty, ``pi`` the parameter; every name in the arithmetic is an array
# element or a constant of the arrays' dtype (no Python literal that would
# promote float32 to float64). Two helpers hold what several rules share; numba
# compiles them with the first kernel, CUDA has them in PREAMBLE.


@_helper
def gradient(i, p, g, lam, maximize, decay):
    """g_i, negated to maximize, plus the L2 penalty λθ_i when ``decay``."""
    gi = -g[i] if maximize else g[i]
    if decay:
        gi = gi + lam * p[i]                      # g <- g + λθ
    return gi


@_helper
def adam_moments(i, p, m, v, g, b1, c1, b2, c2, lam, shrink, maximize, decay, decoupled):
    """The Adam family's start for element i: decay, then both moving averages.

    Returns ``(θ_i, g_i, m_i, v_i)`` with θ_i already shrunk by decoupled decay;
    writes m_i and v_i.
    """
    gi = -g[i] if maximize else g[i]
    pi = p[i]
    if decoupled:
        pi = pi * shrink                          # θ <- θ(1 - ηλ)   (AdamW)
    elif decay:
        gi = gi + lam * pi                        # g <- g + λθ      (L2)
    mi = b1 * m[i] + c1 * gi                      # m = β1 m + (1-β1) g
    vi = b2 * v[i] + c2 * (gi * gi)               # v = β2 v + (1-β2) g²
    m[i] = mi
    v[i] = vi
    return pi, gi, mi, vi


#: The CUDA twins of the helpers, compiled before every GPU kernel.
PREAMBLE = r"""
template <typename T>
__device__ T gradient(T g, T p, T lam, bool maximize, bool decay) {
    T gi = maximize ? -g : g;
    if (decay) gi = gi + lam * p;
    return gi;
}

template <typename T>
__device__ void adam_moments(T& p, T& m, T& v, T& gi, T g, T b1, T c1, T b2, T c2, T lam,
                             T shrink, bool maximize, bool decay, bool decoupled) {
    gi = maximize ? -g : g;
    if (decoupled) p = p * shrink;
    else if (decay) gi = gi + lam * p;
    m = b1 * m + c1 * gi;
    v = b2 * v + c2 * (gi * gi);
}
"""


@_kernel("p b? g", "lr mu damp1 lam", "maximize decay momentum first damped nesterov", """
    T gi = gradient(g, p, lam, maximize, decay);
    if (momentum) {
        T bi;
        if (first) bi = gi;
        else if (damped) bi = mu * b[i] + damp1 * gi;
        else bi = mu * b[i] + gi;
        b[i] = bi;
        gi = nesterov ? gi + mu * bi : bi;
    }
    p = p - lr * gi;
""")
def sgd(p, b, g, lr, mu, damp1, lam, maximize, decay, momentum, first, damped, nesterov):
    """SGD (and GD): optional L2 penalty, momentum with dampening, Nesterov."""
    for i in prange(p.size):
        gi = gradient(i, p, g, lam, maximize, decay)
        if momentum:
            if first:
                bi = gi                           # b_1 = g_1
            elif damped:
                bi = mu * b[i] + damp1 * gi       # b = μ b + (1-τ) g
            else:
                bi = mu * b[i] + gi               # b = μ b + g
            b[i] = bi
            gi = gi + mu * bi if nesterov else bi
        p[i] = p[i] - lr * gi                     # θ <- θ - η d


@_kernel("p G g", "lr lam eps", "maximize decay", """
    T gi = gradient(g, p, lam, maximize, decay);
    G = G + gi * gi;
    p = p - lr * gi / (sqrt(G) + eps);
""")
def adagrad(p, G, g, lr, lam, eps, maximize, decay):
    """Adagrad; ``lr`` is the step's decayed rate η̃."""
    for i in prange(p.size):
        gi = gradient(i, p, g, lam, maximize, decay)
        Gi = G[i] + gi * gi                       # G = G + g²
        G[i] = Gi
        p[i] = p[i] - lr * gi / (math.sqrt(Gi) + eps)   # θ -= η̃ g / (sqrt(G) + ε)


@_kernel("p v g_bar? b? g", "lr alpha c lam eps mu", "maximize decay centered momentum", """
    T gi = gradient(g, p, lam, maximize, decay);
    v = alpha * v + c * (gi * gi);
    T s;
    if (centered) {
        T gb = alpha * g_bar[i] + c * gi;
        g_bar[i] = gb;
        s = sqrt(v - gb * gb) + eps;
    } else {
        s = sqrt(v) + eps;
    }
    if (momentum) {
        T bi = mu * b[i] + gi / s;
        b[i] = bi;
        p = p - lr * bi;
    } else {
        p = p - lr * gi / s;
    }
""")
def rmsprop(p, v, g_bar, b, g, lr, alpha, c, lam, eps, mu, maximize, decay, centered,
            momentum):
    """RMSprop, plain or centered, with or without momentum; ``c`` is 1-α."""
    for i in prange(p.size):
        gi = gradient(i, p, g, lam, maximize, decay)
        vi = alpha * v[i] + c * (gi * gi)         # v = α v + (1-α) g²
        v[i] = vi
        if centered:
            gb = alpha * g_bar[i] + c * gi        # ḡ = α ḡ + (1-α) g
            g_bar[i] = gb
            s = math.sqrt(vi - gb * gb) + eps     # s = sqrt(v - ḡ²) + ε
        else:
            s = math.sqrt(vi) + eps               # s = sqrt(v) + ε
        if momentum:
            bi = mu * b[i] + gi / s               # b = μ b + g / s
            b[i] = bi
            p[i] = p[i] - lr * bi                 # θ -= η b
        else:
            p[i] = p[i] - lr * gi / s             # θ -= η g / s


@_kernel("p Eg2 Edx2 g", "lr rho c lam eps", "maximize decay", """
    T gi = gradient(g, p, lam, maximize, decay);
    Eg2 = rho * Eg2 + c * (gi * gi);
    T dx = sqrt(Edx2 + eps) / sqrt(Eg2 + eps) * gi;
    Edx2 = rho * Edx2 + c * (dx * dx);
    p = p - lr * dx;
""")
def adadelta(p, Eg2, Edx2, g, lr, rho, c, lam, eps, maximize, decay):
    """Adadelta; ``c`` is 1-ρ."""
    for i in prange(p.size):
        gi = gradient(i, p, g, lam, maximize, decay)
        e = rho * Eg2[i] + c * (gi * gi)          # E[g²] = ρ E[g²] + (1-ρ) g²
        Eg2[i] = e
        dx = math.sqrt(Edx2[i] + eps) / math.sqrt(e + eps) * gi   # Δθ = RMS[Δθ] / RMS[g] · g
        Edx2[i] = rho * Edx2[i] + c * (dx * dx)   # E[Δθ²] = ρ E[Δθ²] + (1-ρ) Δθ²
        p[i] = p[i] - lr * dx                     # θ -= η Δθ


@_kernel("p m v v_max? g", "b1 c1 b2 c2 lam shrink step_size eps_t",
         "maximize decay decoupled amsgrad", """
    T gi;
    T pi = p;
    adam_moments(pi, m, v, gi, g, b1, c1, b2, c2, lam, shrink, maximize, decay, decoupled);
    T vi = v;
    if (amsgrad) {
        vi = max(v_max[i], vi);
        v_max[i] = vi;
    }
    p = pi - step_size * (m / (sqrt(vi) + eps_t));
""")
def adam(p, m, v, v_max, g, b1, c1, b2, c2, lam, shrink, step_size, eps_t, maximize, decay,
         decoupled, amsgrad):
    """Adam, AdamW and AMSGrad, with the bias corrections folded into the constants."""
    for i in prange(p.size):
        pi, gi, mi, vi = adam_moments(i, p, m, v, g, b1, c1, b2, c2, lam, shrink, maximize,
                                      decay, decoupled)
        if amsgrad:
            vi = max(v_max[i], vi)                # v̂ uses max_s v_s
            v_max[i] = vi
        p[i] = pi - step_size * (mi / (math.sqrt(vi) + eps_t))   # θ -= η_t m / (sqrt(v) + ε_t)


@_kernel("p m u g", "b1 c1 b2 lam eps clr", "maximize decay", """
    T gi = gradient(g, p, lam, maximize, decay);
    m = b1 * m + c1 * gi;
    u = max(b2 * u, fabs(gi) + eps);
    p = p - clr * m / u;
""")
def adamax(p, m, u, g, b1, c1, b2, lam, eps, clr, maximize, decay):
    """Adamax; ``clr`` is η/(1-β1^t)."""
    for i in prange(p.size):
        gi = gradient(i, p, g, lam, maximize, decay)
        mi = b1 * m[i] + c1 * gi                  # m = β1 m + (1-β1) g
        ui = max(b2 * u[i], abs(gi) + eps)        # u = max(β2 u, |g| + ε)
        m[i] = mi
        u[i] = ui
        p[i] = p[i] - clr * mi / ui               # θ -= η/(1-β1^t) · m / u


@_kernel("p m v g", "b1 c1 b2 c2 lam shrink bias2 eps a_g a_m",
         "maximize decay decoupled", """
    T gi;
    T pi = p;
    adam_moments(pi, m, v, gi, g, b1, c1, b2, c2, lam, shrink, maximize, decay, decoupled);
    T denom = sqrt(v / bias2) + eps;
    pi = pi - a_g * gi / denom;
    p = pi - a_m * m / denom;
""")
def nadam(p, m, v, g, b1, c1, b2, c2, lam, shrink, bias2, eps, a_g, a_m, maximize, decay,
          decoupled):
    """NAdam; ``a_g`` and ``a_m`` weigh the gradient and the look-ahead momentum."""
    for i in prange(p.size):
        pi, gi, mi, vi = adam_moments(i, p, m, v, g, b1, c1, b2, c2, lam, shrink, maximize,
                                      decay, decoupled)
        denom = math.sqrt(vi / bias2) + eps       # sqrt(v̂) + ε
        pi = pi - a_g * gi / denom                # gradient part
        p[i] = pi - a_m * mi / denom              # look-ahead momentum part


@_kernel("p m v g", "b1 c1 b2 c2 lam shrink lr bias1 r_t root_bias2 eps",
         "maximize decay decoupled rectified", """
    T gi;
    T pi = p;
    adam_moments(pi, m, v, gi, g, b1, c1, b2, c2, lam, shrink, maximize, decay, decoupled);
    T m_hat = m / bias1;
    if (rectified) p = pi - lr * m_hat * r_t * (root_bias2 / (sqrt(v) + eps));
    else p = pi - lr * m_hat;
""")
def radam(p, m, v, g, b1, c1, b2, c2, lam, shrink, lr, bias1, r_t, root_bias2, eps, maximize,
          decay, decoupled, rectified):
    """RAdam: a momentum step, or once ρ_t > 5 the rectified Adam step."""
    for i in prange(p.size):
        pi, gi, mi, vi = adam_moments(i, p, m, v, g, b1, c1, b2, c2, lam, shrink, maximize,
                                      decay, decoupled)
        m_hat = mi / bias1                        # m̂ = m / (1-β1^t)
        if rectified:
            l_t = root_bias2 / (math.sqrt(vi) + eps)
            p[i] = pi - lr * m_hat * r_t * l_t    # θ -= η m̂ r_t l_t
        else:
            p[i] = pi - lr * m_hat                # θ -= η m̂


@_kernel("p m g", "lr b1 c1 b2 c2 lam", "maximize decay", """
    T gi = maximize ? -g : g;
    T c = c1 * gi + b1 * m;
    T u = (T)(c > 0) - (T)(c < 0);
    if (decay) u = u + lam * p;
    p = p - lr * u;
    m = b2 * m + c2 * gi;
""")
def lion(p, m, g, lr, b1, c1, b2, c2, lam, maximize, decay):
    """Lion: the sign of the blend, then the momentum."""
    for i in prange(p.size):
        gi = -g[i] if maximize else g[i]
        c = c1 * gi + b1 * m[i]                   # c = β1 m + (1-β1) g
        u = numpy.sign(c)                         # u = sign(c)
        if decay:
            u = u + lam * p[i]                    # u += λθ
        p[i] = p[i] - lr * u                      # θ -= η u
        m[i] = b2 * m[i] + c2 * gi                # m = β2 m + (1-β2) g


@_kernel("p z v g", "b1 c1 b2 c2 bias2 eps lam lr keep c", "decay", """
    T x = (p - c1 * z) / b1;
    v = b2 * v + c2 * (g * g);
    T u = g / (sqrt(v / bias2) + eps);
    if (decay) u = u + lam * p;
    z = z - lr * u;
    x = keep * x + c * z;
    p = b1 * x + c1 * z;
""")
def schedule_free(p, z, v, g, b1, c1, b2, c2, bias2, eps, lam, lr, keep, c, decay):
    """Schedule-free AdamW; ``lr`` is γ_{t-1}, ``c`` the averaging weight, ``keep`` 1-c."""
    for i in prange(p.size):
        x = (p[i] - c1 * z[i]) / b1               # x = (y - (1-β1) z)/β1
        vi = b2 * v[i] + c2 * (g[i] * g[i])       # v = β2 v + (1-β2) g²
        v[i] = vi
        u = g[i] / (math.sqrt(vi / bias2) + eps)  # g / (sqrt(v̂) + ε)
        if decay:
            u = u + lam * p[i]                    # + λ y
        zi = z[i] - lr * u                        # z -= γ_{t-1} u
        z[i] = zi
        x = keep * x + c * zi                     # x = (1-c) x + c z
        p[i] = b1 * x + c1 * zi                   # y = β1 x + (1-β1) z
