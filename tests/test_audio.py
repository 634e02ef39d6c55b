"""gdlib.audio against independent computations: SciPy's STFT and DCT, and librosa's numbers.

The librosa values (STFT power, HTK mel filterbanks with and without Slaney's
normalisation, mel spectrogram, decibels, MFCCs) were computed by librosa 0.11.0 in a
separate environment (``tools/reference/librosa_audio.py``) and stored in
``tests/fixtures/audio_librosa.npz``: librosa is not a dependency of the course.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.fft
import scipy.signal

from gdlib import audio, backend

REF = np.load(Path(__file__).parent / "fixtures" / "audio_librosa.npz")
RATE, N_FFT, HOP, N_MELS, N_MFCC = (int(v) for v in REF["settings"])


def test_reference_fixture_is_what_the_tests_expect():
    assert str(REF["version"]) == "0.11.0"
    assert REF["power"].shape == (1 + (REF["x"].size - N_FFT) // HOP, N_FFT // 2 + 1)


# ----------------------------------------------------------------------------
# framing and window


def test_frame_takes_every_hop_and_drops_the_incomplete_tail():
    x = np.arange(10.0)
    f = audio.frame(x, frame_length=4, hop_length=3)
    np.testing.assert_array_equal(f, [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]])
    f = audio.frame(np.arange(11.0), 4, 3)          # sample 10 is not in a whole frame
    assert f.shape == (3, 4)
    np.testing.assert_array_equal(audio.frame(x, 4, 4), [[0, 1, 2, 3], [4, 5, 6, 7]])


def test_frame_center_pads_half_a_frame_of_zeros_on_each_side():
    f = audio.frame(np.arange(1.0, 7.0), frame_length=4, hop_length=2, center=True)
    np.testing.assert_array_equal(f, [[0, 0, 1, 2], [1, 2, 3, 4], [3, 4, 5, 6], [5, 6, 0, 0]])


def test_frame_works_on_a_batch_of_signals():
    x = np.arange(24.0).reshape(2, 12)
    f = audio.frame(x, 5, 2)
    assert f.shape == (2, 4, 5)
    np.testing.assert_array_equal(f[1, 2], x[1, 4:9])


def test_hann_is_scipys_periodic_window():
    for n in (1, 2, 7, 256):
        np.testing.assert_allclose(audio.hann(n), scipy.signal.get_window("hann", n),
                                   atol=1e-15)


# ----------------------------------------------------------------------------
# spectrum


def test_spectrogram_equals_scipy_stft_power():
    x = REF["x"]
    ours = audio.spectrogram(x, n_fft=N_FFT, hop_length=HOP)
    window = scipy.signal.get_window("hann", N_FFT)
    _, _, z = scipy.signal.stft(x, window=window, nperseg=N_FFT, noverlap=N_FFT - HOP,
                                boundary=None, padded=False, detrend=False,
                                return_onesided=True, scaling="spectrum")
    ref = np.abs(z * window.sum()).T ** 2      # undo SciPy's 1/sum(w) scaling
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12 * ref.max())


def test_spectrogram_equals_scipy_shorttimefft_with_zero_padded_fft():
    x = REF["x"][:1200]
    ours = audio.spectrogram(x, n_fft=512, hop_length=100, frame_length=200)
    stft = scipy.signal.ShortTimeFFT(scipy.signal.get_window("hann", 200), hop=100, fs=RATE,
                                     mfft=512)
    # ShortTimeFFT centres its frames on multiples of the hop; the slices whose window
    # lies wholly inside the signal are the frames of center=False.
    first, last = stft.lower_border_end[1], stft.upper_border_begin(x.size)[1]
    ref = np.abs(stft.stft(x)[:, first:last]).T ** 2
    assert ref.shape == ours.shape
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12 * ref.max())


def test_spectrogram_equals_librosa_stft_power():
    ours = audio.spectrogram(REF["x"], n_fft=N_FFT, hop_length=HOP)
    np.testing.assert_allclose(ours, REF["power"], rtol=1e-6, atol=1e-9 * REF["power"].max())


def test_a_pure_tone_peaks_at_its_bin_and_power_is_magnitude_squared():
    n = np.arange(256)
    tone = np.cos(2 * np.pi * 32 * n / 256)            # exactly bin 32 of a 256-point FFT
    mag = audio.power_spectrum(tone[None, :], window=None, power=1.0)[0]
    assert mag.shape == (129,) and int(np.argmax(mag)) == 32
    assert mag[32] == pytest.approx(128.0)            # N/2 for a unit cosine, no window
    power = audio.power_spectrum(tone[None, :], window=None)[0]
    np.testing.assert_allclose(power, mag ** 2)
    hann = audio.power_spectrum(tone[None, :])[0]
    assert hann[32] == pytest.approx(64.0 ** 2)       # the window halves the amplitude
    assert hann[31] == pytest.approx(32.0 ** 2) and hann[34] < 1e-20   # leakage: 2 bins


# ----------------------------------------------------------------------------
# mel scale and filterbank


def test_htk_mel_formula_and_its_inverse():
    np.testing.assert_allclose(audio.hz_to_mel(REF["freqs"]), REF["mels"], rtol=1e-12)
    assert float(audio.hz_to_mel(1000.0)) == pytest.approx(1000.0, abs=0.02)
    f = np.linspace(0, 8000, 17)
    np.testing.assert_allclose(audio.mel_to_hz(audio.hz_to_mel(f)), f, atol=1e-9)


@pytest.mark.parametrize("name,args,kwargs", [
    ("mel_htk", (N_MELS, N_FFT, RATE), {}),
    ("mel_slaney", (N_MELS, N_FFT, RATE), {"norm": "slaney"}),
    ("mel_band", (20, 512, RATE), {"fmin": 100.0, "fmax": 3500.0}),
])
def test_mel_filterbank_equals_librosa(name, args, kwargs):
    ours = audio.mel_filterbank(*args, **kwargs)
    ref = REF[name]                                   # librosa computes in float32
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6 * ref.max())


def test_mel_filterbank_triangles_written_out_independently():
    # Each filter is rebuilt from its three edges, bin by bin, with the HTK formula.
    n_mels, n_fft, rate = 10, 64, 8000
    bank = audio.mel_filterbank(n_mels, n_fft, rate)
    mels = np.linspace(0, 2595 * np.log10(1 + 4000 / 700), n_mels + 2)
    edges = 700 * (10 ** (mels / 2595) - 1)
    for m in range(n_mels):
        lo, mid, hi = edges[m], edges[m + 1], edges[m + 2]
        for k in range(n_fft // 2 + 1):
            f = k * rate / n_fft
            want = (f - lo) / (mid - lo) if lo <= f <= mid else \
                (hi - f) / (hi - mid) if mid < f <= hi else 0.0
            assert bank[m, k] == pytest.approx(want, abs=1e-12)
    # Neighbouring triangles cross at half height, so the bank sums to 1 between the
    # first and the last centre.
    inside = (np.arange(n_fft // 2 + 1) * rate / n_fft > edges[1]) & \
        (np.arange(n_fft // 2 + 1) * rate / n_fft < edges[-2])
    np.testing.assert_allclose(bank.sum(axis=0)[inside], 1.0, atol=1e-12)


# ----------------------------------------------------------------------------
# decibels, DCT, log-mel, MFCC


def test_power_to_db():
    np.testing.assert_allclose(audio.power_to_db(np.array([1.0, 10.0, 1e-3, 0.0])),
                               [0.0, 10.0, -30.0, -100.0])
    assert float(audio.power_to_db(0.0, amin=1e-5)) == pytest.approx(-50.0)


def test_dct_equals_scipy_orthonormal_dct_ii():
    x = np.random.default_rng(0).normal(size=(3, 5, 40))
    np.testing.assert_allclose(audio.dct(x), scipy.fft.dct(x, type=2, norm="ortho"),
                               atol=1e-12)
    np.testing.assert_allclose(audio.dct(x, n=13), scipy.fft.dct(x, type=2, norm="ortho")[..., :13],
                               atol=1e-12)
    # orthonormal: the energy is kept
    np.testing.assert_allclose(np.sum(audio.dct(x) ** 2, -1), np.sum(x ** 2, -1))


def test_log_mel_and_mfcc_equal_librosa():
    x = REF["x"]
    logmel = audio.log_mel_spectrogram(x, RATE, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS)
    np.testing.assert_allclose(logmel, REF["db"], atol=1e-4)      # dB; librosa's float32 bank
    coeffs = audio.mfcc(x, RATE, n_mfcc=N_MFCC, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS)
    assert coeffs.shape == REF["mfcc"].shape
    np.testing.assert_allclose(coeffs, REF["mfcc"], atol=1e-4)


def test_a_gain_is_an_offset_in_log_mel():
    x = REF["x"]
    a = audio.log_mel_spectrogram(x, RATE)
    b = audio.log_mel_spectrogram(3.0 * x, RATE)
    np.testing.assert_allclose(b - a, 20 * np.log10(3.0), atol=1e-9)


def test_float32_in_float32_out():
    x = REF["x"].astype(np.float32)
    assert audio.frame(x, 100, 50).dtype == np.float32
    assert audio.spectrogram(x).dtype == np.float32


# ----------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize("call,exc,words", [
    (lambda: audio.frame(np.zeros(10), 0, 2), ValueError, "frame_length"),
    (lambda: audio.frame(np.zeros(10), 4, 0), ValueError, "hop_length"),
    (lambda: audio.frame(np.zeros(10), 4.0, 2), TypeError, "frame_length"),
    (lambda: audio.frame(np.zeros(10), 20, 2), ValueError, "frame_length=20"),
    (lambda: audio.frame(np.zeros(10), 4, 2, center=1), TypeError, "center"),
    (lambda: audio.frame(np.array([1.0, np.nan, 0, 0]), 2, 1), ValueError, "NaN"),
    (lambda: audio.frame(np.array(["a", "b"]), 1, 1), TypeError, "real numbers"),
    (lambda: audio.frame(np.float64(3.0), 1, 1), ValueError, "dimension"),
    (lambda: audio.power_spectrum(np.zeros((2, 8)), n_fft=4), ValueError, "n_fft=4"),
    (lambda: audio.power_spectrum(np.zeros((2, 8)), window="hamming"), ValueError, "window"),
    (lambda: audio.power_spectrum(np.zeros((2, 8)), window=np.ones(7)), ValueError, "window"),
    (lambda: audio.power_spectrum(np.zeros((2, 8)), power=0), ValueError, "power"),
    (lambda: audio.mel_filterbank(0, 256, 8000), ValueError, "n_mels"),
    (lambda: audio.mel_filterbank(10, 256, -8000), ValueError, "rate"),
    (lambda: audio.mel_filterbank(10, 256, 8000, fmax=5000), ValueError, "Nyquist"),
    (lambda: audio.mel_filterbank(10, 256, 8000, fmin=3000, fmax=2000), ValueError, "fmin"),
    (lambda: audio.mel_filterbank(10, 256, 8000, norm="area"), ValueError, "norm"),
    (lambda: audio.power_to_db(np.ones(3), amin=0), ValueError, "amin"),
    (lambda: audio.dct(np.ones(5), n=6), ValueError, "n=6"),
])
def test_bad_input_is_refused_with_the_parameter_named(call, exc, words):
    with pytest.raises(exc, match=words):
        call()


@pytest.mark.gpu
@pytest.mark.skipif(not backend.gpu_available(),
                    reason="no usable GPU (gdlib.backend.gpu_available() is False)")
def test_mfcc_agrees_on_cupy_and_numpy():
    previous = backend.device()
    out = {}
    try:
        for dev in ("cpu", "gpu"):
            backend.use(dev)
            x = backend.asarray(REF["x"])
            out[dev] = (backend.to_host(audio.log_mel_spectrogram(x, RATE)),
                        backend.to_host(audio.mfcc(x, RATE)))
    finally:
        backend.use(previous)
    for gpu, cpu in zip(out["gpu"], out["cpu"]):
        np.testing.assert_allclose(gpu, cpu, rtol=1e-9, atol=1e-9)
