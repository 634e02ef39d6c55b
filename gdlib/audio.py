r"""Speech features from a waveform: frames, window, spectrum, mel filterbank, log-mel, MFCC.

A speech recogniser does not read the raw samples :math:`x[n]`; it reads how the energy
in each frequency band changes over time. The steps, each a function here:

1. :func:`frame`: cut the signal into overlapping frames of ``frame_length`` samples,
   one every ``hop_length`` samples: frame :math:`t` is
   :math:`x[tH], \dots, x[tH + L - 1]` (speech is roughly stationary over 20-30 ms).
2. :func:`hann`: taper each frame with the (periodic) Hann window
   :math:`w[n] = \tfrac12 - \tfrac12\cos(2\pi n / L)`, so its edges do not add
   spurious high frequencies ("spectral leakage").
3. :func:`power_spectrum`: the power :math:`|X_t[k]|^2` of the real FFT of each windowed
   frame, for the :math:`n_{\mathrm{fft}}/2 + 1` bins from 0 Hz to the Nyquist frequency
   (``rate / 2``): :func:`spectrogram` does steps 1-3.
4. :func:`mel_filterbank`: triangles spaced evenly on the **mel scale**, the HTK formula
   :math:`m(f) = 2595 \log_{10}(1 + f/700)` (O'Shaughnessy 1987, as in the HTK toolkit and
   ``librosa.filters.mel(..., htk=True)``), which follows how people judge pitch: about
   linear below 1 kHz, logarithmic above (Stevens, Volkmann and Newman 1937). The
   filterbank sums the power spectrum into ``n_mels`` bands.
5. :func:`log_mel_spectrogram`: :math:`10 \log_{10}(\max(E, a_{\min}))` of those band
   energies, in decibels: loudness is heard on a log scale, and the log turns a gain
   into an offset.
6. :func:`mfcc`: the orthonormal DCT-II (:func:`dct`) of each log-mel frame, keeping the
   first ``n_mfcc`` coefficients: the mel-frequency cepstral coefficients of Davis and
   Mermelstein (1980), a smooth summary of the spectral envelope.

Definitions follow librosa's (``librosa.stft(center=False)``, ``filters.mel(htk=True,
norm=None)`` or ``norm="slaney"``, ``power_to_db(top_db=None)``,
``feature.mfcc(dct_type=2, norm="ortho")``), so the numbers agree with that library;
``tests/test_audio.py`` checks them against SciPy's STFT and independent computations.
Arrays are computed with the backend's array module (NumPy, or CuPy on a GPU).

Sources
-------
- S. S. Stevens, J. Volkmann and E. B. Newman (1937), "A scale for the measurement of the
  psychological magnitude pitch", J. Acoust. Soc. Am. 8(3), 185-190: the mel scale.
- S. B. Davis and P. Mermelstein (1980), "Comparison of parametric representations for
  monosyllabic word recognition in continuously spoken sentences", IEEE Trans. ASSP 28(4),
  357-366: mel-frequency cepstral coefficients.
- D. O'Shaughnessy (1987), *Speech Communication: Human and Machine*, Addison-Wesley:
  the formula 2595 log10(1 + f/700).
- M. Slaney (1998), "Auditory Toolbox, version 2", Interval Research technical report
  1998-010: the area-normalised filters (``norm="slaney"``).
"""

from __future__ import annotations

import math

from .backend import array_module, asarray
from .optim.base import check_int, check_real

__all__ = [
    "hz_to_mel",
    "mel_to_hz",
    "frame",
    "hann",
    "power_spectrum",
    "spectrogram",
    "mel_filterbank",
    "power_to_db",
    "dct",
    "log_mel_spectrogram",
    "mfcc",
]


def _signal(x, name: str = "x", min_ndim: int = 1):
    x = asarray(x)
    xp = array_module(x)
    if x.dtype.kind not in "fiu":
        raise TypeError(f"{name} must hold real numbers, got dtype {x.dtype}.")
    if x.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimension(s), got shape "
                         f"{tuple(x.shape)}.")
    x = x.astype(xp.float64 if x.dtype != xp.float32 else xp.float32)
    if not bool(xp.isfinite(x).all()):
        raise ValueError(f"{name} holds NaN or infinity; clean the signal first.")
    return x, xp


def _positive_int(name: str, value) -> int:
    return check_int(name, value, minimum=1)


# ----------------------------------------------------------------------------
# The mel scale (HTK formula)


def hz_to_mel(f):
    r"""Frequency in Hz -> mels, :math:`m = 2595 \log_{10}(1 + f / 700)` (HTK formula).

    1000 Hz is 1000 mels (to 0.01), the scale's anchor (Stevens, Volkmann and Newman
    1937 fixed 1000 mels at 1000 Hz).
    """
    f = asarray(f)
    xp = array_module(f)
    return 2595.0 * xp.log10(1.0 + f / 700.0)


def mel_to_hz(m):
    r"""Mels -> frequency in Hz, :math:`f = 700 (10^{m / 2595} - 1)`."""
    m = asarray(m)
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


# ----------------------------------------------------------------------------
# Framing, window, spectrum


def frame(x, frame_length: int, hop_length: int, center: bool = False):
    r"""Overlapping frames of a signal: ``out[..., t, n] = x[..., t * hop_length + n]``.

    Parameters
    ----------
    x : array, shape (..., N)
        The signal(s), time on the last axis.
    frame_length : int
        Samples per frame, :math:`L` (e.g. 200 = 25 ms at 8 kHz).
    hop_length : int
        Samples between the starts of consecutive frames, :math:`H` (e.g. 80 = 10 ms).
    center : bool, default False
        Pad ``frame_length // 2`` zeros at both ends first, so frame :math:`t` is centred
        on sample :math:`tH` (librosa's ``center=True`` with zero padding).

    Returns
    -------
    array, shape (..., 1 + (N' - L) // H, L)
        :math:`N'` is the (padded) length; samples after the last whole frame are dropped.
    """
    x, xp = _signal(x)
    frame_length = _positive_int("frame_length", frame_length)
    hop_length = _positive_int("hop_length", hop_length)
    if not isinstance(center, bool):
        raise TypeError(f"center must be True or False, got {center!r}.")
    if center:
        pad = [(0, 0)] * (x.ndim - 1) + [(frame_length // 2, frame_length // 2)]
        x = xp.pad(x, pad)
    n = x.shape[-1]
    if n < frame_length:
        raise ValueError(f"the signal has {n} samples, fewer than frame_length="
                         f"{frame_length}; use a shorter frame or pad the signal.")
    count = 1 + (n - frame_length) // hop_length
    index = hop_length * xp.arange(count)[:, None] + xp.arange(frame_length)[None, :]
    return x[..., index]


def hann(length: int, dtype=None):
    r"""The periodic Hann window :math:`w[n] = \tfrac12 - \tfrac12 \cos(2\pi n / L)`,
    :math:`n = 0, \dots, L-1` (``scipy.signal.get_window("hann", L)``; for spectra, the
    periodic form tiles exactly at a hop of :math:`L/2`). Length 1 gives ``[1.0]``, as SciPy."""
    length = _positive_int("length", length)
    from .backend import xp
    n = xp.arange(length, dtype=dtype or xp.float64)
    if length == 1:
        return xp.ones(1, dtype=n.dtype)
    return 0.5 - 0.5 * xp.cos(2.0 * math.pi * n / length)


def power_spectrum(frames, n_fft: int | None = None, window="hann", power: float = 2.0):
    r""":math:`|\mathrm{FFT}(w \cdot \text{frame})|^{p}` for the bins 0 ... n_fft/2.

    Parameters
    ----------
    frames : array, shape (..., L)
    n_fft : int, optional
        FFT size, at least ``L`` (frames are zero-padded); default ``L``.
    window : "hann", None or array of shape (L,)
        The window multiplied into each frame first (None: no window, a rectangle).
    power : float, default 2
        2 for the power spectrum, 1 for the magnitude.

    Returns
    -------
    array, shape (..., n_fft // 2 + 1)
        Bin :math:`k` is the frequency :math:`k \cdot \text{rate} / n_{\mathrm{fft}}`; the bins
        above ``n_fft // 2`` mirror these for a real signal and are not returned.
    """
    frames, xp = _signal(frames, "frames")
    length = frames.shape[-1]
    n_fft = length if n_fft is None else _positive_int("n_fft", n_fft)
    if n_fft < length:
        raise ValueError(f"n_fft={n_fft} is shorter than the frames ({length} samples); "
                         "use n_fft >= frame length.")
    power = check_real("power", power, low=0.0, low_open=True)
    if isinstance(window, str):
        if window != "hann":
            raise ValueError(f"window={window!r}: use 'hann', None or an array of weights.")
        window = hann(length)
    if window is not None:
        window = asarray(window).astype(frames.dtype)
        if window.shape != (length,):
            raise ValueError(f"window has shape {tuple(window.shape)}; it must be ({length},), "
                             "one weight per sample of a frame.")
        frames = frames * window
    spectrum = xp.abs(xp.fft.rfft(frames, n=n_fft, axis=-1)).astype(frames.dtype)
    return spectrum ** 2 if power == 2.0 else spectrum ** power


def spectrogram(x, n_fft: int = 256, hop_length: int = 80, frame_length: int | None = None,
                window="hann", power: float = 2.0, center: bool = False):
    """Short-time power spectrum: :func:`frame`, then :func:`power_spectrum`.

    Returns an array of shape (..., frames, n_fft // 2 + 1): time first, then frequency
    (the layout a recurrent network reads). ``frame_length`` defaults to ``n_fft``.
    """
    n_fft = _positive_int("n_fft", n_fft)
    frame_length = n_fft if frame_length is None else frame_length
    frames = frame(x, frame_length, hop_length, center=center)
    return power_spectrum(frames, n_fft=n_fft, window=window, power=power)


# ----------------------------------------------------------------------------
# Mel filterbank, decibels, DCT


def mel_filterbank(n_mels: int, n_fft: int, rate: float, fmin: float = 0.0,
                   fmax: float | None = None, norm: str | None = None):
    r"""Triangular filters evenly spaced on the mel scale, shape (n_mels, n_fft // 2 + 1).

    ``n_mels + 2`` edge frequencies :math:`f_0 < f_1 < \dots < f_{M+1}` are spaced evenly
    in mels between ``fmin`` and ``fmax`` (:func:`hz_to_mel`). Filter :math:`m`
    (:math:`m = 1 \dots M`) rises linearly from 0 at :math:`f_{m-1}` to 1 at
    :math:`f_m` and falls back to 0 at :math:`f_{m+1}`, evaluated at the FFT bin
    frequencies :math:`k \cdot \text{rate} / n_{\mathrm{fft}}`:

    .. math:: W_m(f) = \max\Big(0, \min\Big(\frac{f - f_{m-1}}{f_m - f_{m-1}},
              \frac{f_{m+1} - f}{f_{m+1} - f_m}\Big)\Big).

    Parameters
    ----------
    n_mels : int
    n_fft : int
    rate : float
        The sampling rate in Hz.
    fmin, fmax : float
        The lowest and highest edge; ``fmax`` defaults to the Nyquist frequency ``rate / 2``.
    norm : None or "slaney"
        None: peaks of height 1 (HTK). ``"slaney"``: each filter scaled by
        :math:`2 / (f_{m+1} - f_{m-1})` so all have the same area (Slaney 1998).

    Equal to ``librosa.filters.mel(sr=rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin,
    fmax=fmax, htk=True, norm=norm)``.
    """
    n_mels = _positive_int("n_mels", n_mels)
    n_fft = _positive_int("n_fft", n_fft)
    rate = check_real("rate", rate, low=0.0, low_open=True)
    nyquist = rate / 2.0
    fmin = check_real("fmin", fmin, low=0.0)
    fmax = nyquist if fmax is None else check_real("fmax", fmax, low=0.0, low_open=True)
    if fmax > nyquist:
        raise ValueError(f"fmax={fmax} is above the Nyquist frequency rate/2 = {nyquist}: "
                         "a sampled signal holds no higher frequencies.")
    if fmin >= fmax:
        raise ValueError(f"fmin={fmin} must be below fmax={fmax}.")
    if norm not in (None, "slaney"):
        raise ValueError(f"norm={norm!r}: use None or 'slaney'.")
    from .backend import xp
    freqs = xp.arange(n_fft // 2 + 1) * (rate / n_fft)                  # bin centres, Hz
    edges = mel_to_hz(xp.linspace(float(hz_to_mel(fmin)), float(hz_to_mel(fmax)),
                                  n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs[None, :] - lower) / (centre - lower)
    falling = (upper - freqs[None, :]) / (upper - centre)
    weights = xp.maximum(0.0, xp.minimum(rising, falling))
    if norm == "slaney":
        weights = weights * (2.0 / (upper - lower))
    return weights


def power_to_db(power, amin: float = 1e-10):
    r""":math:`10 \log_{10}(\max(P, a_{\min}))`: power in decibels (``amin`` keeps silence
    finite: :math:`\log 0 = -\infty`)."""
    power = asarray(power)
    xp = array_module(power)
    amin = check_real("amin", amin, low=0.0, low_open=True)
    return 10.0 * xp.log10(xp.maximum(power, amin))


def dct(x, n: int | None = None):
    r"""Orthonormal DCT-II along the last axis, keeping the first ``n`` coefficients:

    .. math:: c_k = s_k \sum_{j=0}^{N-1} x_j \cos\Big(\frac{\pi k (2j + 1)}{2N}\Big),
              \quad s_0 = \sqrt{1/N},\ s_k = \sqrt{2/N}

    (``scipy.fft.dct(x, type=2, norm="ortho")[..., :n]``). Written as a product with the
    :math:`n \times N` basis matrix, which a learner can print.
    """
    x, xp = _signal(x)
    size = x.shape[-1]
    n = size if n is None else _positive_int("n", n)
    if n > size:
        raise ValueError(f"n={n} coefficients asked of a DCT of length {size}; use n <= {size}.")
    k = xp.arange(n)[:, None]
    j = xp.arange(size)[None, :]
    basis = xp.cos(math.pi * k * (2 * j + 1) / (2 * size)) * math.sqrt(2.0 / size)
    basis[0] /= math.sqrt(2.0)
    return x @ basis.T


def log_mel_spectrogram(x, rate: float, n_fft: int = 256, hop_length: int = 80,
                        n_mels: int = 40, frame_length: int | None = None,
                        fmin: float = 0.0, fmax: float | None = None,
                        center: bool = False, amin: float = 1e-10):
    """Log-mel features in dB, shape (..., frames, n_mels): :func:`spectrogram` (power),
    :func:`mel_filterbank`, :func:`power_to_db`."""
    power = spectrogram(x, n_fft=n_fft, hop_length=hop_length, frame_length=frame_length,
                        center=center)
    bank = mel_filterbank(n_mels, n_fft, rate, fmin=fmin, fmax=fmax)
    return power_to_db(power @ asarray(bank).T, amin=amin)


def mfcc(x, rate: float, n_mfcc: int = 13, **kwargs):
    """Mel-frequency cepstral coefficients, shape (..., frames, n_mfcc): the orthonormal
    DCT-II of :func:`log_mel_spectrogram` (keyword arguments go to it). Equal to
    ``librosa.feature.mfcc(y=x, sr=rate, n_mfcc=n_mfcc, htk=True, center=False,
    window="hann", top_db=None, ...)`` transposed."""
    return dct(log_mel_spectrogram(x, rate, **kwargs), n=n_mfcc)
