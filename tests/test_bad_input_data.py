"""gdlib.data under bad input (issue 11): downloads and archives have limits; data are checked.

Everything runs offline: a local ``http.server`` on 127.0.0.1 that answers, stalls, drips
5 bytes a second, cuts the connection or sends without end, and small archives built in
each test. Every error is checked for its type and for a message naming the parameter (or
the URL, the file, the folder).
"""

from __future__ import annotations

import bz2
import hashlib
import http.server
import io
import os
import tarfile
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gdlib.data import corpora, download, public, tabular, text
from gdlib.data.download import (
    ArchiveError,
    CacheDirError,
    ChecksumError,
    DownloadError,
    extract,
    fetch,
    sha256sum,
)

PAYLOAD = b"gdlib test payload\n" * 50
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()
STOP = threading.Event()


class _Handler(http.server.BaseHTTPRequestHandler):
    """One behaviour per path: /ok, /stall, /drip, /cut, /big, /endless (else 404)."""

    def log_message(self, *args):  # keep the test output clean
        pass

    def _headers(self, length=None):
        self.send_response(200)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def do_GET(self):  # noqa: N802 - http.server's name
        try:
            self._answer(self.path.split("?")[0])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as it should

    def _answer(self, path):
        if path == "/ok":
            self._headers(len(PAYLOAD))
            self.wfile.write(PAYLOAD)
        elif path == "/stall":                    # accepts, then never answers
            STOP.wait(30)
        elif path == "/drip":                     # 5 bytes a second, for 200 s
            self._headers(1000)
            for _ in range(200):
                if STOP.is_set():
                    return
                self.wfile.write(b"xxxxx")
                self.wfile.flush()
                time.sleep(1.0)
        elif path == "/cut":                      # promises 1000 bytes, sends 100
            self._headers(1000)
            self.wfile.write(b"x" * 100)
            self.wfile.flush()
            self.close_connection = True
        elif path == "/big":                      # announces more than the cap
            self._headers(10_000)
            self.wfile.write(b"x" * 10_000)
        elif path == "/endless":                  # no length, never ends
            self._headers()
            while not STOP.is_set():
                self.wfile.write(b"y" * 4096)
        else:
            self.send_error(404, "Not Found")


@pytest.fixture(scope="module")
def server():
    STOP.clear()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    STOP.set()
    httpd.shutdown()
    httpd.server_close()


def parts(folder: Path) -> list[str]:
    """Files left in a cache folder (a partial download would show here)."""
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ----------------------------------------------------------------------------
# fetch: its options


@pytest.mark.parametrize("kw, exc, match", [
    ({"timeout": None}, ValueError, r"timeout=None: give a finite number of seconds > 0"),
    ({"timeout": 0}, ValueError, r"timeout=0: give a finite number of seconds > 0"),
    ({"timeout": -5.0}, ValueError, r"timeout=-5\.0"),
    ({"timeout": float("inf")}, ValueError, r"timeout=inf"),
    ({"timeout": "30"}, ValueError, r"timeout='30'"),
    ({"timeout": True}, ValueError, r"timeout=True"),
    ({"deadline": None}, ValueError, r"deadline=None: give a finite number of seconds"),
    ({"deadline": 0.0}, ValueError, r"deadline=0\.0"),
    ({"deadline": float("nan")}, ValueError, r"deadline=nan"),
    ({"max_bytes": 0}, ValueError, r"max_bytes=0: give a whole number of bytes >= 1"),
    ({"max_bytes": 2.5}, ValueError, r"max_bytes=2\.5"),
    ({"max_bytes": "1e6"}, ValueError, r"max_bytes='1e6'"),
    ({"url": "gopher://example.org/f.zip"}, ValueError, r"url='gopher://.*the scheme must"),
    ({"url": "example.org/f.zip"}, ValueError, r"url='example.org/f.zip'.*scheme"),
    ({"url": None}, TypeError, r"url must be a non-empty string"),
    ({"sha256": "abc"}, ValueError, r"sha256='abc' is not a SHA-256 digest"),
    ({"sha256": None}, ValueError, r"sha256=\.\.\."),
    ({"filename": "../evil.zip"}, ValueError, r"filename='\.\./evil\.zip' must be a plain"),
    ({"cache_dir": 3}, TypeError, r"cache_dir must be a folder path"),
])
def test_fetch_options_are_checked(tmp_path, kw, exc, match):
    args = {"url": "http://127.0.0.1:9/f.zip", "sha256": PAYLOAD_SHA,
            "cache_dir": tmp_path / "cache"}
    args.update(kw)
    with pytest.raises(exc, match=match):
        fetch(args.pop("url"), args.pop("sha256"), **args)


# ----------------------------------------------------------------------------
# fetch against a local server: deadline, byte cap, failures, clean-up


def test_fetch_from_the_local_server_works(server, tmp_path):
    path = fetch(f"{server}/ok", PAYLOAD_SHA, cache_dir=tmp_path, progress=False)
    assert path.read_bytes() == PAYLOAD and parts(tmp_path) == ["ok"]


@pytest.mark.parametrize("path", ["stall", "drip"])
def test_a_stalling_or_dripping_server_cannot_hang_fetch(server, tmp_path, path):
    url = f"{server}/{path}"
    start = time.monotonic()
    with pytest.raises(DownloadError, match=rf"Could not download {url}: the download took "
                                            r"longer than deadline=1\.5 s"):
        fetch(url, PAYLOAD_SHA, cache_dir=tmp_path, deadline=1.5, progress=False)
    assert time.monotonic() - start < 1.5 + 1.0
    assert parts(tmp_path) == []              # the partial file is gone


@settings(max_examples=4, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(deadline=st.floats(0.2, 0.6), path=st.sampled_from(["stall", "drip"]))
def test_fetch_returns_within_its_deadline(server, tmp_path, deadline, path):
    cache = tmp_path / f"{path}-{deadline}"
    start = time.monotonic()
    with pytest.raises(DownloadError, match=r"longer than deadline="):
        fetch(f"{server}/{path}", PAYLOAD_SHA, cache_dir=cache, deadline=deadline,
              progress=False)
    assert time.monotonic() - start < deadline + 0.75
    assert parts(cache) == []


def test_the_byte_cap_refuses_an_announced_size(server, tmp_path):
    with pytest.raises(DownloadError, match=r"/big: the server sends more than max_bytes=1000 "
                                            r"bytes.*announces 10000"):
        fetch(f"{server}/big", PAYLOAD_SHA, cache_dir=tmp_path, max_bytes=1000, progress=False)
    assert parts(tmp_path) == []


def test_the_byte_cap_stops_an_endless_stream(server, tmp_path):
    start = time.monotonic()
    with pytest.raises(DownloadError, match=r"/endless: the server sends more than "
                                            r"max_bytes=100000"):
        fetch(f"{server}/endless", PAYLOAD_SHA, cache_dir=tmp_path, max_bytes=100_000,
              deadline=20, progress=False)
    assert time.monotonic() - start < 10
    assert parts(tmp_path) == []


def test_a_cut_connection_is_a_download_error_and_leaves_nothing(server, tmp_path):
    with pytest.raises(DownloadError, match=rf"Could not download {server}/cut: .*100 of 1000"):
        fetch(f"{server}/cut", PAYLOAD_SHA, cache_dir=tmp_path, progress=False)
    assert parts(tmp_path) == []


def test_an_http_error_names_the_url(server, tmp_path):
    with pytest.raises(DownloadError, match=rf"Could not download {server}/missing: HTTP 404"):
        fetch(f"{server}/missing", PAYLOAD_SHA, cache_dir=tmp_path, progress=False)


def test_a_bad_port_is_a_download_error_naming_the_url(tmp_path):
    with pytest.raises(DownloadError, match=r"Could not download http://127\.0\.0\.1:port/f"):
        fetch("http://127.0.0.1:port/f", PAYLOAD_SHA, cache_dir=tmp_path, progress=False)


def test_an_interrupted_download_removes_its_partial_file(tmp_path, monkeypatch):
    def interrupted(job):
        job.out.write(b"half of it")
        job.out.flush()
        assert any(name.endswith(".part") for name in parts(tmp_path))
        raise KeyboardInterrupt

    monkeypatch.setattr(download, "_copy_stream", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fetch("http://127.0.0.1:9/f.zip", PAYLOAD_SHA, cache_dir=tmp_path, progress=False)
    assert parts(tmp_path) == []


def test_checksum_mismatch_over_http_leaves_nothing(server, tmp_path):
    with pytest.raises(ChecksumError, match=rf"SHA-256 mismatch for {server}/ok"):
        fetch(f"{server}/ok", "0" * 64, cache_dir=tmp_path, progress=False)
    assert parts(tmp_path) == []


# ----------------------------------------------------------------------------
# The cache folder


def test_empty_cache_dir_means_unset(server, tmp_path, monkeypatch):
    monkeypatch.setenv("GDLIB_DATA", str(tmp_path / "env"))
    monkeypatch.chdir(tmp_path)
    path = fetch(f"{server}/ok", PAYLOAD_SHA, cache_dir="", progress=False)
    assert path == tmp_path / "env" / "ok"
    assert download.data_home("  ") == tmp_path / "env"
    monkeypatch.setenv("GDLIB_DATA", "")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert download.data_home("") == tmp_path / "home" / ".cache" / "gdlib"


def test_a_cache_dir_that_cannot_be_created_is_named(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    folder = blocker / "cache"
    with pytest.raises(CacheDirError, match=rf"cannot write to the cache folder {folder} .*"
                                            r"Set the environment variable GDLIB_DATA"):
        fetch("http://127.0.0.1:9/f.zip", PAYLOAD_SHA, cache_dir=folder)


def test_a_cache_dir_that_cannot_be_written_is_named(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(download.tempfile, "mkstemp", refuse)
    with pytest.raises(CacheDirError, match=rf"cannot write to the cache folder {tmp_path} "
                                            r"\(PermissionError.*GDLIB_DATA"):
        fetch("http://127.0.0.1:9/f.zip", PAYLOAD_SHA, cache_dir=tmp_path)


# ----------------------------------------------------------------------------
# Archives: limits, damage


def make_tar(path: Path, members: dict) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def make_zip(path: Path, members: dict) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


BOMB = b"\0" * (17 << 20)   # 17 MiB of zeros: about 17 kB compressed, a ratio near 1000


@pytest.mark.parametrize("make", [make_tar, make_zip])
@pytest.mark.parametrize("limits, match", [
    ({"max_member_bytes": 100}, r"member 'd/big.txt' unpacks to 1000 bytes, more than "
                                r"max_member_bytes=100"),
    ({"max_bytes": 1500}, r"its members unpack to more than max_bytes=1500 bytes in all"),
])
def test_extract_refuses_archives_over_the_size_limits(tmp_path, make, limits, match):
    suffix = ".tar.gz" if make is make_tar else ".zip"
    archive = make(tmp_path / f"a{suffix}", {"d/big.txt": b"a" * 1000, "d/two.txt": b"b" * 900})
    with pytest.raises(ArchiveError, match=match):
        extract(archive, **limits)
    assert sorted(p.name for p in tmp_path.iterdir()) == [archive.name]   # nothing unpacked


@pytest.mark.parametrize("make", [make_tar, make_zip])
def test_extract_refuses_a_decompression_bomb(tmp_path, make):
    suffix = ".tar.gz" if make is make_tar else ".zip"
    archive = make(tmp_path / f"bomb{suffix}", {"zeros.bin": BOMB})
    with pytest.raises(ArchiveError, match=r"bomb.* is refused: .*max_ratio=200"):
        extract(archive)
    assert sorted(p.name for p in tmp_path.iterdir()) == [archive.name]
    if make is make_zip:      # a larger limit lets a trusted archive through
        assert extract(archive, max_ratio=5000).joinpath("zeros.bin").stat().st_size == len(BOMB)


@pytest.mark.parametrize("kw, exc, match", [
    ({"max_bytes": 0}, ValueError, r"max_bytes=0: give a whole number of bytes >= 1"),
    ({"max_member_bytes": 1.5}, ValueError, r"max_member_bytes=1\.5"),
    ({"max_ratio": 0.5}, ValueError, r"max_ratio=0\.5: give a finite number >= 1"),
    ({"max_ratio": float("nan")}, ValueError, r"max_ratio=nan"),
    ({"force": "yes"}, TypeError, r"force must be True or False"),
])
def test_extract_options_are_checked(tmp_path, kw, exc, match):
    archive = make_zip(tmp_path / "a.zip", {"a.txt": b"a"})
    with pytest.raises(exc, match=match):
        extract(archive, **kw)


def test_extract_of_a_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"archive='.*nothing\.zip' is not a file"):
        extract(tmp_path / "nothing.zip")


@pytest.mark.parametrize("name, data", [
    ("broken.tar.gz", b"\x1f\x8b\x08\x00garbage that is not gzip at all"),
    ("broken.zip", b"PK\x03\x04 truncated zip"),
    ("broken.tar.bz2", b"BZh91AY&SY not bzip2"),
])
def test_a_damaged_archive_is_named_with_the_advice_to_delete_it(tmp_path, name, data):
    archive = tmp_path / name
    archive.write_bytes(data)
    with pytest.raises(ArchiveError, match=rf"{name} is damaged and cannot be read .*delete "
                                           rf".*{name}, download it again"):
        extract(archive)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_a_truncated_tar_gz_is_named_too(tmp_path):
    good = make_tar(tmp_path / "full.tar.gz", {"a.txt": os.urandom(50_000)})
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(good.read_bytes()[:20_000])
    with pytest.raises(ArchiveError, match=r"cut\.tar\.gz is damaged .*delete"):
        extract(cut)


# ----------------------------------------------------------------------------
# Loaders: nothing cached before the whole archive passed; damage and bombs named


def serve_file(path: Path) -> tuple[str, str]:
    return path.resolve().as_uri(), sha256sum(path)


def imdb_archive(path: Path, splits=("train", "test")) -> Path:
    members = {}
    for split in splits:
        members[f"aclImdb/{split}/pos/0_9.txt"] = b"A great film."
        members[f"aclImdb/{split}/neg/1_2.txt"] = b"A dull film."
    return make_tar(path, members)


def test_load_imdb_without_a_test_split_fails_every_time_and_caches_nothing(tmp_path):
    url, digest = serve_file(imdb_archive(tmp_path / "src.tar.gz", splits=("train",)))
    cache = tmp_path / "cache"
    for _ in range(2):      # before the fix, the second call succeeded from a half cache
        with pytest.raises(ArchiveError, match=r"holds no aclImdb/test/pos or neg reviews.*"
                                               r"Nothing was cached"):
            public.load_imdb("train", cache_dir=cache, url=url, sha256=digest)
    assert parts(cache) == ["aclImdb_v1.tar.gz"]


def test_load_imdb_with_a_half_cache_reparses_the_archive(tmp_path):
    url, digest = serve_file(imdb_archive(tmp_path / "src.tar.gz"))
    cache = tmp_path / "cache"
    first = public.load_imdb("test", cache_dir=cache, url=url, sha256=digest)
    (cache / f"aclImdb_v1.{digest[:12]}.train.jsonl").unlink()    # an older half cache
    assert public.load_imdb("test", cache_dir=cache, url=url, sha256=digest) == first
    assert len(public.load_imdb("train", cache_dir=cache, url=url, sha256=digest)) == 2


def test_load_imdb_refuses_a_member_over_the_limit_and_caches_nothing(tmp_path, monkeypatch):
    url, digest = serve_file(imdb_archive(tmp_path / "src.tar.gz"))
    monkeypatch.setattr(download, "MAX_MEMBER_BYTES", 5)
    cache = tmp_path / "cache"
    with pytest.raises(ArchiveError, match=r"unpacks to 13 bytes, more than max_member_bytes=5"):
        public.load_imdb("train", cache_dir=cache, url=url, sha256=digest)
    assert parts(cache) == ["aclImdb_v1.tar.gz"]


def test_load_imdb_names_a_damaged_archive_whose_digest_matches(tmp_path):
    src = tmp_path / "src.tar.gz"
    src.write_bytes(b"\x1f\x8b\x08\x00 this is not the archive")
    url, digest = serve_file(src)
    cache = tmp_path / "cache"
    cached = cache / "aclImdb_v1.tar.gz"
    with pytest.raises(ArchiveError, match=rf"{cached} is damaged .*SHA-256 matched the digest "
                                           rf"you trust.*delete {cached}"):
        public.load_imdb("train", cache_dir=cache, url=url, sha256=digest)
    assert parts(cache) == ["aclImdb_v1.tar.gz"]


def test_load_sst2_names_a_damaged_zip(tmp_path):
    src = tmp_path / "SST-2.zip"
    src.write_bytes(b"PK\x03\x04 not really a zip")
    url, digest = serve_file(src)
    with pytest.raises(ArchiveError, match=r"SST-2\.zip is damaged .*delete"):
        public.load_sst2("train", cache_dir=tmp_path / "cache", url=url, sha256=digest)


def test_load_anki_pairs_refuses_a_zip_bomb(tmp_path):
    src = make_zip(tmp_path / "fra-eng.zip", {"fra.txt": BOMB})
    url, digest = serve_file(src)
    with pytest.raises(ArchiveError, match=r"member 'fra\.txt' unpacks to \d+ times its "
                                           r"compressed size, more than max_ratio=200"):
        public.load_anki_pairs("fra", sha256=digest, cache_dir=tmp_path / "cache", url=url)


def test_load_anki_pairs_names_a_missing_member(tmp_path):
    src = make_zip(tmp_path / "fra-eng.zip", {"deu.txt": b"Hi.\tHallo.\n"})
    url, digest = serve_file(src)
    with pytest.raises(ArchiveError, match=r"has no member 'fra\.txt'"):
        public.load_anki_pairs("fra", sha256=digest, cache_dir=tmp_path / "cache", url=url)


def tatoeba_tree(root: Path, links: bytes) -> dict:
    files = {"src": ("eng/eng_sentences.tsv.bz2", bz2.compress(b"1\teng\tHi.\n")),
             "tgt": ("fra/fra_sentences.tsv.bz2", bz2.compress(b"2\tfra\tSalut.\n")),
             "links": ("eng/eng-fra_links.tsv.bz2", links)}
    digests = {}
    for key, (rel, data) in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
        digests[key] = hashlib.sha256(data).hexdigest()
    return digests


def test_load_tatoeba_names_a_damaged_bz2_file(tmp_path):
    digests = tatoeba_tree(tmp_path / "srv", b"BZh91AY&SY damaged")
    with pytest.raises(ArchiveError, match=r"eng-fra_links\.tsv\.bz2 is damaged .*delete"):
        public.load_tatoeba(sha256=digests, cache_dir=tmp_path / "cache",
                            base_url=(tmp_path / "srv").as_uri())


def test_load_tatoeba_refuses_a_bz2_bomb(tmp_path, monkeypatch):
    monkeypatch.setattr(download, "MAX_MEMBER_BYTES", 1000)
    digests = tatoeba_tree(tmp_path / "srv", bz2.compress(b"1\t2\n" * 1000))
    with pytest.raises(ArchiveError, match=r"member 'eng-fra_links\.tsv\.bz2' unpacks to \d+ "
                                           r"bytes, more than max_member_bytes=1000"):
        public.load_tatoeba(sha256=digests, cache_dir=tmp_path / "cache",
                            base_url=(tmp_path / "srv").as_uri())


def test_loaders_still_read_good_archives(tmp_path):
    url, digest = serve_file(imdb_archive(tmp_path / "src.tar.gz"))
    got = public.load_imdb("train", cache_dir=tmp_path / "cache", url=url, sha256=digest)
    assert sorted(got) == [("A dull film.", 0), ("A great film.", 1)]
    digests = tatoeba_tree(tmp_path / "srv", bz2.compress(b"1\t2\n"))
    assert public.load_tatoeba(sha256=digests, cache_dir=tmp_path / "c2",
                               base_url=(tmp_path / "srv").as_uri()) == [("Hi.", "Salut.")]


# ----------------------------------------------------------------------------
# Tabular data: scaler, split, loaders


XS = np.arange(12, dtype=float).reshape(6, 2)


def nan_at(a, i=(1, 1)):
    a = np.array(a, dtype=float)
    a[i] = np.nan
    return a


@pytest.mark.parametrize("call, exc, match", [
    (lambda s: s.fit(nan_at(XS)), ValueError,
     r"StandardScaler\.fit: X contains NaN or infinity \(1 entries\)"),
    (lambda s: s.fit(np.where(XS > 10, np.inf, XS)), ValueError,
     r"StandardScaler\.fit: X contains NaN or infinity"),
    (lambda s: s.fit(XS.astype(str)), TypeError, r"StandardScaler\.fit: X must hold real"),
    (lambda s: s.fit(XS.astype(complex)), TypeError, r"StandardScaler\.fit: X must hold real"),
    (lambda s: s.fit(None), TypeError, r"StandardScaler\.fit: X must be an array of numbers"),
    (lambda s: s.fit([[1.0, 2.0], [3.0]]), ValueError, r"StandardScaler\.fit: X is not a "
                                                       r"rectangular array"),
    (lambda s: s.fit(XS).transform(nan_at(XS)), ValueError,
     r"StandardScaler\.transform: X contains NaN or infinity"),
    (lambda s: s.fit(XS).inverse_transform(nan_at(XS)), ValueError,
     r"StandardScaler\.inverse_transform: Z contains NaN or infinity"),
    (lambda s: s.fit(XS).transform(np.zeros((2, 3))), ValueError,
     r"X has trailing shape \(3,\) but the scaler was fitted on"),
    (lambda s: s.transform(XS), RuntimeError, r"StandardScaler is not fitted yet"),
])
def test_standard_scaler_refuses_bad_data(call, exc, match):
    with pytest.raises(exc, match=match):
        call(tabular.StandardScaler())


@pytest.mark.parametrize("kw, match", [
    ({"with_mean": "False"}, r"with_mean must be True or False, got 'False'"),
    ({"with_std": 0}, r"with_std must be True or False, got 0"),
])
def test_standard_scaler_flags_are_real_bools(kw, match):
    with pytest.raises(TypeError, match=match):
        tabular.StandardScaler(**kw)


@pytest.mark.parametrize("kw, exc, match", [
    ({"shuffle": "False"}, TypeError, r"shuffle must be True or False, got 'False'"),
    ({"test_size": "0.2"}, TypeError, r"test_size must be a fraction in \(0, 1\) or a number"),
    ({"test_size": float("nan")}, ValueError, r"test_size=nan"),
    ({"test_size": 2.9}, ValueError, r"test_size=2\.9: give a fraction strictly between"),
    ({"test_size": 6}, ValueError, r"test_size=6 leaves 6 test rows out of 6"),
    ({"test_size": True}, TypeError, r"test_size must be a fraction .* not a bool"),
    ({"seed": 1.5}, TypeError, r"seed must be a whole number >= 0"),
    ({"seed": -3}, TypeError, r"seed must be a whole number >= 0"),
    ({"stratify": [0, 1, 0]}, ValueError, r"stratify must hold one label per row \(6\), got 3"),
    ({"stratify": [0.0, np.nan, 1.0, 0.0, 1.0, 0.0]}, ValueError,
     r"stratify contains NaN or infinity"),
    ({"stratify": [0, 1, 0, 1, 0, 1], "shuffle": False}, ValueError,
     r"stratify needs shuffle=True"),
])
def test_train_test_split_options_are_checked(kw, exc, match):
    with pytest.raises(exc, match=match):
        tabular.train_test_split(XS, np.arange(6), **kw)


@pytest.mark.parametrize("arrays, exc, match", [
    ((XS, 3.0), TypeError, r"arrays\[1\] must be an array or a list with one entry per row"),
    ((XS, "abcdef"), TypeError, r"arrays\[1\] must be an array or a list"),
    ((XS, np.arange(5)), ValueError, r"array 1 has 5 rows but array 0 has 6"),
    ((), ValueError, r"train_test_split needs at least one array"),
])
def test_train_test_split_arrays_are_checked(arrays, exc, match):
    with pytest.raises(exc, match=match):
        tabular.train_test_split(*arrays)


@pytest.mark.parametrize("loader, kw, exc, match", [
    (tabular.load_diabetes, {"dtype": "int32"}, ValueError,
     r"dtype='int32' is not a floating dtype: features and targets would be truncated"),
    (tabular.load_diabetes, {"dtype": "floaty"}, TypeError, r"dtype='floaty' is not a NumPy"),
    (tabular.load_diabetes, {"standardize": "yes"}, TypeError,
     r"standardize must be True or False"),
    (tabular.load_breast_cancer, {"stratify": 1}, TypeError, r"stratify must be True or False"),
    (tabular.load_breast_cancer, {"device": "gpu"}, TypeError, r"device must be True or False"),
    (tabular.load_digits, {"images": "no"}, TypeError, r"images must be True or False"),
    (tabular.load_digits, {"dtype": bool}, ValueError, r"is not a floating dtype"),
])
def test_tabular_loaders_check_their_options(loader, kw, exc, match):
    with pytest.raises(exc, match=match):
        loader(**kw)


@settings(max_examples=25, deadline=None)
@given(i=st.integers(0, 5), j=st.integers(0, 1),
       bad=st.sampled_from([np.nan, np.inf, -np.inf]))
def test_scaler_never_learns_from_a_non_finite_entry(i, j, bad):
    X = XS.copy()
    X[i, j] = bad
    scaler = tabular.StandardScaler()
    with pytest.raises(ValueError, match=r"^StandardScaler\.fit: X contains NaN or infinity"):
        scaler.fit(X)
    assert not hasattr(scaler, "mean_")


# ----------------------------------------------------------------------------
# Text and the shipped corpora: whole numbers stay whole, flags are real bools


@pytest.mark.parametrize("call, exc, match", [
    (lambda: text.pad_batch([[1, 2.7]]), TypeError,
     r"pad_batch: seqs must hold integer ids, got float64"),
    (lambda: text.pad_batch([[1, 2]], max_len=2.9), TypeError,
     r"max_len must be a whole number \(an int\), got 2\.9"),
    (lambda: text.pad_batch([[1, 2]], pad_id=0.5), TypeError, r"pad_id must be a whole number"),
    (lambda: text.pad_batch([[1, 2]], bos_id=-2), ValueError, r"bos_id must be >= 0"),
    (lambda: text.pad_batch([[1, 2]], device="yes"), TypeError, r"device must be True or False"),
    (lambda: text.pad_batch(["a b"]), TypeError, r"expected sequences of integer ids, got a str"),
    (lambda: text.bag_of_words([[1, 2.5]], 5), TypeError,
     r"bag_of_words: seqs must hold integer ids"),
    (lambda: text.bag_of_words([[1, 2]], 5.5), TypeError, r"vocab_size must be a whole number"),
    (lambda: text.bag_of_words([[1, 7]], 5), ValueError, r"id 7 is outside 0\.\.4: vocab_size"),
    (lambda: text.bag_of_words([[1, 2]], 5, binary="no"), TypeError,
     r"binary must be True or False"),
    (lambda: text.batches(10, 2.5), TypeError, r"batch_size must be a whole number.*2\.5"),
    (lambda: text.batches(10, 0), ValueError, r"batch_size must be >= 1; got 0"),
    (lambda: text.batches(10.0, 2), TypeError, r"n must be a whole number"),
    (lambda: text.batches(10, 2, shuffle="False"), TypeError, r"shuffle must be True or False"),
    (lambda: text.batches(10, 2, drop_last=1), TypeError, r"drop_last must be True or False"),
    (lambda: text.bucket_batches([3, 4.5], 2), TypeError,
     r"lengths must be a 1-D sequence of whole numbers"),
    (lambda: text.bucket_batches([3, -1], 2), ValueError, r"lengths must be >= 0; got -1"),
    (lambda: text.bucket_batches([3, 4], True), TypeError, r"batch_size must be a whole number"),
    (lambda: text.Vocab.build([["a"]], min_freq=2.9), TypeError,
     r"min_freq must be a whole number"),
    (lambda: text.Vocab.build([["a"]], max_size=10.5), TypeError,
     r"max_size must be a whole number"),
    (lambda: text.Vocab.build([["a"]], max_size=3), ValueError,
     r"max_size=3 is smaller than the 4 special tokens"),
    (lambda: text.Vocab.build("a b c"), TypeError, r"Vocab\.build expects a list of token lists"),
    (lambda: text.Vocab.build([["a"]]).encode([1, 2]), TypeError,
     r"encode: tokens must be str, got 1 \(int\)"),
    (lambda: text.Vocab.build([["a"]]).decode([4, 1.7]), TypeError,
     r"decode: ids must be whole numbers, got 1\.7"),
    (lambda: text.bag_of_words([[1, 2]], 5, ignore=("a",)), TypeError,
     r"ignore must be a tuple of integer ids"),
    (lambda: corpora.generate_sentiment(2.9), ValueError, r"n must be a non-negative int"),
    (lambda: corpora.generate_sentiment(3, seed=1.5), TypeError, r"seed must be an int, got 1\.5"),
    (lambda: corpora.generate_translation(3, seed="0"), TypeError, r"seed must be an int"),
    (lambda: corpora.load_sentiment(["train"]), ValueError, r"split must be 'train' or 'test'"),
    (lambda: corpora.load_translation("dev"), ValueError, r"split must be 'train' or 'test'"),
])
def test_text_and_corpora_refuse_bad_arguments(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_text_still_takes_numpy_integers():
    ids, mask = text.pad_batch([np.array([3, 4], dtype=np.int32), [5]], max_len=np.int64(3))
    assert ids.tolist() == [[3, 4, 0], [5, 0, 0]] and mask.sum() == 3
    assert len(corpora.generate_sentiment(np.int64(3), seed=np.int32(1))) == 3


def test_fetch_progress_must_be_a_bool_or_none(tmp_path):
    with pytest.raises(TypeError, match=r"progress must be True, False or None, got 'no'"):
        fetch("http://127.0.0.1:9/f.zip", PAYLOAD_SHA, cache_dir=tmp_path, progress="no")


@pytest.mark.parametrize("kw, exc, match", [
    ({"seed": 1.5}, TypeError, r"seed must be a whole number >= 0 or None, got 1\.5"),
    ({"lowercase": "yes"}, TypeError, r"lowercase must be True or False"),
    ({"max_pairs": 2.9}, ValueError, r"max_pairs must be a whole number >= 1 or None"),
    ({"max_pairs": 0}, ValueError, r"max_pairs must be a whole number >= 1"),
])
def test_pair_loaders_check_their_options(tmp_path, kw, exc, match):
    src = make_zip(tmp_path / "fra-eng.zip", {"fra.txt": b"Hi.\tSalut.\tCC-BY\n"})
    url, digest = serve_file(src)
    with pytest.raises(exc, match=match):
        public.load_anki_pairs("fra", sha256=digest, cache_dir=tmp_path / "cache", url=url, **kw)
