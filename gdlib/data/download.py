"""Download a file once, check its SHA-256, keep it in a cache; unpack archives safely.

The course itself never downloads anything (its data ship with scikit-learn or with
gdlib). These helpers serve the loaders of real public datasets in
:mod:`gdlib.data.public`, the way to go further.

The cache folder is ``$GDLIB_DATA`` when that variable is set, else ``~/.cache/gdlib``.
A file is trusted only when its SHA-256 digest equals the expected one; the digest is
checked after every download and every time a cached copy is reused. On a machine with no
internet access, download the file elsewhere and copy it into the cache folder under the
name :func:`fetch` prints: it is then used without the network.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath

__all__ = [
    "DownloadError",
    "ChecksumError",
    "data_home",
    "sha256sum",
    "fetch",
    "extract",
]

_CHUNK = 1 << 20
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
USER_AGENT = "gdlib-course-data/0.1 (Python urllib)"


class DownloadError(OSError):
    """The file could not be downloaded (no network, missing file, HTTP error)."""


class ChecksumError(ValueError):
    """The downloaded (or cached) file does not have the expected SHA-256 digest."""


def data_home(cache_dir=None) -> Path:
    """The cache folder: ``cache_dir`` if given, else ``$GDLIB_DATA``, else ``~/.cache/gdlib``.

    The folder is created if needed.
    """
    if cache_dir is None:
        env = os.environ.get("GDLIB_DATA", "").strip()
        cache_dir = env if env else Path.home() / ".cache" / "gdlib"
    path = Path(cache_dir).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def sha256sum(path) -> str:
    """The SHA-256 digest of a file, as 64 lower-case hex digits (read in 1 MiB chunks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _check_sha256(sha256) -> str:
    if sha256 is None:
        raise ValueError("fetch needs the SHA-256 digest of the file you trust (sha256=...). "
                         "If you have a copy you trust, compute it with "
                         "gdlib.data.sha256sum(path) or `sha256sum FILE`.")
    digest = str(sha256).strip().lower()
    if not _HEX64.match(digest):
        raise ValueError(f"sha256={sha256!r} is not a SHA-256 digest (64 hex digits)")
    return digest


def _filename_from_url(url: str) -> str:
    name = PurePosixPath(urllib.parse.unquote(urllib.parse.urlsplit(url).path)).name
    if not name:
        raise ValueError(f"cannot guess a file name from the URL {url!r}; pass filename=...")
    return name


def _show_progress(progress) -> bool:
    if progress is not None:
        return bool(progress)
    from ..train import interactive

    return interactive()


def fetch(url: str, sha256: str, filename: str | None = None, cache_dir=None,
          progress: bool | None = None, timeout: float = 30.0) -> Path:
    """Download ``url`` once into the cache, verify its SHA-256 and return the local path.

    1. If ``cache_dir/filename`` exists and its digest equals ``sha256``, it is returned
       at once, without the network.
    2. Otherwise the file is streamed (``urllib``, ``timeout`` seconds per blocking
       operation) into a temporary file in the cache folder while its digest is computed;
       a progress bar (tqdm) is shown only when someone is watching.
    3. On a digest mismatch the temporary file is deleted and :class:`ChecksumError` is
       raised, naming the URL and both digests. On success the file is moved into place
       atomically (``os.replace``), so a half-written file never looks finished.

    ``file://`` URLs work too (a local mirror; the tests use them).

    Parameters
    ----------
    url : str
        Where to download from (``https://``, ``http://``, ``ftp://`` or ``file://``).
    sha256 : str
        The expected SHA-256 digest, 64 hex digits. Required: a file is never trusted
        without one.
    filename : str, optional
        The name in the cache; by default the last part of the URL's path.
    cache_dir : str or Path, optional
        The cache folder (see :func:`data_home`).
    progress : bool, optional
        Force the progress bar on or off; by default on only in a terminal or a notebook.
    timeout : float, default 30
        Seconds before a stalled connection is given up.

    Raises
    ------
    ChecksumError
        The downloaded file does not have the expected digest.
    DownloadError
        The download failed; the message says where to put a copy by hand.
    """
    digest = _check_sha256(sha256)
    name = filename or _filename_from_url(url)
    if Path(name).name != name or name in (".", ".."):
        raise ValueError(f"filename={name!r} must be a plain file name, without folders")
    folder = data_home(cache_dir)
    dest = folder / name

    stale = None
    if dest.is_file():
        got = sha256sum(dest)
        if got == digest:
            return dest
        stale = got

    tmp = None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
        tmp = Path(tmp_name)
        with os.fdopen(fd, "wb") as out:
            got = _download(url, out, timeout, _show_progress(progress), name)
        if got != digest:
            raise ChecksumError(
                f"SHA-256 mismatch for {url}: expected {digest}, got {got}. The file was "
                "deleted. The download may be corrupted or the file may have changed on the "
                "server; check the source and pass the digest of the file you trust.")
        os.replace(tmp, dest)
        tmp = None
        return dest
    except DownloadError as err:
        note = (f" A file {dest} is already there but its SHA-256 is {stale}, not {digest}."
                if stale else "")
        raise DownloadError(
            f"Could not download {url}: {err}.{note} Without internet access, download the "
            f"file on another machine, check that its SHA-256 is {digest}, and copy it to "
            f"{dest} (set GDLIB_DATA or cache_dir= to use another folder); gdlib then uses it "
            "without the network.") from err
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def _download(url: str, out, timeout: float, show: bool, desc: str) -> str:
    """Stream ``url`` into the open binary file ``out``; return the SHA-256 of the bytes."""
    h = hashlib.sha256()
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            total = response.headers.get("Content-Length") if response.headers else None
            bar = None
            if show:
                from tqdm.auto import tqdm

                bar = tqdm(total=int(total) if total and total.isdigit() else None,
                           unit="B", unit_scale=True, unit_divisor=1024, desc=desc,
                           leave=False)
            try:
                while True:
                    chunk = response.read(_CHUNK)
                    if not chunk:
                        break
                    h.update(chunk)
                    out.write(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
            finally:
                if bar is not None:
                    bar.close()
    except urllib.error.HTTPError as err:
        raise DownloadError(f"HTTP {err.code} {err.reason}") from err
    except urllib.error.URLError as err:
        raise DownloadError(str(err.reason)) from err
    except (TimeoutError, OSError) as err:  # socket timeouts, resets, file:// errors
        raise DownloadError(f"{type(err).__name__}: {err}") from err
    return h.hexdigest()


# ----------------------------------------------------------------------------
# Archives


def _inside(root: Path, member: str) -> Path:
    """The path ``member`` would be extracted to, refusing anything outside ``root``."""
    if member.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", member):
        raise ValueError(f"unsafe archive member {member!r}: absolute path")
    target = (root / member).resolve()
    if target != root and root not in target.parents:
        raise ValueError(f"unsafe archive member {member!r}: it would be written outside "
                         f"{root}")
    return target


def _archive_kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".zip"):
        return "zip"
    if name.endswith((".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar")):
        return "tar"
    if zipfile.is_zipfile(path):
        return "zip"
    if tarfile.is_tarfile(path):
        return "tar"
    raise ValueError(f"{path} is neither a zip nor a tar archive")


def extract(archive, dest=None, force: bool = False) -> Path:
    """Unpack a ``.zip`` or ``.tar(.gz|.bz2|.xz)`` archive safely; return the folder.

    Every member is checked before anything is written: absolute paths, ``..`` that
    climbs out of the folder, symbolic or hard links and device files are refused
    (``ValueError``), so a hostile archive cannot write elsewhere (the "path traversal"
    attack). Unpacking goes into a temporary folder renamed into place at the end, so an
    interrupted run leaves no half-unpacked folder behind; a finished folder is reused
    unless ``force``.

    Parameters
    ----------
    archive : str or Path
    dest : str or Path, optional
        The folder to create; by default next to the archive, named after it without its
        extensions (``aclImdb_v1.tar.gz`` -> ``aclImdb_v1/``).
    force : bool, default False
        Unpack again even if ``dest`` exists.
    """
    archive = Path(archive)
    kind = _archive_kind(archive)
    if dest is None:
        stem = re.sub(r"(\.tar)?\.(gz|tgz|bz2|tbz2|xz|txz|zip|tar)$", "", archive.name,
                      flags=re.IGNORECASE)
        dest = archive.parent / (stem if stem != archive.name else stem + "_files")
    dest = Path(dest)
    if dest.is_dir() and not force:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent))
    root = tmp.resolve()
    try:
        if kind == "zip":
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    mode = (info.external_attr >> 16) & 0o170000
                    if mode == 0o120000:
                        raise ValueError(f"unsafe archive member {info.filename!r}: a link")
                    _inside(root, info.filename)
                zf.extractall(root)
        else:
            with tarfile.open(archive) as tf:
                members = tf.getmembers()
                for m in members:
                    if not (m.isfile() or m.isdir()):
                        raise ValueError(f"unsafe archive member {m.name!r}: links and special "
                                         "files are not extracted")
                    _inside(root, m.name)
                for m in members:
                    target = _inside(root, m.name)
                    if m.isdir():
                        target.mkdir(parents=True, exist_ok=True)
                        continue
                    target.parent.mkdir(parents=True, exist_ok=True)
                    src = tf.extractfile(m)
                    with src, open(target, "wb") as out:
                        shutil.copyfileobj(src, out, _CHUNK)
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
        tmp = None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return dest
