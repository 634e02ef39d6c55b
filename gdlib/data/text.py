"""Text to integer arrays: tokenizing, a vocabulary, padding, bags of words, batching.

The usual pipeline of the course's sentiment and translation lessons::

    tokens = [tokenize(s) for s in sentences]          # "Not bad!" -> ["not", "bad", "!"]
    vocab = Vocab.build(tokens, min_freq=2)            # word <-> id, 4 specials first
    ids = [vocab.encode(t) for t in tokens]            # unknown words -> <unk> (id 1)
    X, mask = pad_batch(ids, pad_id=vocab.pad_id)      # (N, T) int64 and (N, T) bool
    B = bag_of_words(ids, len(vocab))                  # (N, V) counts, order forgotten

All of this is host-side preparation with NumPy; move the arrays to the device with
:func:`gdlib.backend.asarray` (or ``device=True``).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from .. import backend

__all__ = [
    "tokenize",
    "Vocab",
    "SPECIALS",
    "PAD",
    "UNK",
    "BOS",
    "EOS",
    "pad_batch",
    "bag_of_words",
    "batches",
    "bucket_batches",
]

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)  # ids 0, 1, 2, 3 in every Vocab

# A word: letters/digits, with inner apostrophes or hyphens kept ("don't", "well-made");
# any other non-space character is a token of its own ("!", ",", "(").
_TOKEN = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*|[^\w\s]|_", re.UNICODE)


def tokenize(text: str) -> list[str]:
    """Lower-case ``text`` and split it into words and punctuation marks.

    Words keep inner apostrophes and hyphens; every other punctuation character becomes
    its own token, so ``"Not bad, really!"`` gives ``["not", "bad", ",", "really", "!"]``
    and ``"Don't"`` gives ``["don't"]``. Works on any alphabet (Unicode letters).
    """
    if not isinstance(text, str):
        raise TypeError(f"tokenize expects a str, got {type(text).__name__}")
    return _TOKEN.findall(text.lower())


class Vocab:
    """A two-way mapping between tokens and integer ids.

    The four special tokens always have the same ids: ``<pad>`` = 0 (padding),
    ``<unk>`` = 1 (any word not in the vocabulary), ``<bos>`` = 2 and ``<eos>`` = 3
    (beginning and end of a sequence, for the decoder of a translation model). The other
    tokens follow in order of decreasing frequency (ties in alphabetical order, so the same
    corpus always gives the same ids).

    Attributes
    ----------
    itos : list of str
        Id to token (``itos[5]`` is the token with id 5).
    stoi : dict of str to int
        Token to id.
    counts : collections.Counter
        Token frequencies in the corpus the vocabulary was built from (empty when loaded
        from a list of tokens).
    """

    pad_id, unk_id, bos_id, eos_id = 0, 1, 2, 3

    def __init__(self, tokens: Iterable[str] = (), counts: Counter | None = None):
        itos = list(SPECIALS)
        seen = set(itos)
        for tok in tokens:
            if not isinstance(tok, str):
                raise TypeError(f"Vocab tokens must be str; got {tok!r}")
            if tok not in seen:
                seen.add(tok)
                itos.append(tok)
        self.itos: list[str] = itos
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(itos)}
        self.counts: Counter = Counter(counts or {})

    @classmethod
    def build(cls, token_lists: Iterable[Sequence[str]], min_freq: int = 1,
              max_size: int | None = None) -> Vocab:
        """Build a vocabulary from tokenized texts.

        Parameters
        ----------
        token_lists : iterable of lists of str
            The tokenized training texts (never the test texts: their words must be able
            to be unknown).
        min_freq : int, default 1
            Keep only tokens seen at least this many times; rarer ones become ``<unk>``.
        max_size : int, optional
            The largest vocabulary size, the four specials included; the most frequent
            tokens are kept.
        """
        if isinstance(token_lists, str):
            raise TypeError("Vocab.build expects a list of token lists, e.g. "
                            "[tokenize(s) for s in texts], not a single string")
        _whole("min_freq", min_freq)
        _whole("max_size", max_size, minimum=0, allow_none=True)
        if max_size is not None and int(max_size) < len(SPECIALS):
            raise ValueError(f"max_size={max_size} is smaller than the {len(SPECIALS)} special "
                             "tokens; give at least 4 (or None for no limit)")
        counts: Counter = Counter()
        for tokens in token_lists:
            if isinstance(tokens, str):
                raise TypeError("Vocab.build expects lists of tokens, got a string; "
                                "tokenize it first: [tokenize(s) for s in texts]")
            counts.update(tokens)
        kept = sorted((t for t, c in counts.items() if c >= min_freq and t not in SPECIALS),
                      key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[:int(max_size) - len(SPECIALS)]
        return cls(kept, counts)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token) -> bool:
        return token in self.stoi

    def __getitem__(self, token: str) -> int:
        """The id of ``token`` (``unk_id`` when unknown)."""
        return self.stoi.get(token, self.unk_id)

    def __eq__(self, other) -> bool:
        return isinstance(other, Vocab) and self.itos == other.itos

    def __hash__(self):
        return hash(tuple(self.itos))

    def __repr__(self) -> str:
        head = ", ".join(self.itos[4:9]) + (", ..." if len(self) > 9 else "")
        return f"Vocab({len(self)} tokens: 4 specials, then {head})"

    def encode(self, tokens: Sequence[str], add_bos: bool = False,
               add_eos: bool = False) -> list[int]:
        """Token list -> id list (unknown tokens -> ``unk_id``), optionally framed by bos/eos."""
        if isinstance(tokens, str):
            raise TypeError("encode expects a list of tokens, got a string; use "
                            "vocab.encode(tokenize(text))")
        get, unk = self.stoi.get, self.unk_id
        ids = [get(t, unk) for t in tokens]
        if any(i == unk for i in ids):    # only then can a non-str token hide among them
            bad = next((t for t in tokens if not isinstance(t, str)), None)
            if bad is not None:
                raise TypeError(f"encode: tokens must be str, got {bad!r} "
                                f"({type(bad).__name__}); tokenize the text first.")
        if add_bos:
            ids.insert(0, self.bos_id)
        if add_eos:
            ids.append(self.eos_id)
        return ids

    def decode(self, ids: Iterable[int], strip_specials: bool = True,
               stop_at_eos: bool = False) -> list[str]:
        """Id list -> token list.

        Parameters
        ----------
        ids : iterable of int
            A list, tuple or 1-D array (NumPy or CuPy) of ids.
        strip_specials : bool, default True
            Drop ``<pad>``, ``<bos>`` and ``<eos>`` (``<unk>`` is kept: it carries meaning).
        stop_at_eos : bool, default False
            Stop at the first ``<eos>`` (what a decoder's output needs).
        """
        if hasattr(ids, "shape"):
            ids = backend.to_host(ids).reshape(-1).tolist()
        n = len(self.itos)
        skip = {self.pad_id, self.bos_id, self.eos_id} if strip_specials else set()
        out = []
        for i in ids:
            if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
                raise TypeError(f"decode: ids must be whole numbers, got {i!r}; a float id "
                                "would be truncated to another token.")
            i = int(i)
            if stop_at_eos and i == self.eos_id:
                break
            if i in skip:
                continue
            if not 0 <= i < n:
                raise ValueError(f"id {i} is outside the vocabulary (0..{n - 1})")
            out.append(self.itos[i])
        return out

    def to_json(self) -> str:
        """The vocabulary as JSON (its tokens in id order, and the counts)."""
        return json.dumps({"itos": self.itos, "counts": dict(self.counts)}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Vocab:
        """Rebuild a vocabulary saved by :meth:`to_json`."""
        data = json.loads(text)
        itos = data["itos"]
        if tuple(itos[:4]) != SPECIALS:
            raise ValueError(f"not a gdlib Vocab: the first tokens are {itos[:4]}, "
                             f"expected {list(SPECIALS)}")
        return cls(itos[4:], Counter(data.get("counts", {})))

    def save(self, path) -> Path:
        """Write the vocabulary to a JSON file (UTF-8); returns the path."""
        path = Path(path)
        path.write_text(self.to_json(), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path) -> Vocab:
        """Read a vocabulary written by :meth:`save`."""
        return cls.from_json(Path(path).read_text(encoding="utf-8"))


def _whole(name: str, value, minimum: int = 1, allow_none: bool = False):
    """``value`` as an int >= ``minimum``; floats (2.9) and bools are refused, not truncated."""
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a whole number (an int), got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}")
    return int(value)


def _flag(name: str, value) -> bool:
    """``value`` if it is True or False: the string "False" is truthy, so it is refused."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}.")
    return bool(value)


def _flat_ids(rows: list, lengths, where: str) -> np.ndarray:
    """All ids of ``rows`` in one int64 array; ids that are not integers are refused."""
    flat = np.array([t for r in rows for t in r])
    if flat.size and flat.dtype.kind not in "iu":
        raise TypeError(f"{where}: seqs must hold integer ids, got {flat.dtype} values such as "
                        f"{flat.reshape(-1)[0]!r}; encode the tokens with vocab.encode first.")
    return flat.astype(np.int64, copy=False).reshape(int(lengths.sum()))


def _as_id_lists(seqs) -> list:
    if hasattr(seqs, "shape") and getattr(seqs, "ndim", 0) == 2:
        return backend.to_host(seqs).tolist()
    out = []
    for s in seqs:
        if isinstance(s, str):
            raise TypeError("expected sequences of integer ids, got a string; encode the "
                            "tokens first with vocab.encode(tokenize(text))")
        out.append(backend.to_host(s).tolist() if hasattr(s, "shape") else list(s))
    return out


def pad_batch(seqs, pad_id: int = 0, max_len: int | None = None, bos_id: int | None = None,
              eos_id: int | None = None, device: bool = False):
    """Pad id sequences of different lengths into one rectangular array, with a mask.

    Parameters
    ----------
    seqs : sequence of sequences of int
        The encoded sequences (lists, tuples or 1-D arrays).
    pad_id : int, default 0
        The id written after the end of shorter sequences (``Vocab.pad_id``).
    max_len : int, optional
        Pad (or truncate, keeping the beginning) every sequence to exactly ``max_len``
        positions, bos/eos included. By default the batch is as long as its longest
        sequence.
    bos_id, eos_id : int, optional
        When given, put ``bos_id`` before and ``eos_id`` after each sequence (after
        truncation, so the end marker is never cut off).
    device : bool, default False
        True moves both arrays to the current backend (CuPy on a GPU).

    Returns
    -------
    ids : array of int64, shape (N, T)
    mask : array of bool, shape (N, T)
        True at real tokens (bos/eos included), False at padding.
    """
    rows = _as_id_lists(seqs)
    _whole("max_len", max_len, minimum=0, allow_none=True)
    for name, value in (("pad_id", pad_id), ("bos_id", bos_id), ("eos_id", eos_id)):
        _whole(name, value, minimum=0, allow_none=name != "pad_id")
    _flag("device", device)
    extra = (bos_id is not None) + (eos_id is not None)
    if max_len is not None:
        if int(max_len) < extra:
            raise ValueError(f"max_len={max_len} leaves no room for the bos/eos markers")
        keep = int(max_len) - extra
        rows = [r[:keep] for r in rows]
    if bos_id is not None:
        rows = [[bos_id, *r] for r in rows]
    if eos_id is not None:
        rows = [[*r, eos_id] for r in rows]
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    T = int(max_len) if max_len is not None else int(lengths.max(initial=0))
    ids = np.full((len(rows), T), pad_id, dtype=np.int64)
    mask = np.arange(T)[None, :] < lengths[:, None]
    if len(rows):
        ids[mask] = _flat_ids(rows, lengths, "pad_batch")
    if device:
        return backend.asarray(ids), backend.asarray(mask)
    return ids, mask


def bag_of_words(seqs, vocab_size: int, binary: bool = False, ignore=(0,),
                 dtype="float32", device: bool = False):
    """Count how often each id occurs in each sequence: word order is thrown away.

    Row ``i`` of the result is the histogram of the ids of ``seqs[i]``:
    ``B[i, v] = #{t : seqs[i][t] = v}`` (or 1/0 presence when ``binary``). This is the
    representation of the classic linear text classifiers (and the baseline the RNN must
    beat on negations: "not good" and "good, not bad" have almost the same bag).

    Parameters
    ----------
    seqs : sequence of id sequences, or an (N, T) int array
    vocab_size : int
        The number of columns (``len(vocab)``); every id must be smaller.
    binary : bool, default False
        Presence (1.0) instead of counts.
    ignore : tuple of int, default (0,)
        Ids that are not counted (by default the padding id, so padded arrays work).
    dtype : str, default "float32"
    device : bool, default False
        True returns an array of the current backend.
    """
    rows = _as_id_lists(seqs)
    V = _whole("vocab_size", vocab_size)
    _flag("binary", binary)
    _flag("device", device)
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    flat = _flat_ids(rows, lengths, "bag_of_words")
    row = np.repeat(np.arange(len(rows)), lengths)
    if flat.size and (flat.min() < 0 or flat.max() >= V):
        bad = flat[(flat < 0) | (flat >= V)][0]
        raise ValueError(f"id {bad} is outside 0..{V - 1}: vocab_size must be larger than "
                         "every id (use len(vocab))")
    ignore = list(ignore or ())
    if any(isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer))
           for i in ignore):
        raise TypeError(f"ignore must be a tuple of integer ids, got {tuple(ignore)!r}.")
    keep = ~np.isin(flat, np.asarray(ignore, dtype=np.int64))
    counts = np.bincount(row[keep] * V + flat[keep], minlength=len(rows) * V)
    B = counts.reshape(len(rows), V).astype(dtype)
    if binary:
        B = (B > 0).astype(dtype)
    return backend.asarray(B) if device else B


def batches(n: int, batch_size: int, seed: int | None = 0, shuffle: bool = True,
            drop_last: bool = False) -> list[np.ndarray]:
    """Index arrays of mini-batches covering ``range(n)`` once (one epoch).

    ``seed`` makes the shuffle reproducible; ``shuffle=False`` keeps the order.
    """
    n = _whole("n", n, minimum=0)
    batch_size = _whole("batch_size", batch_size)
    _flag("shuffle", shuffle)
    _flag("drop_last", drop_last)
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    out = [order[i:i + batch_size] for i in range(0, n, batch_size)]
    if drop_last and out and len(out[-1]) < batch_size:
        out.pop()
    return out


def bucket_batches(lengths, batch_size: int, seed: int | None = 0, shuffle: bool = True,
                   drop_last: bool = False) -> list[np.ndarray]:
    """Mini-batches of sequences of similar length, in random order.

    Sorting by length before cutting batches means each padded batch is only as long as
    its own longest sequence, so a recurrent network wastes few time steps on padding.
    Ties between equal lengths are broken at random and the batches are visited in a
    random order, both from ``seed``, so epochs still differ when the seed changes.

    Parameters
    ----------
    lengths : sequence of int
        The length of each example (e.g. ``[len(s) for s in ids]``).
    batch_size : int
    seed : int, optional
    shuffle : bool, default True
        False returns the batches from shortest to longest, ties in index order.
    drop_last : bool, default False
        Drop the last, smaller batch (taken from the longest sequences).

    Returns
    -------
    list of int64 arrays
        Indices into the dataset, one array per batch; together they cover every example
        once.
    """
    batch_size = _whole("batch_size", batch_size)
    _flag("shuffle", shuffle)
    _flag("drop_last", drop_last)
    lengths = np.asarray(backend.to_host(lengths) if hasattr(lengths, "shape") else lengths)
    if lengths.ndim != 1 or (lengths.size and lengths.dtype.kind not in "iu"):
        raise TypeError(f"lengths must be a 1-D sequence of whole numbers, got "
                        f"{lengths.dtype} of shape {lengths.shape}.")
    if lengths.size and lengths.min() < 0:
        raise ValueError(f"lengths must be >= 0; got {int(lengths.min())}")
    lengths = lengths.astype(np.int64, copy=False)
    n = lengths.shape[0]
    rng = np.random.default_rng(seed)
    order = rng.permutation(n) if shuffle else np.arange(n)
    order = order[np.argsort(lengths[order], kind="stable")]
    out = [order[i:i + batch_size] for i in range(0, n, batch_size)]
    if drop_last and out and len(out[-1]) < batch_size:
        out.pop()
    if shuffle:
        out = [out[i] for i in rng.permutation(len(out))]
    return out
