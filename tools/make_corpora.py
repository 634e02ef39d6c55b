"""Regenerate the corpora shipped in ``gdlib/data/corpora/``.

Usage::

    python tools/make_corpora.py            # writes the four TSV files
    python tools/make_corpora.py --check    # only says whether the files are up to date

The grammars, seeds and sizes live in :mod:`gdlib.data.corpora`
(``SENTIMENT_SEED = 2024``, 4000 train + 1000 test reviews; ``TRANSLATION_SEED = 1789``,
8000 train + 800 test pairs). Each corpus is generated as one pool of distinct examples
(distinct texts; distinct English sentences for translation) and cut into train and test,
so no test sentence occurs in the training split. Run it after editing a grammar, then
commit the TSV files together with the grammar (``tests/test_corpora.py`` checks that the
files equal a fresh generation).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from gdlib.data import corpora


def write_all(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for split, examples in corpora.sentiment_splits().items():
        paths.append(corpora.write_sentiment_tsv(examples, directory / f"sentiment_{split}.tsv"))
    for split, pairs in corpora.translation_splits().items():
        paths.append(corpora.write_translation_tsv(pairs, directory / f"translation_{split}.tsv"))
    return paths


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare the shipped files with a fresh generation, write nothing")
    args = parser.parse_args(argv)
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            stale = [p.name for p in write_all(Path(tmp))
                     if (corpora.CORPORA_DIR / p.name).read_bytes() != p.read_bytes()]
        print("stale: " + ", ".join(stale) if stale else "corpora up to date")
        return 1 if stale else 0
    for path in write_all(corpora.CORPORA_DIR):
        n = sum(1 for _ in path.open(encoding="utf-8")) - 1
        print(f"wrote {path} ({n} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
