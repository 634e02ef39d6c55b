"""Character-level text for language models: the shipped play, a vocabulary, random windows.

The course ships one public-domain English text, Shakespeare's *Macbeth* (First
Folio, 1623; the Project Gutenberg etext, about 100 KB of plain ASCII), in
``gdlib/data/shakespeare/`` with a README giving its source and how it was
obtained. :func:`load_macbeth` reads it; :class:`CharVocab` maps characters to
ids and back; :func:`random_windows` draws the ``(input, target)`` pairs a
character-level model trains on: windows of ``block_size`` characters and the
same windows shifted by one.
"""

from __future__ import annotations

from importlib import resources

import numpy

__all__ = ["load_macbeth", "CharVocab", "random_windows", "MACBETH_SHA256"]

#: SHA-256 of the shipped ``macbeth.txt``.
MACBETH_SHA256 = "54e1d8055ffa2aec7e831ec43044dd646cacdfce5bf333fa81e6af9c0363c3b7"


def load_macbeth() -> str:
    """The text of *Macbeth* shipped with gdlib (103,427 characters, 67 distinct)."""
    return (resources.files("gdlib") / "data" / "shakespeare" / "macbeth.txt").read_text(
        encoding="ascii")


class CharVocab:
    """One id per distinct character, in sorted order.

    Parameters
    ----------
    text : str
        The characters to index (usually the whole corpus).

    Attributes
    ----------
    chars : list of str
        ``chars[i]`` is the character with id ``i``.
    """

    def __init__(self, text: str):
        if not isinstance(text, str) or not text:
            raise ValueError("CharVocab: text must be a non-empty string.")
        self.chars = sorted(set(text))
        self._index = {c: i for i, c in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> numpy.ndarray:
        """The ids of ``text`` (int64); a character outside the vocabulary is named."""
        try:
            return numpy.fromiter((self._index[c] for c in text), dtype=numpy.int64,
                                  count=len(text))
        except KeyError as exc:
            raise ValueError(f"CharVocab.encode: character {exc.args[0]!r} is not in the "
                             "vocabulary.") from None

    def decode(self, ids) -> str:
        """The text of integer ``ids``."""
        ids = numpy.asarray(ids)
        if ids.dtype.kind not in "iu":
            raise TypeError(f"CharVocab.decode: ids must be integers, got dtype {ids.dtype}.")
        if ids.size and (ids.min() < 0 or ids.max() >= len(self.chars)):
            raise ValueError(f"CharVocab.decode: ids must lie in [0, {len(self.chars)}).")
        return "".join(self.chars[i] for i in ids.reshape(-1))

    def __repr__(self) -> str:
        return f"CharVocab({len(self.chars)} characters)"


def random_windows(ids, batch_size: int, block_size: int, rng=None):
    """``batch_size`` random windows of ``ids`` and their next characters.

    Parameters
    ----------
    ids : 1-D int array
        The encoded text (longer than ``block_size``).
    batch_size, block_size : int
    rng : None, int or numpy.random.Generator
        Where the windows start (seeded: the same seed gives the same windows).

    Returns
    -------
    x, y : int arrays of shape ``(batch_size, block_size)``
        ``y[:, t] = ids[start + t + 1]`` is the character after ``x[:, t]``.
    """
    ids = numpy.asarray(ids)
    for name, v in (("batch_size", batch_size), ("block_size", block_size)):
        if isinstance(v, bool) or not isinstance(v, (int, numpy.integer)) or v < 1:
            raise ValueError(f"random_windows: {name} must be a positive int, got {v!r}.")
    if ids.ndim != 1 or ids.dtype.kind not in "iu":
        raise ValueError("random_windows: ids must be a 1-D integer array (CharVocab.encode).")
    if ids.size <= block_size:
        raise ValueError(f"random_windows: the text has {ids.size} ids, fewer than "
                         f"block_size + 1 = {block_size + 1}.")
    gen = rng if isinstance(rng, numpy.random.Generator) else numpy.random.default_rng(rng)
    start = gen.integers(0, ids.size - block_size, size=batch_size)
    offsets = start[:, None] + numpy.arange(block_size + 1)
    w = ids[offsets]
    return w[:, :-1], w[:, 1:]
