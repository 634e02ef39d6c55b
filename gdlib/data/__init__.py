"""Offline data for the course, and loaders for real public datasets.

- :mod:`gdlib.data.tabular`: scikit-learn's bundled datasets (diabetes, breast cancer,
  digits), split with a seed and standardised on the training split only.
- :mod:`gdlib.data.text`: tokenizer, vocabulary, padding with masks, bags of words,
  length-bucketed batches.
- :mod:`gdlib.data.corpora`: the shipped sentiment and English-French corpora (seeded
  generators from hand-written grammars; the TSV files they wrote).
- :mod:`gdlib.data.chars`: Shakespeare's *Macbeth* (public domain, shipped), a character
  vocabulary and random training windows for character-level language models.
- :mod:`gdlib.data.detection`: digits placed on a larger canvas with their boxes (a seeded
  object-detection set; test canvases use digit images no training canvas uses).
- :mod:`gdlib.data.download`: download once, verify SHA-256, cache; safe archive extraction.
- :mod:`gdlib.data.public`: IMDb, SST-2, Anki and Tatoeba sentence pairs (the way to go
  further; never needed by the lessons).
- :mod:`gdlib.data.speech`: the shipped spoken-digit corpus (eSpeak NG voices, test voices
  held out) and the Free Spoken Digit Dataset's loader.

scikit-learn is imported only when a tabular loader is called.
"""

from .corpora import (
    ORDER_SENSITIVE,
    SentimentExample,
    generate_sentiment,
    generate_translation,
    load_sentiment,
    load_translation,
)
from .detection import DetectionSet, make_digit_canvases
from .download import (
    ArchiveError,
    CacheDirError,
    ChecksumError,
    DownloadError,
    data_home,
    extract,
    fetch,
    sha256sum,
)
from .public import LabeledText, load_anki_pairs, load_imdb, load_sst2, load_tatoeba
from .speech import SpokenDigits, load_fsdd, load_spoken_digits
from .tabular import (
    Split,
    StandardScaler,
    load_breast_cancer,
    load_diabetes,
    load_digits,
    train_test_split,
)
from .text import (
    SPECIALS,
    Vocab,
    bag_of_words,
    batches,
    bucket_batches,
    pad_batch,
    tokenize,
)

__all__ = [
    # tabular
    "Split", "StandardScaler", "train_test_split",
    "load_diabetes", "load_breast_cancer", "load_digits",
    # text
    "tokenize", "Vocab", "SPECIALS", "pad_batch", "bag_of_words", "batches", "bucket_batches",
    # detection
    "DetectionSet", "make_digit_canvases",
    # download
    "fetch", "extract", "data_home", "sha256sum", "DownloadError", "ChecksumError",
    "ArchiveError", "CacheDirError",
    # shipped corpora
    "SentimentExample", "ORDER_SENSITIVE", "load_sentiment", "load_translation",
    "generate_sentiment", "generate_translation",
    # public datasets
    "LabeledText", "load_imdb", "load_sst2", "load_anki_pairs", "load_tatoeba",
    # speech
    "SpokenDigits", "load_spoken_digits", "load_fsdd",
]
