"""Synthesise the spoken-digit corpus that lesson 22 ships: ``gdlib/data/speech/spoken_digits.npz``.

The words "zero" to "nine" are spoken by the speech synthesiser eSpeak NG (Debian package
``espeak-ng``; only this script needs it, the course never does) with many voices,
speeds and pitches, then

1. resampled from eSpeak's 22,050 Hz to 8,000 Hz mono (``scipy.signal.resample_poly``
   with up/down factors 160/441, the telephone rate of the Free Spoken Digit Dataset);
2. trimmed of leading and trailing silence (samples below 1 % of the peak), scaled to a
   peak of 0.5 (-6 dBFS) and placed at a random offset in a 0.8 s frame of 6,400 zeros;
3. stored as 8-bit mu-law codes (``int8``, mu = 255), the companding of telephone speech
   (ITU-T G.711, 1972; here the continuous formula, not G.711's segment table):
   :math:`c = \\mathrm{round}(127\\,\\mathrm{sign}(x)\\ln(1 + \\mu|x|)/\\ln(1 + \\mu))`.
   Its quantisation noise is about 38 dB below the speech, under the added noise; it halves
   the file against int16. :func:`gdlib.data.speech.mu_law_decode` inverts it.

Noise is part of the corpus too: every clip has a signal-to-noise ratio drawn uniformly
from [SNR_LOW, SNR_HIGH] dB and a noise seed, both stored; :func:`gdlib.data.load_spoken_digits`
adds the white Gaussian noise they define when it loads the clip. Storing the clean clip
and the noise recipe rather than the noisy clip keeps the file small (silence and clean
speech compress, noise does not) and lets a learner turn the noise up or off.

A *voice* is an eSpeak voice variant (``m1`` ... ``m8``, ``f1`` ... ``f5``, ``klatt``,
named ones such as ``belinda`` or ``edward``): its formants, pitch range, breathiness and
synthesiser differ. Each clip combines one variant with one English accent (``en-us``,
``en-gb``, ``en-gb-scotland``, ...), a speed (``-s``, words per minute) and a pitch
(``-p``, 0-99), drawn by a seeded generator. The test split holds out whole variants:
no test voice is heard in training (accents are shared; they change pronunciation, not
the voice).

Reproducibility. With the same eSpeak NG version (written into the file's metadata; this
file was made with 1.51 from Debian 12) the output is identical byte for byte: the
generator is seeded, eSpeak is deterministic, and the ``.npz`` is written by
:func:`write_npz` with fixed zip timestamps. Run from the repository root::

    .venv/bin/python tools/make_speech_corpus.py            # writes the shipped file
    .venv/bin/python tools/make_speech_corpus.py --check    # compares, writes nothing

and update ``SHA256`` in ``tests/test_speech_data.py`` if the file changed on purpose.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from scipy.io import wavfile
from scipy.signal import resample_poly

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "gdlib" / "data" / "speech" / "spoken_digits.npz"

SEED = 22
RATE = 8000
LENGTH = 6400                      # 0.8 s at 8 kHz
SNR_LOW, SNR_HIGH = 10.0, 30.0     # dB
SPEEDS = (120, 200)                # words per minute (eSpeak's default is 175)
PITCHES = (20, 80)                 # 0-99 (default 50)
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp",
           "en-gb-x-gbcwmd", "en-029")
TRAIN_VOICES = ("m1", "m2", "m4", "m5", "m6", "m8", "f1", "f3", "f4", "klatt", "klatt3",
                "adam", "Andy", "Annie", "boris", "ed", "john", "max", "paul", "pedro",
                "quincy", "rob", "travis", "zac")
TEST_VOICES = ("m3", "m7", "f2", "f5", "klatt2", "belinda", "edward", "linda")
TAKES = {"train": 3, "test": 3}    # clips per (voice, digit)


def espeak_version() -> str:
    out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True,
                         check=True).stdout
    return out.split("text-to-speech:")[1].split("Data")[0].strip()


def synthesise(word: str, voice: str, speed: int, pitch: int) -> np.ndarray:
    """One word from eSpeak NG as float64 at 22,050 Hz."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "word.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch),
                        "-w", str(wav), word], check=True, capture_output=True)
        rate, x = wavfile.read(wav)
    if rate != 22050:
        raise RuntimeError(f"espeak-ng wrote {rate} Hz, expected 22050")
    return x.astype(np.float64) / 32768.0


MU = 255


def mu_law_encode(x: np.ndarray) -> np.ndarray:
    """Samples in [-1, 1] -> int8 mu-law codes in [-127, 127]."""
    y = np.sign(x) * np.log1p(MU * np.abs(x)) / np.log1p(MU)
    return np.round(127 * y).astype(np.int8)


def to_clip(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Resample to 8 kHz, trim silence, scale to peak 0.5, place in a 0.8 s frame."""
    y = resample_poly(x, 160, 441)
    loud = np.flatnonzero(np.abs(y) > 0.01 * np.abs(y).max())
    y = y[loud[0]:loud[-1] + 1]
    y = y[:LENGTH]
    y = 0.5 * y / np.abs(y).max()
    start = int(rng.integers(0, LENGTH - len(y) + 1))
    clip = np.zeros(LENGTH)
    clip[start:start + len(y)] = y
    return mu_law_encode(clip)


def make() -> dict:
    rng = np.random.default_rng(SEED)
    arrays = {}
    meta = {"espeak_ng": espeak_version(), "rate": RATE, "length": LENGTH, "seed": SEED,
            "words": list(WORDS), "accents": list(ACCENTS), "snr_db": [SNR_LOW, SNR_HIGH],
            "speeds": list(SPEEDS), "pitches": list(PITCHES), "encoding": "mu-law int8, mu=255",
            "voices": {"train": list(TRAIN_VOICES), "test": list(TEST_VOICES)}}
    for split, voices in (("train", TRAIN_VOICES), ("test", TEST_VOICES)):
        rows = []
        for v, voice in enumerate(voices):
            for digit, word in enumerate(WORDS):
                for _ in range(TAKES[split]):
                    accent = ACCENTS[int(rng.integers(len(ACCENTS)))]
                    speed = int(rng.integers(SPEEDS[0], SPEEDS[1] + 1))
                    pitch = int(rng.integers(PITCHES[0], PITCHES[1] + 1))
                    snr = float(np.round(rng.uniform(SNR_LOW, SNR_HIGH), 2))
                    noise_seed = int(rng.integers(2**31))
                    clip = to_clip(synthesise(word, f"{accent}+{voice}", speed, pitch), rng)
                    rows.append((clip, digit, v, ACCENTS.index(accent), speed, pitch, snr,
                                 noise_seed))
        cols = list(zip(*rows))
        arrays[f"{split}_audio"] = np.stack(cols[0])
        arrays[f"{split}_label"] = np.array(cols[1], dtype=np.int8)
        arrays[f"{split}_voice"] = np.array(cols[2], dtype=np.int8)
        arrays[f"{split}_accent"] = np.array(cols[3], dtype=np.int8)
        arrays[f"{split}_speed"] = np.array(cols[4], dtype=np.int16)
        arrays[f"{split}_pitch"] = np.array(cols[5], dtype=np.int8)
        arrays[f"{split}_snr_db"] = np.array(cols[6], dtype=np.float32)
        arrays[f"{split}_noise_seed"] = np.array(cols[7], dtype=np.int64)
    arrays["meta"] = np.array(json.dumps(meta, sort_keys=True))
    return arrays


def write_npz(arrays: dict) -> bytes:
    """The bytes of a compressed ``.npz`` with fixed timestamps (``np.savez_compressed``
    stamps the current time into the zip, so two runs would differ)."""
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue(), compresslevel=9)
    return raw.getvalue()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare with the shipped file instead of writing it")
    args = parser.parse_args(argv)
    data = write_npz(make())
    digest = hashlib.sha256(data).hexdigest()
    if args.check:
        same = OUT.is_file() and OUT.read_bytes() == data
        print(f"{'identical' if same else 'DIFFERENT'}: sha256 {digest}, {len(data)} bytes")
        return 0 if same else 1
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(data)
    print(f"wrote {OUT.relative_to(ROOT)}: {len(data):,} bytes, sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
