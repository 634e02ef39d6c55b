"""Reference values for tests/test_audio.py from librosa (not a dependency of the course).

Run with a Python that has ``numpy`` and ``librosa`` (0.11.0 was used)::

    python -m venv /tmp/librosa-venv && /tmp/librosa-venv/bin/pip install numpy librosa
    /tmp/librosa-venv/bin/python tools/reference/librosa_audio.py

It writes ``tests/fixtures/audio_librosa.npz``: a seeded test signal and librosa's STFT
power, mel filterbanks (HTK formula, with and without Slaney's area normalisation),
mel spectrogram, decibels and MFCCs of it, with the settings stored next to them.
"""

from pathlib import Path

import librosa
import numpy as np

OUT = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "audio_librosa.npz"
RATE, N_FFT, HOP, N_MELS, N_MFCC = 8000, 256, 80, 40, 13


def main() -> None:
    rng = np.random.default_rng(2026)
    t = np.arange(2400) / RATE
    x = 0.3 * np.sin(2 * np.pi * (200 * t + 1500 * t ** 2)) + 0.05 * rng.standard_normal(t.size)
    power = np.abs(librosa.stft(x, n_fft=N_FFT, hop_length=HOP, window="hann",
                                center=False)) ** 2
    mel_htk = librosa.filters.mel(sr=RATE, n_fft=N_FFT, n_mels=N_MELS, htk=True, norm=None)
    mel_slaney = librosa.filters.mel(sr=RATE, n_fft=N_FFT, n_mels=N_MELS, htk=True,
                                     norm="slaney")
    mel_band = librosa.filters.mel(sr=RATE, n_fft=512, n_mels=20, fmin=100.0, fmax=3500.0,
                                   htk=True, norm=None)
    mel_spec = librosa.feature.melspectrogram(y=x, sr=RATE, n_fft=N_FFT, hop_length=HOP,
                                              center=False, htk=True, norm=None, power=2.0,
                                              n_mels=N_MELS)
    db = librosa.power_to_db(mel_spec, ref=1.0, amin=1e-10, top_db=None)
    mfcc = librosa.feature.mfcc(S=db, n_mfcc=N_MFCC, dct_type=2, norm="ortho")
    freqs = np.array([0.0, 100.0, 700.0, 1000.0, 4000.0, 8000.0])
    np.savez_compressed(
        OUT, x=x, power=power.T, mel_htk=mel_htk, mel_slaney=mel_slaney, mel_band=mel_band,
        mel_spec=mel_spec.T, db=db.T, mfcc=mfcc.T, freqs=freqs,
        mels=librosa.hz_to_mel(freqs, htk=True),
        settings=np.array([RATE, N_FFT, HOP, N_MELS, N_MFCC]),
        version=np.array(librosa.__version__))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
