"""gdlib.data.download and gdlib.data.public, offline: file:// URLs and tiny fixture archives.

The fixtures in tests/fixtures/data/ copy the layout of the real downloads (written by
make_fixtures.py there); their SHA-256 digests are pinned below.
"""

from __future__ import annotations

import io
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest

from gdlib.data import download, public
from gdlib.data.download import ChecksumError, DownloadError, extract, fetch, sha256sum

FIXTURES = Path(__file__).parent / "fixtures" / "data"
DIGESTS = {
    "aclImdb_v1.tar.gz": "5f45719ff790338da61cebb92a57aa6d8ae99158172277aca976d89940e7a078",
    "SST-2.zip": "59da398432561b814e6b37e3fd07689bffa19884893477e4ea0cc5c1353be099",
    "fra-eng.zip": "93fbc460c686588cbb6f9e7827ae934f31590099b3ca2428c958385f23e389c9",
    "tatoeba/eng/eng_sentences.tsv.bz2":
        "e734801587cf281bcc00c8e4e3b935d69108e70c712ab0d4a271414e17f6bccb",
    "tatoeba/fra/fra_sentences.tsv.bz2":
        "1060417d980012246d8fc3127a555fb8228541680fdcd8172388280dca50cc58",
    "tatoeba/eng/eng-fra_links.tsv.bz2":
        "cdf5fe41f96b3114bab69bb749190e4b8115b569beed78eaeee25dc298803ad3",
}
WRONG = "0" * 64
NO_SERVER = "http://127.0.0.1:9/SST-2.zip"  # the discard port: nothing listens there


def url_of(path: Path) -> str:
    return path.resolve().as_uri()


@pytest.fixture
def source(tmp_path):
    """A private copy of the SST-2 fixture that a test may delete."""
    src = tmp_path / "server" / "SST-2.zip"
    src.parent.mkdir()
    shutil.copy(FIXTURES / "SST-2.zip", src)
    return src


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("name", sorted(DIGESTS))
def test_fixture_digests_are_pinned(name):
    assert sha256sum(FIXTURES / name) == DIGESTS[name]


# ----------------------------------------------------------------------------
# fetch


def test_first_fetch_copies_verifies_and_caches(source, tmp_path):
    cache = tmp_path / "cache"
    path = fetch(url_of(source), DIGESTS["SST-2.zip"], cache_dir=cache)
    assert path == cache / "SST-2.zip"
    assert path.read_bytes() == source.read_bytes()
    assert leftovers(cache) == ["SST-2.zip"]  # no temporary file left behind


def test_second_fetch_uses_the_cache_without_the_source(source, tmp_path):
    cache = tmp_path / "cache"
    first = fetch(url_of(source), DIGESTS["SST-2.zip"], cache_dir=cache)
    source.unlink()
    second = fetch(url_of(source), DIGESTS["SST-2.zip"], cache_dir=cache)
    assert second == first and sha256sum(second) == DIGESTS["SST-2.zip"]
    # Even an unreachable server is not contacted when the cached copy is good.
    assert fetch(NO_SERVER, DIGESTS["SST-2.zip"], cache_dir=cache, timeout=2) == first


def test_checksum_mismatch_raises_and_leaves_no_file(source, tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(ChecksumError) as info:
        fetch(url_of(source), WRONG, cache_dir=cache)
    msg = str(info.value)
    assert url_of(source) in msg and WRONG in msg and DIGESTS["SST-2.zip"] in msg
    assert leftovers(cache) == []


def test_corrupt_cached_copy_is_downloaded_again(source, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "SST-2.zip").write_bytes(b"truncated")
    path = fetch(url_of(source), DIGESTS["SST-2.zip"], cache_dir=cache)
    assert sha256sum(path) == DIGESTS["SST-2.zip"]
    assert leftovers(cache) == ["SST-2.zip"]


def test_missing_file_says_where_to_put_a_copy(tmp_path):
    cache = tmp_path / "cache"
    url = url_of(tmp_path / "nowhere" / "SST-2.zip")
    with pytest.raises(DownloadError) as info:
        fetch(url, DIGESTS["SST-2.zip"], cache_dir=cache)
    msg = str(info.value)
    assert url in msg and str(cache / "SST-2.zip") in msg and DIGESTS["SST-2.zip"] in msg
    assert "copy it to" in msg
    assert leftovers(cache) == []


def test_no_network_error_then_a_copy_placed_by_hand_is_used(tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError) as info:
        fetch(NO_SERVER, DIGESTS["SST-2.zip"], cache_dir=cache, timeout=2)
    assert "Without internet access" in str(info.value)
    assert leftovers(cache) == []
    # Follow the advice: copy the file into the cache folder by hand.
    shutil.copy(FIXTURES / "SST-2.zip", cache / "SST-2.zip")
    assert fetch(NO_SERVER, DIGESTS["SST-2.zip"], cache_dir=cache, timeout=2) \
        == cache / "SST-2.zip"


def test_stale_cached_copy_is_named_when_the_download_fails(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "SST-2.zip").write_bytes(b"old version")
    with pytest.raises(DownloadError) as info:
        fetch(NO_SERVER, DIGESTS["SST-2.zip"], cache_dir=cache, timeout=2)
    assert sha256sum(cache / "SST-2.zip") in str(info.value)
    assert (cache / "SST-2.zip").read_bytes() == b"old version"  # not destroyed


def test_cache_folder_from_environment_and_home(source, tmp_path, monkeypatch):
    monkeypatch.setenv("GDLIB_DATA", str(tmp_path / "env"))
    assert fetch(url_of(source), DIGESTS["SST-2.zip"]).parent == tmp_path / "env"
    monkeypatch.delenv("GDLIB_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert download.data_home() == tmp_path / "home" / ".cache" / "gdlib"


def test_filename_and_progress_bar(source, tmp_path, capsys):
    path = fetch(url_of(source), DIGESTS["SST-2.zip"], filename="glue-sst2.zip",
                 cache_dir=tmp_path / "c", progress=True)
    assert path.name == "glue-sst2.zip" and path.is_file()


@pytest.mark.parametrize("bad", [None, "abc", "g" * 64, 42])
def test_fetch_requires_a_sha256(source, tmp_path, bad):
    with pytest.raises(ValueError, match="SHA-256|sha256"):
        fetch(url_of(source), bad, cache_dir=tmp_path)


def test_fetch_accepts_upper_case_digest(source, tmp_path):
    assert fetch(url_of(source), DIGESTS["SST-2.zip"].upper(), cache_dir=tmp_path).is_file()


def test_filename_must_not_contain_folders(source, tmp_path):
    with pytest.raises(ValueError, match="plain file name"):
        fetch(url_of(source), DIGESTS["SST-2.zip"], filename="../x.zip", cache_dir=tmp_path)


# ----------------------------------------------------------------------------
# extract


def test_extract_tar_gz_and_zip(tmp_path):
    shutil.copy(FIXTURES / "aclImdb_v1.tar.gz", tmp_path)
    out = extract(tmp_path / "aclImdb_v1.tar.gz")
    assert out == tmp_path / "aclImdb_v1"
    assert (out / "aclImdb/train/neg/1_2.txt").read_text() == "Dull and far too long."
    shutil.copy(FIXTURES / "fra-eng.zip", tmp_path)
    out = extract(tmp_path / "fra-eng.zip", tmp_path / "anki")
    assert (out / "fra.txt").read_text(encoding="utf-8").startswith("Go.\tVa !")
    # A finished folder is reused; force=True unpacks again.
    (out / "fra.txt").write_text("edited")
    assert (extract(tmp_path / "fra-eng.zip", out) / "fra.txt").read_text() == "edited"
    assert (extract(tmp_path / "fra-eng.zip", out, force=True) / "fra.txt").read_text() != "edited"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def _evil_tar(path: Path, name: str, link: str | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        good = tarfile.TarInfo("ok.txt")
        good.size = 2
        tf.addfile(good, io.BytesIO(b"ok"))
        info = tarfile.TarInfo(name)
        if link is None:
            info.size = 4
            tf.addfile(info, io.BytesIO(b"evil"))
        else:
            info.type, info.linkname = tarfile.SYMTYPE, link
            tf.addfile(info)
    return path


@pytest.mark.parametrize("name,link", [("../evil.txt", None), ("a/../../evil.txt", None),
                                       ("/tmp/gdlib-evil.txt", None),
                                       ("evil.txt", "../../outside")])
def test_extract_refuses_path_traversal_in_tar(tmp_path, name, link):
    archive = _evil_tar(tmp_path / "evil.tar.gz", name, link)
    with pytest.raises(ValueError, match="unsafe archive member"):
        extract(archive, tmp_path / "box" / "out")
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "box" / "evil.txt").exists()
    assert leftovers(tmp_path / "box") == []  # neither the folder nor a temporary one


def test_extract_refuses_path_traversal_in_zip(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok.txt", "ok")
        zf.writestr("../../evil.txt", "evil")
    with pytest.raises(ValueError, match="unsafe archive member"):
        extract(archive, tmp_path / "box" / "out")
    assert leftovers(tmp_path / "box") == []
    assert not (tmp_path / "evil.txt").exists()


def test_extract_rejects_other_files(tmp_path):
    (tmp_path / "notes.txt").write_text("not an archive")
    with pytest.raises(ValueError, match="neither a zip nor a tar"):
        extract(tmp_path / "notes.txt")


# ----------------------------------------------------------------------------
# Public datasets on the fixtures


def test_default_urls_and_digests_are_well_formed():
    for url in (public.IMDB_URL, public.SST2_URL):
        assert url.startswith("https://")
    for digest in (public.IMDB_SHA256, public.SST2_SHA256):
        assert len(digest) == 64 and int(digest, 16) >= 0
    assert public.IMDB_URL.endswith("/aclImdb_v1.tar.gz")
    assert public.SST2_URL.endswith("/SST-2.zip")


def test_load_imdb_parses_the_review_tree(tmp_path):
    kw = dict(cache_dir=tmp_path, url=url_of(FIXTURES / "aclImdb_v1.tar.gz"),
              sha256=DIGESTS["aclImdb_v1.tar.gz"])
    train = public.load_imdb("train", **kw)
    assert [ex.label for ex in train] == [0, 0, 1, 1, 1]  # unsup reviews are skipped
    assert train[0] == ("Dull and far too long.", 0)
    assert train[1].text == "Not good, despite the music."
    # Positive reviews in file-number order (0, 2, 10), HTML line breaks removed.
    assert [ex.text for ex in train[2:]] == ["A warm, funny film. I loved every minute.",
                                             "Quiet but moving.",
                                             "Not bad at all: the cast is great."]
    test = public.load_imdb("test", **kw)
    assert sorted(test) == sorted([("Brilliant from start to finish.", 1),
                                   ("A waste of two hours.", 0),
                                   ("Good actors, bad script.", 0)])
    shuffled = public.load_imdb("train", seed=1, **kw)
    assert sorted(shuffled) == sorted(train)
    assert public.load_imdb("train", seed=1, **kw) == shuffled
    with pytest.raises(ValueError, match="split"):
        public.load_imdb("unsup", **kw)


def test_load_imdb_default_digest_rejects_another_file(tmp_path):
    with pytest.raises(ChecksumError, match=public.IMDB_SHA256):
        public.load_imdb("train", cache_dir=tmp_path,
                         url=url_of(FIXTURES / "aclImdb_v1.tar.gz"))
    assert leftovers(tmp_path) == []


def test_load_sst2_reads_the_glue_tsvs(tmp_path):
    kw = dict(cache_dir=tmp_path, url=url_of(FIXTURES / "SST-2.zip"),
              sha256=DIGESTS["SST-2.zip"])
    train = public.load_sst2("train", **kw)
    assert [ex.label for ex in train] == [0, 0, 1, 1]
    assert train[1].text == "contains no wit , only labored gags"
    dev = public.load_sst2("dev", **kw)
    assert dev == public.load_sst2("validation", **kw)
    assert dev[0] == ("it 's a charming and often affecting journey .", 1)
    test = public.load_sst2("test", **kw)
    assert [ex.label for ex in test] == [-1, -1]
    assert test[0].text == "uneasy mishmash of styles and genres ."


def test_load_anki_pairs_needs_a_digest_and_parses_pairs(tmp_path):
    url = url_of(FIXTURES / "fra-eng.zip")
    with pytest.raises(ValueError, match="sha256"):
        public.load_anki_pairs("fra", cache_dir=tmp_path, url=url)
    pairs = public.load_anki_pairs("fra", sha256=DIGESTS["fra-eng.zip"], cache_dir=tmp_path,
                                   url=url)
    assert pairs == [("Go.", "Va !"), ("Hi.", "Salut !"), ("I'm cold.", "J'ai froid."),
                     ("The green car is fast.", "La voiture verte est rapide.")]
    low = public.load_anki_pairs("fra", sha256=DIGESTS["fra-eng.zip"], cache_dir=tmp_path,
                                 url=url, lowercase=True, max_pairs=2)
    assert low == [("go.", "va !"), ("hi.", "salut !")]
    with pytest.raises(ValueError, match="lang"):
        public.load_anki_pairs("../x", sha256=DIGESTS["fra-eng.zip"])


def test_load_tatoeba_joins_sentences_through_links(tmp_path):
    sha = {"src": DIGESTS["tatoeba/eng/eng_sentences.tsv.bz2"],
           "tgt": DIGESTS["tatoeba/fra/fra_sentences.tsv.bz2"],
           "links": DIGESTS["tatoeba/eng/eng-fra_links.tsv.bz2"]}
    base = url_of(FIXTURES / "tatoeba")
    pairs = public.load_tatoeba("eng", "fra", sha256=sha, cache_dir=tmp_path, base_url=base)
    assert pairs == [("I am cold.", "J'ai froid."), ("The cat sleeps.", "Le chat dort."),
                     ("The cat sleeps.", "Le chat est en train de dormir.")]
    with pytest.raises(ValueError, match="sha256"):
        public.load_tatoeba("eng", "fra", sha256={"src": sha["src"]}, cache_dir=tmp_path,
                            base_url=base)
