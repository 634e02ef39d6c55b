"""gdlib.data.speech: the shipped spoken-digit corpus, and the FSDD loader on a local fixture.

The FSDD fixture (tests/fixtures/data/free-spoken-digit-dataset.tar.gz, written by
make_fixtures.py there) copies the release archive's layout with tiny tone WAVs in its
file-name convention ``{digit}_{speaker}_{index}.wav``; it is fetched through a file://
URL, so no test touches the network.
"""

from __future__ import annotations

import io
import json
import shutil
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from gdlib.data import load_fsdd, load_spoken_digits, sha256sum
from gdlib.data import speech as sp
from gdlib.data.download import ArchiveError

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "gdlib" / "data" / "speech" / "spoken_digits.npz"
SHA256 = "a0541926b0610072ff90c240c6b57b143c2dd0a7829ab5708670038e34f7bc3a"
FIXTURE = ROOT / "tests" / "fixtures" / "data" / "free-spoken-digit-dataset.tar.gz"
FSDD_SHA256 = "2fec4fc65aec893db0b5f6970fbe35fff0d68fcc3a95d29f77d3310d078d76c1"


# ----------------------------------------------------------------------------
# the shipped corpus


def test_shipped_file_is_the_one_the_tool_wrote():
    assert sha256sum(SHIPPED) == SHA256
    assert SHIPPED.stat().st_size < 4_000_000              # "a few MB at most"
    with zipfile.ZipFile(SHIPPED) as zf:                   # fixed timestamps: reproducible
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_metadata_names_the_synthesiser_and_disjoint_voices():
    info = sp.spoken_digits_info()
    assert info["espeak_ng"] == "1.51" and info["rate"] == 8000 and info["length"] == 6400
    train, test = info["voices"]["train"], info["voices"]["test"]
    assert len(train) == 24 and len(test) == 8
    assert not set(train) & set(test)
    assert info["words"] == list(sp.DIGIT_WORDS)


@pytest.mark.parametrize("split,n,voices", [("train", 720, 24), ("test", 240, 8)])
def test_splits_shapes_labels_and_voices(split, n, voices):
    d = load_spoken_digits(split)
    assert d.audio.shape == (n, 6400) and d.audio.dtype == np.float32
    assert d.rate == 8000
    assert np.array_equal(np.bincount(d.label, minlength=10), np.full(10, n // 10))
    assert len(set(d.speaker)) == voices
    assert np.abs(d.audio).max() <= 1.0


def test_train_and_test_voices_are_disjoint():
    train, test = load_spoken_digits("train"), load_spoken_digits("test")
    assert not set(train.speaker) & set(test.speaker)


def test_noise_is_added_at_the_stored_snr_and_is_deterministic():
    clean = load_spoken_digits("test", noise=False)
    noisy = load_spoken_digits("test")
    again = load_spoken_digits("test")
    np.testing.assert_array_equal(noisy.audio, again.audio)
    snr = np.load(SHIPPED)["test_snr_db"]
    for i in (0, 17, 200):
        c = clean.audio[i].astype(np.float64)
        n = noisy.audio[i] - c
        measured = 10 * np.log10(np.mean(c[c != 0] ** 2) / np.mean(n ** 2))
        assert measured == pytest.approx(snr[i], abs=0.6)     # 6,400 noise samples
    loud = load_spoken_digits("test", snr_db=0.0)
    n = loud.audio[0] - clean.audio[0]
    c = clean.audio[0][clean.audio[0] != 0]
    assert 10 * np.log10(np.mean(c ** 2) / np.mean(n ** 2)) == pytest.approx(0.0, abs=0.3)


def test_clean_clips_sit_inside_their_frame_with_silence_around():
    clean = load_spoken_digits("train", noise=False)
    voiced = np.abs(clean.audio) > 0
    assert voiced.any(axis=1).all()
    assert np.abs(clean.audio).max(axis=1) == pytest.approx(0.5, abs=0.01)   # peak -6 dBFS


def test_mu_law_round_trip():
    x = np.linspace(-1, 1, 2001)
    mu = 255
    codes = np.round(127 * np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu))
    back = sp.mu_law_decode(codes)
    assert sp.mu_law_decode(0) == 0 and sp.mu_law_decode(127) == pytest.approx(1.0)
    assert np.all(np.diff(back) >= 0)
    loud = np.abs(x) > 0.1
    assert np.max(np.abs(back - x)[loud] / np.abs(x)[loud]) < 0.05   # relative error


@pytest.mark.parametrize("kwargs,exc,words", [
    ({"split": "dev"}, ValueError, "split"),
    ({"noise": "yes"}, TypeError, "noise"),
    ({"snr_db": "loud"}, TypeError, "snr_db"),
    ({"snr_db": float("nan")}, ValueError, "snr_db"),
])
def test_bad_arguments_are_named(kwargs, exc, words):
    with pytest.raises(exc, match=words):
        load_spoken_digits(**kwargs)


def test_tool_script_documents_reproducibility_and_its_settings_match_the_file():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import make_speech_corpus as tool
    finally:
        sys.path.pop(0)
    assert "byte for byte" in tool.__doc__
    info = sp.spoken_digits_info()
    assert info["voices"] == {"train": list(tool.TRAIN_VOICES), "test": list(tool.TEST_VOICES)}
    assert info["seed"] == tool.SEED and info["accents"] == list(tool.ACCENTS)
    # write_npz gives the same bytes for the same arrays (no timestamps inside)
    arrays = {"a": np.arange(5, dtype=np.int8), "meta": np.array("{}")}
    assert tool.write_npz(arrays) == tool.write_npz(dict(arrays))
    with np.load(io.BytesIO(tool.write_npz(arrays))) as f:
        assert f["a"].tolist() == [0, 1, 2, 3, 4] and json.loads(str(f["meta"])) == {}


# ----------------------------------------------------------------------------
# FSDD on the local fixture


@pytest.fixture
def fsdd(tmp_path):
    src = tmp_path / "server" / "v1.0.10.tar.gz"
    src.parent.mkdir()
    shutil.copy(FIXTURE, src)
    return {"url": src.resolve().as_uri(), "sha256": FSDD_SHA256,
            "cache_dir": tmp_path / "cache"}


def test_fsdd_fixture_digest_is_pinned():
    assert sha256sum(FIXTURE) == FSDD_SHA256


def test_fsdd_speaker_held_out_split(fsdd):
    train = load_fsdd("train", **fsdd)
    test = load_fsdd("test", **fsdd)
    assert set(train.speaker) == {"george", "jackson"} and set(test.speaker) == {"theo"}
    assert train.audio.shape == (12, 6400) and test.audio.shape == (6, 6400)
    assert train.rate == 8000 and train.audio.dtype == np.float32
    # sorted by speaker, digit, index; labels from the file names
    assert train.label.tolist() == [0, 0, 1, 1, 2, 2] * 2
    everyone = load_fsdd("all", **fsdd)
    assert len(everyone.label) == 18
    other = load_fsdd("test", test_speakers=["george", "jackson"], **fsdd)
    assert set(other.speaker) == {"george", "jackson"}


def test_fsdd_reads_the_wav_samples_and_pads_or_cuts_to_length(fsdd):
    d = load_fsdd("test", length=700, **fsdd)
    # theo's clips are 900 and 970 samples: cut to 700; the tone's pitch is 300 + 100 digit
    assert d.audio.shape == (6, 700)
    spectrum = np.abs(np.fft.rfft(d.audio, axis=1))
    peak_hz = spectrum.argmax(axis=1) * 8000 / 700
    np.testing.assert_allclose(peak_hz, 300 + 100 * d.label, atol=8000 / 700)
    assert np.abs(d.audio).max() == pytest.approx(8000 / 32768, rel=1e-3)
    long = load_fsdd("test", length=1200, **fsdd)
    assert np.all(long.audio[:, 1000:] == 0)                   # padded with zeros


def test_fsdd_uses_the_cache_without_the_source(fsdd):
    load_fsdd("train", **fsdd)
    Path(fsdd["url"][len("file://"):]).unlink()
    assert len(load_fsdd("test", **fsdd).label) == 6


def test_fsdd_requires_a_digest_and_names_bad_speakers(fsdd):
    with pytest.raises(ValueError, match="sha256"):
        load_fsdd("train", url=fsdd["url"], cache_dir=fsdd["cache_dir"])
    with pytest.raises(ValueError, match="test_speakers.*george, jackson, theo"):
        load_fsdd("train", test_speakers=("nobody",), **fsdd)
    with pytest.raises(ValueError, match="split"):
        load_fsdd("dev", **fsdd)
    with pytest.raises(ValueError, match="SHA-256"):
        load_fsdd("train", **{**fsdd, "sha256": "0" * 64})


def test_fsdd_refuses_an_archive_without_recordings(tmp_path):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tf:
        info = tarfile.TarInfo("something/else.txt")
        info.size = 2
        tf.addfile(info, io.BytesIO(b"hi"))
    src = tmp_path / "other.tar.gz"
    src.write_bytes(raw.getvalue())
    with pytest.raises(ArchiveError, match="Free Spoken Digit"):
        load_fsdd(url=src.as_uri(), sha256=sha256sum(src), cache_dir=tmp_path / "c")
