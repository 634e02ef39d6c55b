"""Download a file once, check its SHA-256, keep it in a cache; unpack archives safely.

The course itself never downloads anything (its data ship with scikit-learn or with
gdlib). These helpers serve the loaders of real public datasets in
:mod:`gdlib.data.public`, the way to go further.

The cache folder is ``$GDLIB_DATA`` when that variable is set, else ``~/.cache/gdlib``.
A file is trusted only when its SHA-256 digest equals the expected one; the digest is
checked after every download and every time a cached copy is reused. On a machine with no
internet access, download the file elsewhere and copy it into the cache folder under the
name :func:`fetch` prints: it is then used without the network.

Limits. A download has an overall ``deadline`` (:data:`DEADLINE`, 15 minutes, by default)
besides the per-operation ``timeout`` (30 s), and a byte cap ``max_bytes``
(:data:`MAX_DOWNLOAD_BYTES`, 2 GiB): a server that stalls or drips bytes cannot hang
:func:`fetch`, and one that sends without end cannot fill the disk. An archive is refused
(:class:`ArchiveError`) before anything is written when its members would unpack to more
than :data:`MAX_MEMBER_BYTES` (1 GiB) each or :data:`MAX_TOTAL_BYTES` (4 GiB) in all, or
when they are more than :data:`MAX_RATIO` (200) times larger than the archive (a
"decompression bomb"; archives unpacking to less than 16 MiB are exempt from the ratio).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import lzma
import math
import os
import re
import shutil
import socket
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from numbers import Real
from pathlib import Path, PurePosixPath

__all__ = [
    "DownloadError",
    "ChecksumError",
    "ArchiveError",
    "CacheDirError",
    "data_home",
    "sha256sum",
    "fetch",
    "extract",
    "DEADLINE",
    "MAX_DOWNLOAD_BYTES",
    "MAX_MEMBER_BYTES",
    "MAX_TOTAL_BYTES",
    "MAX_RATIO",
]

_CHUNK = 1 << 20
_READ = 1 << 16          # one network read: small, so the deadline is checked often
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
USER_AGENT = "gdlib-course-data/0.1 (Python urllib)"
_SCHEMES = ("http", "https", "ftp", "file")

#: Seconds a whole download may take, by default (15 minutes: IMDb's 84 MB at 100 kB/s).
DEADLINE = 900.0
#: Bytes a download may bring, by default (2 GiB; the largest loader's file is 84 MB).
MAX_DOWNLOAD_BYTES = 2 << 30
#: Uncompressed bytes one archive member may hold (1 GiB).
MAX_MEMBER_BYTES = 1 << 30
#: Uncompressed bytes all members of an archive may hold together (4 GiB).
MAX_TOTAL_BYTES = 4 << 30
#: Largest ratio of uncompressed to compressed size (200; text compresses 3-10 times).
MAX_RATIO = 200.0
#: Archives (and members) that unpack to less than this are exempt from the ratio check.
_RATIO_FLOOR = 16 << 20


class DownloadError(OSError):
    """The file could not be downloaded (no network, missing file, HTTP error, deadline)."""


class ChecksumError(ValueError):
    """The downloaded (or cached) file does not have the expected SHA-256 digest."""


class ArchiveError(ValueError):
    """An archive is unsafe (a member outside the folder, a link), too large or damaged."""


class CacheDirError(OSError):
    """The cache folder cannot be created or written to."""


def _cache_dir_error(folder, err) -> CacheDirError:
    return CacheDirError(
        f"cannot write to the cache folder {folder} ({type(err).__name__}: {err}). Set the "
        "environment variable GDLIB_DATA to a folder you can write to, or pass cache_dir=...")


def data_home(cache_dir=None) -> Path:
    """The cache folder: ``cache_dir`` if given, else ``$GDLIB_DATA``, else ``~/.cache/gdlib``.

    An empty ``cache_dir`` (``""``) or ``GDLIB_DATA`` counts as unset. The folder is
    created if needed; :class:`CacheDirError` says which folder could not be and what to
    set instead.
    """
    if cache_dir is not None and not isinstance(cache_dir, (str, os.PathLike)):
        raise TypeError(f"cache_dir must be a folder path (str or Path) or None, got "
                        f"{cache_dir!r}.")
    if cache_dir is None or not str(cache_dir).strip():
        env = os.environ.get("GDLIB_DATA", "").strip()
        cache_dir = env if env else Path.home() / ".cache" / "gdlib"
    path = Path(cache_dir).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _cache_dir_error(path, err) from err
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


def _check_url(url) -> str:
    if not isinstance(url, str) or not url.strip():
        raise TypeError(f"url must be a non-empty string, got {url!r}.")
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in _SCHEMES:
        raise ValueError(f"url={url!r}: the scheme must be one of {', '.join(_SCHEMES)}.")
    return url


def _check_seconds(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) \
            or value <= 0:
        raise ValueError(f"{name}={value!r}: give a finite number of seconds > 0 (None, 0 and "
                         "negative values would let a stalled server hang the download).")
    return float(value)


def _check_count(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, Real)) or value != int(value) \
            or value < 1:
        raise ValueError(f"{name}={value!r}: give a whole number of bytes >= 1.")
    return int(value)


def _filename_from_url(url: str) -> str:
    name = PurePosixPath(urllib.parse.unquote(urllib.parse.urlsplit(url).path)).name
    if not name:
        raise ValueError(f"cannot guess a file name from the URL {url!r}; pass filename=...")
    return name


def _show_progress(progress) -> bool:
    if progress is not None:
        if not isinstance(progress, bool):
            raise TypeError(f"progress must be True, False or None, got {progress!r}.")
        return progress
    from ..train import interactive

    return interactive()


def fetch(url: str, sha256: str, filename: str | None = None, cache_dir=None,
          progress: bool | None = None, timeout: float = 30.0, deadline: float = DEADLINE,
          max_bytes: int = MAX_DOWNLOAD_BYTES) -> Path:
    """Download ``url`` once into the cache, verify its SHA-256 and return the local path.

    1. If ``cache_dir/filename`` exists and its digest equals ``sha256``, it is returned
       at once, without the network.
    2. Otherwise the file is streamed (``urllib``) into a temporary file in the cache
       folder while its digest is computed; a progress bar (tqdm) is shown only when
       someone is watching. The whole transfer must end within ``deadline`` seconds and
       bring at most ``max_bytes`` bytes; each blocking operation gives up after
       ``timeout`` seconds.
    3. On a digest mismatch the temporary file is deleted and :class:`ChecksumError` is
       raised, naming the URL and both digests. On success the file is moved into place
       atomically (``os.replace``), so a half-written file never looks finished. On any
       failure, an interruption (Ctrl-C) included, the temporary file is deleted.

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
        The cache folder (see :func:`data_home`); ``""`` is the same as None.
    progress : bool, optional
        Force the progress bar on or off; by default on only in a terminal or a notebook.
    timeout : float, default 30
        Seconds before one stalled operation (connect, read) is given up; must be > 0.
    deadline : float, default :data:`DEADLINE` (900)
        Seconds the whole download may take; must be > 0. Raise it on a slow connection.
    max_bytes : int, default :data:`MAX_DOWNLOAD_BYTES` (2 GiB)
        The most bytes accepted; a server announcing or sending more is cut off.

    Raises
    ------
    ChecksumError
        The downloaded file does not have the expected digest.
    DownloadError
        The download failed, ran past ``deadline`` or past ``max_bytes``; the message
        names the URL and says where to put a copy by hand.
    CacheDirError
        The cache folder cannot be written to (the message says which, and what to set).
    """
    digest = _check_sha256(sha256)
    url = _check_url(url)
    timeout = _check_seconds("timeout", timeout)
    deadline = _check_seconds("deadline", deadline)
    max_bytes = _check_count("max_bytes", max_bytes)
    show = _show_progress(progress)
    name = filename or _filename_from_url(url)
    if not isinstance(name, str) or Path(name).name != name or name in (".", ".."):
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
        try:
            fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
        except OSError as err:
            raise _cache_dir_error(folder, err) from err
        tmp = Path(tmp_name)
        with os.fdopen(fd, "wb") as out:
            got = _download(url, out, timeout, deadline, max_bytes, show, name)
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


class _Transfer:
    """One download running in a worker thread, so that the caller can keep a deadline.

    A blocking read cannot be interrupted from Python, but the thread that waits for it
    can stop waiting: :func:`_download` joins the worker for at most the time left, then
    sets ``cancelled`` (the worker stops at its next chunk) and closes the response.
    """

    def __init__(self, url, out, timeout, max_bytes, show, desc):
        self.url, self.out, self.timeout = url, out, timeout
        self.max_bytes, self.show, self.desc = max_bytes, show, desc
        self.cancelled = threading.Event()
        self.response = None
        self.digest = None
        self.error = None

    def run(self):
        try:
            self.digest = _copy_stream(self)
        except BaseException as err:  # handed to the caller's thread
            self.error = err

    def close(self):
        """Stop the worker: flag it, shut its socket down, close the response (in the
        background: closing waits for a read in progress)."""
        self.cancelled.set()
        response = self.response
        if response is None:
            return
        sock = getattr(getattr(getattr(response, "fp", None), "raw", None), "_sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)   # a blocked recv returns at once
            except OSError:
                pass
        threading.Thread(target=_close_quietly, args=(response,), daemon=True).start()


def _close_quietly(response) -> None:
    try:
        response.close()
    except Exception:  # noqa: BLE001 - best effort on a connection we give up
        pass


def _download(url: str, out, timeout: float, deadline: float, max_bytes: int, show: bool,
              desc: str) -> str:
    """Stream ``url`` into the open binary file ``out``; return the SHA-256 of the bytes."""
    job = _Transfer(url, out, timeout, max_bytes, show, desc)
    worker = threading.Thread(target=job.run, name=f"gdlib-fetch-{desc}", daemon=True)
    start = time.monotonic()
    worker.start()
    late = True
    try:
        worker.join(deadline)
        late = worker.is_alive()
    finally:
        if late:          # past the deadline, or interrupted (Ctrl-C): stop the worker
            job.close()
    if late:
        raise DownloadError(
            f"the download took longer than deadline={deadline:g} s "
            f"({time.monotonic() - start:.1f} s); the server stalled or is too slow. Try "
            "again, or pass a larger deadline=")
    if job.error is not None:
        raise job.error
    return job.digest


def _copy_stream(job: _Transfer) -> str:
    """The worker's part of :func:`_download`: open, stream, hash, count."""
    h = hashlib.sha256()
    request = urllib.request.Request(job.url, headers={"User-Agent": USER_AGENT})
    too_many = (f"the server sends more than max_bytes={job.max_bytes} bytes; pass a larger "
                "max_bytes= if the file really is that large")
    try:
        with urllib.request.urlopen(request, timeout=job.timeout) as response:
            job.response = response
            total = response.headers.get("Content-Length") if response.headers else None
            if total and total.isdigit() and int(total) > job.max_bytes:
                raise DownloadError(f"{too_many} (it announces {int(total)})")
            read = getattr(response, "read1", response.read)
            bar = None
            if job.show:
                from tqdm.auto import tqdm

                bar = tqdm(total=int(total) if total and total.isdigit() else None,
                           unit="B", unit_scale=True, unit_divisor=1024, desc=job.desc,
                           leave=False)
            count = 0
            try:
                while not job.cancelled.is_set():
                    chunk = read(_READ)
                    if not chunk:
                        break
                    count += len(chunk)
                    if count > job.max_bytes:
                        raise DownloadError(too_many)
                    h.update(chunk)
                    job.out.write(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
            finally:
                if bar is not None:
                    bar.close()
            if total and total.isdigit() and count < int(total) \
                    and not job.cancelled.is_set():
                raise DownloadError(f"the connection closed after {count} of {total} bytes")
    except urllib.error.HTTPError as err:
        raise DownloadError(f"HTTP {err.code} {err.reason}") from err
    except urllib.error.URLError as err:
        raise DownloadError(str(err.reason)) from err
    except http.client.HTTPException as err:  # IncompleteRead, BadStatusLine, InvalidURL
        raise DownloadError(f"{type(err).__name__}: {err}") from err
    except (TimeoutError, ValueError) as err:  # socket timeouts, read on a closed response
        raise DownloadError(f"{type(err).__name__}: {err}") from err
    except OSError as err:  # resets, file:// errors (DownloadError passes through)
        if isinstance(err, DownloadError):
            raise
        raise DownloadError(f"{type(err).__name__}: {err}") from err
    return h.hexdigest()


# ----------------------------------------------------------------------------
# Archives


def _inside(root: Path, member: str) -> Path:
    """The path ``member`` would be extracted to, refusing anything outside ``root``."""
    if member.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", member):
        raise ArchiveError(f"unsafe archive member {member!r}: absolute path")
    target = (root / member).resolve()
    if target != root and root not in target.parents:
        raise ArchiveError(f"unsafe archive member {member!r}: it would be written outside "
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
    raise ArchiveError(f"{path} is neither a zip nor a tar archive")


def is_damage(err: BaseException) -> bool:
    """Whether ``err`` is what reading a damaged archive raises (not a disk error)."""
    if isinstance(err, (tarfile.TarError, zipfile.BadZipFile, zlib.error, EOFError,
                        lzma.LZMAError, gzip.BadGzipFile, UnicodeDecodeError)):
        return True
    # bz2 and a few others raise a bare OSError ("Invalid data stream"), without errno.
    return type(err) is OSError and err.errno is None


def damaged_archive(archive, err, verified: bool = True) -> ArchiveError:
    """The error for an archive that cannot be read; the message names it and says to delete it.

    With ``verified`` (the loaders, after :func:`fetch`), the file matched the digest
    given, so it is the trusted file itself that is broken, or the digest was computed on a
    broken copy: the message says so.
    """
    why = " ".join(f"{type(err).__name__}: {err}".split())     # one line
    trusted = (" Its SHA-256 matched the digest you trust, so that copy (or the digest) is "
               "wrong:" if verified else "")
    return ArchiveError(f"{archive} is damaged and cannot be read ({why}).{trusted} delete "
                        f"{archive}, download it again and check its digest.")


@contextlib.contextmanager
def reading(archive, verified: bool = True):
    """Turn what reading a damaged ``archive`` raises into :func:`damaged_archive`'s error.

    ``ArchiveError`` (a refused member, a limit) and errors that are not damage (a full
    disk, Ctrl-C) pass through unchanged.
    """
    try:
        yield
    except ArchiveError:
        raise
    except Exception as err:
        if is_damage(err):
            raise damaged_archive(archive, err, verified) from err
        raise


class ArchiveLimits:
    """The size limits one archive is checked against, member by member.

    Parameters
    ----------
    archive : Path
        The archive (its size on disk is the compressed size for the ratio).
    max_bytes, max_member_bytes : int, optional
        Largest total and per-member uncompressed size (None: the module's
        :data:`MAX_TOTAL_BYTES` and :data:`MAX_MEMBER_BYTES`, read at each call).
    max_ratio : float, optional
        Largest ratio of uncompressed to compressed bytes, checked once more than 16 MiB
        are unpacked (per zip member: against its own compressed size).
    """

    def __init__(self, archive, max_bytes: int | None = None,
                 max_member_bytes: int | None = None, max_ratio: float | None = None):
        self.archive = Path(archive)
        self.max_bytes = _check_count(
            "max_bytes", MAX_TOTAL_BYTES if max_bytes is None else max_bytes)
        self.max_member_bytes = _check_count(
            "max_member_bytes", MAX_MEMBER_BYTES if max_member_bytes is None else max_member_bytes)
        max_ratio = MAX_RATIO if max_ratio is None else max_ratio
        if isinstance(max_ratio, bool) or not isinstance(max_ratio, Real) \
                or not max_ratio >= 1 or not math.isfinite(max_ratio):
            raise ValueError(f"max_ratio={max_ratio!r}: give a finite number >= 1.")
        self.max_ratio = float(max_ratio)
        self.packed = max(self.archive.stat().st_size, 1)
        self.total = 0

    def _refuse(self, what: str) -> ArchiveError:
        return ArchiveError(
            f"{self.archive} is refused: {what}. This protects the disk from a "
            "'decompression bomb'; if you trust the archive, raise the limit (extract's "
            "max_bytes=, max_member_bytes=, max_ratio=).")

    def add(self, name: str, size: int, packed: int | None = None) -> None:
        """Count a member of ``size`` uncompressed bytes (``packed`` compressed, zip)."""
        self.check_member(name, size, packed)
        self.total += size
        if self.total > self.max_bytes:
            raise self._refuse(f"its members unpack to more than max_bytes={self.max_bytes} "
                               "bytes in all")
        if self.total > _RATIO_FLOOR and self.total > self.max_ratio * self.packed:
            raise self._refuse(f"its members unpack to more than {self.max_ratio:g} times the "
                               f"archive's {self.packed} bytes (max_ratio={self.max_ratio:g})")

    def check_member(self, name: str, size: int, packed: int | None = None) -> None:
        """Refuse one member of ``size`` uncompressed bytes (``packed`` compressed)."""
        if size > self.max_member_bytes:
            raise self._refuse(f"member {name!r} unpacks to {size} bytes, more than "
                               f"max_member_bytes={self.max_member_bytes}")
        if packed is not None and size > _RATIO_FLOOR \
                and size > self.max_ratio * max(packed, 1):
            raise self._refuse(f"member {name!r} unpacks to {size / max(packed, 1):.0f} times "
                               f"its compressed size, more than max_ratio={self.max_ratio:g}")


def zip_members(zf: zipfile.ZipFile, limits: ArchiveLimits):
    """The ``ZipInfo`` of every member, each checked (links, limits) before it is returned."""
    infos = zf.infolist()
    for info in infos:
        mode = (info.external_attr >> 16) & 0o170000
        if mode == 0o120000:
            raise ArchiveError(f"unsafe archive member {info.filename!r}: a link")
        limits.add(info.filename, info.file_size, info.compress_size)
    return infos


def tar_members(tf: tarfile.TarFile, limits: ArchiveLimits):
    """Yield the members of ``tf`` one by one, each checked before its data is read.

    Links and special files are refused; a member whose size breaks a limit is refused
    from its header, before a single byte of it is decompressed.
    """
    for m in tf:
        if not (m.isfile() or m.isdir()):
            raise ArchiveError(f"unsafe archive member {m.name!r}: links and special files "
                               "are not extracted")
        limits.add(m.name, m.size if m.isfile() else 0)
        yield m


def extract(archive, dest=None, force: bool = False, max_bytes: int | None = None,
            max_member_bytes: int | None = None, max_ratio: float | None = None) -> Path:
    """Unpack a ``.zip`` or ``.tar(.gz|.bz2|.xz)`` archive safely; return the folder.

    Every member is checked before anything is written: absolute paths, ``..`` that
    climbs out of the folder, symbolic or hard links and device files are refused
    (:class:`ArchiveError`, a ``ValueError``), so a hostile archive cannot write elsewhere
    (the "path traversal" attack); so are archives whose members would unpack to more
    than ``max_member_bytes`` each, ``max_bytes`` in all, or ``max_ratio`` times the
    archive's size (a "decompression bomb"). Unpacking goes into a temporary folder
    renamed into place at the end, so an interrupted or refused run leaves no
    half-unpacked folder behind; a finished folder is reused unless ``force``.

    Parameters
    ----------
    archive : str or Path
    dest : str or Path, optional
        The folder to create; by default next to the archive, named after it without its
        extensions (``aclImdb_v1.tar.gz`` -> ``aclImdb_v1/``).
    force : bool, default False
        Unpack again even if ``dest`` exists.
    max_bytes : int, optional
        Default :data:`MAX_TOTAL_BYTES` (4 GiB).
    max_member_bytes : int, optional
        Default :data:`MAX_MEMBER_BYTES` (1 GiB).
    max_ratio : float, optional
        Default :data:`MAX_RATIO` (200); archives unpacking to less than 16 MiB are exempt.

    Raises
    ------
    ArchiveError
        An unsafe member, a limit broken, or a damaged archive (the message names it).
    """
    if not isinstance(force, bool):
        raise TypeError(f"force must be True or False, got {force!r}.")
    archive = Path(archive)
    if not archive.is_file():
        raise FileNotFoundError(f"archive={str(archive)!r} is not a file.")
    kind = _archive_kind(archive)
    limits = ArchiveLimits(archive, max_bytes, max_member_bytes, max_ratio)
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
        with reading(archive, verified=False):
            if kind == "zip":
                _extract_zip(archive, root, limits)
            else:
                _extract_tar(archive, root, limits)
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
        tmp = None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _extract_zip(archive: Path, root: Path, limits: ArchiveLimits) -> None:
    with zipfile.ZipFile(archive) as zf:
        infos = zip_members(zf, limits)
        for info in infos:
            _inside(root, info.filename)
        zf.extractall(root)


def _extract_tar(archive: Path, root: Path, limits: ArchiveLimits) -> None:
    with tarfile.open(archive) as tf:
        members = list(tar_members(tf, limits))   # every header checked before writing
        for m in members:
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
