"""Lesson 22: framing a signal, a triangular mel filterbank, log-mel energies in decibels."""

from harness import *  # noqa: F403
from harness import Wrong

LESSON = "22-speech-recognition"


def _frames(body: str) -> str:
    return f"""
def frame_signal(x, frame_length, hop_length):
    x = np.asarray(x, dtype=float)
{body}
"""


def _bank(edges: str = "700 * (10 ** (np.linspace(0, top, n_mels + 2) / 2595) - 1)",
          freqs: str = "np.arange(n_fft // 2 + 1) * rate / n_fft",
          top: str = "2595 * np.log10(1 + (rate / 2) / 700)",
          filters: str = "n_mels") -> str:
    return f"""
def mel_triangles(n_mels, n_fft, rate):
    freqs = {freqs}
    top = {top}
    edges = {edges}
    bank = np.zeros(({filters}, freqs.size))
    for m in range({filters}):
        lo, mid, hi = edges[m], edges[m + 1], edges[m + 2]
        bank[m] = np.maximum(0, np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)))
    return bank
"""


def _log_mel(body: str) -> str:
    return f"""
def log_mel(power, bank, amin=1e-10):
    power, bank = np.asarray(power), np.asarray(bank)
    return {body}
"""


WRONG = [
    # Exercise 1: framing
    Wrong("ex1", "hop and frame length swapped", _frames(
        "    count = 1 + (len(x) - hop_length) // frame_length\n"
        "    return np.stack([x[t * frame_length:t * frame_length + hop_length] "
        "for t in range(count)])"),
        expect=("hop and frame length are swapped",)),
    Wrong("ex1", "one frame short (no + 1)", _frames(
        "    count = (len(x) - frame_length) // hop_length\n"
        "    return np.stack([x[t * hop_length:t * hop_length + frame_length] "
        "for t in range(count)])"),
        expect=("one frame is missing", r"1 \+ \(N - L\) // H")),
    Wrong("ex1", "non-overlapping frames (hop ignored)", _frames(
        "    count = len(x) // frame_length\n"
        "    return x[:count * frame_length].reshape(count, frame_length)"),
        expect=("do not overlap",)),
    Wrong("ex1", "a frame at every sample", _frames(
        "    return np.lib.stride_tricks.sliding_window_view(x, frame_length).copy()"),
        expect=("every sample", "step by hop_length")),
    Wrong("ex1", "partial last frame padded with zeros", _frames(
        "    count = 1 + int(np.ceil((len(x) - frame_length) / hop_length))\n"
        "    x = np.concatenate([x, np.zeros(frame_length)])\n"
        "    return np.stack([x[t * hop_length:t * hop_length + frame_length] "
        "for t in range(count)])"),
        expect=("partial frame",)),
    Wrong("ex1", "frames start one sample late", _frames(
        "    count = 1 + (len(x) - frame_length) // hop_length\n"
        "    x = np.concatenate([x, [0.0]])\n"
        "    return np.stack([x[t * hop_length + 1:t * hop_length + 1 + frame_length] "
        "for t in range(count)])"),
        expect=("first frame starts at sample 0",)),
    Wrong("ex1", "window applied while framing", _frames(
        "    count = 1 + (len(x) - frame_length) // hop_length\n"
        "    return np.stack([x[t * hop_length:t * hop_length + frame_length] "
        "* np.hanning(frame_length) for t in range(count)])"),
        expect=("no window here",)),
    Wrong("ex1", "library's audio.frame", _frames(
        "    return audio.frame(x, frame_length, hop_length)"),
        expect=("switched off", "the framing yourself")),
    # Exercise 2: the mel filterbank
    Wrong("ex1", "frames one sample short (L - 1 in the slice)", _frames(
        "    T = 1 + (len(x) - frame_length) // hop_length\n"
        "    return np.stack([x[t * hop_length:t * hop_length + frame_length - 1]"
        " for t in range(T)])"), expect=("frame_length samples", "end index")),
    Wrong("ex1", "starts from range(0, N - L, H): last frame lost when it ends at N", _frames(
        "    return np.stack([x[s:s + frame_length]"
        " for s in range(0, len(x) - frame_length, hop_length)])"),
        expect=("one frame is missing", r"range\(0, N - L \+ 1, H\)")),
    Wrong("ex2", "ln for the mels, 10** for the inverse",
          _bank(top="2595 * np.log(1 + (rate / 2) / 700)"),
          expect=("natural log", "its own inverse")),
    Wrong("ex2", "edges evenly spaced in Hz", _bank(edges="np.linspace(0, rate / 2, n_mels + 2)"),
          expect=("evenly spaced in Hz",)),
    Wrong("ex2", "FFT bins beyond Nyquist kept", _bank(freqs="np.arange(n_fft) * rate / n_fft"),
          expect=("beyond the Nyquist",)),
    Wrong("ex2", "bins spread up to rate instead of rate/2",
          _bank(freqs="np.linspace(0, rate, n_fft // 2 + 1)"),
          expect=("k \\* rate / n_fft", "Nyquist")),
    Wrong("ex2", "n_mels edges instead of n_mels + 2",
          _bank(edges="700 * (10 ** (np.linspace(0, top, n_mels) / 2595) - 1)",
                filters="n_mels - 2"),
          expect=(r"n_mels \+ 2 edges",)),
    Wrong("ex2", "edges rounded to FFT bins (off by up to a bin)",
          _bank(edges="np.floor((n_fft + 1) * 700 * (10 ** (np.linspace(0, top, n_mels + 2) "
                      "/ 2595) - 1) / rate) * rate / n_fft"),
          expect=("rounded to FFT bins",)),
    Wrong("ex2", "edges up to rate instead of rate / 2",
          _bank(top="2595 * np.log10(1 + rate / 700)"),
          expect=("Nyquist", "rate / 2")),
    Wrong("ex2", "triangles scaled to unit area (Slaney)", """
def mel_triangles(n_mels, n_fft, rate):
    freqs = np.arange(n_fft // 2 + 1) * rate / n_fft
    top = 2595 * np.log10(1 + (rate / 2) / 700)
    edges = 700 * (10 ** (np.linspace(0, top, n_mels + 2) / 2595) - 1)
    bank = np.zeros((n_mels, freqs.size))
    for m in range(n_mels):
        lo, mid, hi = edges[m], edges[m + 1], edges[m + 2]
        tri = np.maximum(0, np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)))
        bank[m] = tri * 2 / (hi - lo)
    return bank
""", expect=("unit area", "peak at 1")),
    Wrong("ex2", "library's audio.mel_filterbank", """
def mel_triangles(n_mels, n_fft, rate):
    return audio.mel_filterbank(n_mels, n_fft, rate)
""", expect=("switched off", "the mel filterbank yourself")),
    # Exercise 3: log-mel in decibels
    Wrong("ex3", "natural log instead of log10",
          _log_mel("10 * np.log(np.maximum(power @ bank.T, amin))"),
          expect=("base-10 log",)),
    Wrong("ex3", "factor 10 missing", _log_mel("np.log10(np.maximum(power @ bank.T, amin))"),
          expect=("factor 10 is missing",)),
    Wrong("ex3", "20 log10 (amplitude decibels) on a power",
          _log_mel("20 * np.log10(np.maximum(power @ bank.T, amin))"),
          expect=("already a power",)),
    Wrong("ex3", "no epsilon: log10(0) = -inf", """
def log_mel(power, bank, amin=1e-10):
    with np.errstate(divide="ignore"):
        return 10 * np.log10(np.asarray(power) @ np.asarray(bank).T)
""", expect=("-inf", "max\\(E, amin\\)")),
    Wrong("ex3", "amplitude instead of power",
          _log_mel("10 * np.log10(np.maximum(np.sqrt(power) @ bank.T, amin))"),
          expect=("amplitude",)),
    Wrong("ex3", "log before the filterbank",
          _log_mel("(10 * np.log10(np.maximum(power, amin))) @ bank.T"),
          expect=("before the filterbank",)),
    Wrong("ex3", "floor fixed at 1e-10 (amin ignored)",
          _log_mel("10 * np.log10(np.maximum(power @ bank.T, 1e-10))"),
          expect=("argument amin", "fixed 1e-10")),
    Wrong("ex3", "decibels relative to the maximum",
          _log_mel("10 * np.log10(np.maximum(power @ bank.T, amin) / np.max(power @ bank.T))"),
          expect=("loudest", "ref=np.max")),
    Wrong("ex3", "amin added instead of a floor", _log_mel("10 * np.log10(power @ bank.T + amin)"),
          expect=(r"max\(E, amin\)", r"not E \+ amin")),
    Wrong("ex3", "library's audio.power_to_db", _log_mel("audio.power_to_db(power @ bank.T, amin)"),
          expect=("switched off", "the log-mel energies yourself")),
]
