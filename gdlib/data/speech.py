"""Spoken digits: the shipped synthetic corpus, and the Free Spoken Digit Dataset.

:func:`load_spoken_digits` reads the corpus lesson 22 trains on,
``gdlib/data/speech/spoken_digits.npz`` (960 clips, 3.0 MB): the words "zero" ...
"nine" spoken by the synthesiser eSpeak NG with 32 voices, many speeds and pitches, at
8 kHz, 0.8 s per clip, stored as 8-bit mu-law codes (:func:`mu_law_decode`), written by
``tools/make_speech_corpus.py`` (its docstring and ``gdlib/data/speech/README.md`` say
how). The test split's voices are never heard in
training. Each clip carries a recipe for white noise (a signal-to-noise ratio and a
seed), added on loading.

:func:`load_fsdd` reads real recordings, the Free Spoken Digit Dataset (FSDD: Jackson et
al., 3,000 recordings of the ten digits by six speakers at 8 kHz in the release used
here), downloaded once from its GitHub release archive (:func:`gdlib.data.fetch`: SHA-256
checked, cached), unpacked safely (:func:`gdlib.data.extract`) and split by **speaker**:
the speakers in ``test_speakers`` form the test split. It returns the same
:class:`SpokenDigits` as the shipped corpus, so the lesson's code runs on it unchanged:
the way to go further. GitHub builds release archives on request and does not promise
their bytes stay the same, so, as for the Anki decks, you pass the digest of the copy
you downloaded and trust.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..optim.base import check_int, check_real
from .download import ArchiveError, extract, fetch

__all__ = [
    "SpokenDigits",
    "SPOKEN_DIGITS_PATH",
    "DIGIT_WORDS",
    "FSDD_URL",
    "load_spoken_digits",
    "spoken_digits_info",
    "mu_law_decode",
    "add_noise",
    "load_fsdd",
]

SPOKEN_DIGITS_PATH = Path(__file__).resolve().parent / "speech" / "spoken_digits.npz"
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
               "nine")

# Free Spoken Digit Dataset, release v1.0.10, as GitHub archives it.
FSDD_URL = ("https://github.com/Jakobovski/free-spoken-digit-dataset/archive/refs/tags/"
            "v1.0.10.tar.gz")
_FSDD_NAME = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)\.wav$")


class SpokenDigits(NamedTuple):
    """Clips of spoken digits, all of one length, with their labels.

    Attributes
    ----------
    audio : ndarray, shape (n, length), float32
        Samples in [-1, 1].
    label : ndarray, shape (n,), int64
        The digit spoken, 0-9.
    speaker : ndarray, shape (n,), str
        The voice (eSpeak variant) or the FSDD speaker's name.
    rate : int
        Samples per second (8000).
    """

    audio: np.ndarray
    label: np.ndarray
    speaker: np.ndarray
    rate: int


def mu_law_decode(codes, mu: int = 255) -> np.ndarray:
    r"""int8 mu-law codes :math:`c \in [-127, 127]` -> samples in [-1, 1]:
    :math:`x = \mathrm{sign}(y)\,((1 + \mu)^{|y|} - 1) / \mu` with :math:`y = c / 127`."""
    y = np.asarray(codes, dtype=np.float64) / 127.0
    return np.sign(y) * np.expm1(np.abs(y) * np.log1p(mu)) / mu


def add_noise(audio, snr_db, seeds) -> np.ndarray:
    r"""Each clip plus white Gaussian noise at its signal-to-noise ratio.

    The noise of clip :math:`i` is ``np.random.default_rng(seeds[i]).standard_normal``
    scaled to the power :math:`P_s\,10^{-\mathrm{SNR}/10}`, where :math:`P_s` is the mean
    power of the clip's non-silent samples (the word, not the padding around it).
    """
    audio = np.asarray(audio, dtype=np.float64)
    snr_db = np.broadcast_to(np.asarray(snr_db, dtype=np.float64), audio.shape[:1])
    out = audio.copy()
    for i, seed in enumerate(np.asarray(seeds)):
        voiced = audio[i][audio[i] != 0]
        power = float(np.mean(voiced ** 2)) if voiced.size else 0.0
        noise = np.random.default_rng(int(seed)).standard_normal(audio.shape[1])
        out[i] += noise * np.sqrt(power * 10.0 ** (-snr_db[i] / 10.0))
    return out


@functools.lru_cache(maxsize=1)
def _shipped() -> dict:
    with np.load(SPOKEN_DIGITS_PATH, allow_pickle=False) as f:
        return {name: f[name] for name in f.files}


def spoken_digits_info() -> dict:
    """The shipped corpus's metadata: eSpeak NG version, voices per split, accents, speed,
    pitch and SNR ranges, sampling rate, clip length."""
    return json.loads(str(_shipped()["meta"]))


def load_spoken_digits(split: str = "train", noise: bool = True,
                       snr_db: float | None = None) -> SpokenDigits:
    """The shipped spoken-digit corpus (eSpeak NG voices; see the module docstring).

    Parameters
    ----------
    split : {"train", "test"}
        "train": 720 clips by 24 voices; "test": 240 clips by 8 other voices.
    noise : bool, default True
        Add each clip's white noise (its stored SNR, 10-30 dB, and seed). False: the clean
        synthesised speech.
    snr_db : float, optional
        One signal-to-noise ratio in dB for every clip instead of the stored ones (each
        clip keeps its noise seed); e.g. 0 for noise as loud as the speech.

    Returns
    -------
    SpokenDigits
        ``audio`` (n, 6400) float32 at 8 kHz, ``label``, ``speaker`` (the voice).
    """
    if split not in ("train", "test"):
        raise ValueError(f"split={split!r}: choose 'train' or 'test'.")
    if not isinstance(noise, (bool, np.bool_)):
        raise TypeError(f"noise must be True or False, got {noise!r}.")
    data = _shipped()
    meta = spoken_digits_info()
    audio = mu_law_decode(data[f"{split}_audio"])
    if snr_db is not None:
        snr_db = check_real("snr_db", snr_db, low=-30.0, high=100.0)
    if noise:
        snr = data[f"{split}_snr_db"] if snr_db is None else snr_db
        audio = add_noise(audio, snr, data[f"{split}_noise_seed"])
    voices = np.array(meta["voices"][split])
    return SpokenDigits(audio.astype(np.float32), data[f"{split}_label"].astype(np.int64),
                        voices[data[f"{split}_voice"]], int(meta["rate"]))


def _fit_length(x: np.ndarray, length: int) -> np.ndarray:
    out = np.zeros(length, dtype=np.float32)
    x = x[:length]
    out[:len(x)] = x
    return out


def _read_wav(path: Path) -> tuple[int, np.ndarray]:
    from scipy.io import wavfile
    try:
        rate, x = wavfile.read(path)
    except ValueError as err:
        raise ArchiveError(f"{path} is not a readable WAV file ({err}).") from err
    if x.ndim > 1:
        x = x.mean(axis=1)
    if x.dtype.kind == "i":
        x = x / float(np.iinfo(x.dtype).max + 1)
    elif x.dtype.kind == "u":
        x = (x.astype(np.float64) - 128.0) / 128.0
    return int(rate), np.asarray(x, dtype=np.float32)


def load_fsdd(split: str = "train", sha256: str | None = None,
              test_speakers=("theo",), length: int = 6400, cache_dir=None,
              url: str = FSDD_URL, progress: bool | None = None) -> SpokenDigits:
    """The Free Spoken Digit Dataset: real recordings of the digits, split by speaker.

    The archive (about 10 MB) is downloaded once (:func:`gdlib.data.fetch`), unpacked
    next to it (:func:`gdlib.data.extract`, which refuses unsafe members), and its
    ``recordings/{digit}_{speaker}_{index}.wav`` files read (8 kHz mono). Each clip is
    cut or zero-padded at the end to ``length`` samples (most are under 0.8 s).

    Parameters
    ----------
    split : {"train", "test", "all"}
        "test": the recordings of ``test_speakers``; "train": everyone else's.
    sha256 : str
        The SHA-256 of the archive you downloaded and trust (required: GitHub does not
        promise that a generated release archive keeps its bytes). Download it once,
        check it, and pass ``gdlib.data.sha256sum(path)``.
    test_speakers : sequence of str, default ("theo",)
        Speakers held out for testing (v1.0.10 has george, jackson, lucas, nicolas, theo
        and yweweler); each must occur in the archive.
    length : int, default 6400
        Samples per clip (0.8 s at 8 kHz, like the shipped corpus).
    cache_dir, url, progress
        As for :func:`gdlib.data.fetch`.

    Returns
    -------
    SpokenDigits
        Sorted by speaker, digit and index.
    """
    if split not in ("train", "test", "all"):
        raise ValueError(f"split={split!r}: choose 'train', 'test' or 'all'.")
    if sha256 is None:
        raise ValueError(
            f"load_fsdd: pass sha256=... , the SHA-256 digest of the archive you trust "
            f"({url}). GitHub makes release archives on request and does not promise "
            "their bytes, so gdlib cannot pin a digest. Download it once, check it, compute "
            "its digest with gdlib.data.sha256sum(path) (or `sha256sum FILE`), and pass that.")
    if isinstance(test_speakers, str):
        test_speakers = (test_speakers,)
    test_speakers = tuple(test_speakers)
    length = check_int("length", length, minimum=1)
    archive = fetch(url, sha256, filename="free-spoken-digit-dataset.tar.gz",
                    cache_dir=cache_dir, progress=progress)
    folder = extract(archive)
    rows = []
    for path in folder.rglob("*.wav"):
        m = _FSDD_NAME.match(path.name)
        if m is None or path.parent.name != "recordings":
            continue
        rows.append((m.group(2), int(m.group(1)), int(m.group(3)), path))
    if not rows:
        raise ArchiveError(f"{archive} holds no recordings/{{digit}}_{{speaker}}_{{index}}.wav "
                           "files: is it the Free Spoken Digit Dataset? Delete it if not.")
    speakers = sorted({r[0] for r in rows})
    unknown = [s for s in test_speakers if s not in speakers]
    if unknown or not test_speakers:
        raise ValueError(f"test_speakers={test_speakers!r}: name at least one speaker of the "
                         f"archive ({', '.join(speakers)}); {unknown} not found.")
    if split != "all":
        rows = [r for r in rows if (r[0] in test_speakers) == (split == "test")]
    rows.sort(key=lambda r: r[:3])
    audio, rate = [], None
    for _, _, _, path in rows:
        r, x = _read_wav(path)
        if rate is not None and r != rate:
            raise ArchiveError(f"{path} is sampled at {r} Hz, the others at {rate} Hz.")
        rate = r
        audio.append(_fit_length(x, length))
    return SpokenDigits(np.stack(audio), np.array([r[1] for r in rows], dtype=np.int64),
                        np.array([r[0] for r in rows]), int(rate))
