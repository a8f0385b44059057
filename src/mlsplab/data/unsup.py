"""Build ``aclImdb_unsup.txt.gz`` from the public Large Movie Review Dataset archive.

The archive ``aclImdb_v1.tar.gz`` (ai.stanford.edu/~amaas/data/sentiment, Maas et al. 2011)
holds 50,000 unlabelled reviews in ``aclImdb/train/unsup/<id>_0.txt`` and the 50,000 labelled
ones in ``aclImdb/{train,test}/{pos,neg}/``, one review per file. The file word2vec pretrains
on keeps the unlabelled reviews, one per line, in the order of their ids, without any review
that is also a labelled one (so no test text reaches the word vectors) and without repeats.

The archive is read member by member and nothing is extracted to disk: only regular files whose
names match the dataset's layout are read, each up to :data:`MAX_REVIEW_BYTES`, so a damaged or
hostile archive cannot write outside the output file or exhaust memory.
"""

from __future__ import annotations

import gzip
import os
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path

from mlsplab.errors import MlsplabError

# aclImdb/train/unsup/123_0.txt, aclImdb/test/pos/4_10.txt (a "./" prefix is allowed)
MEMBER = re.compile(r"(?:\./)?aclImdb/(train/unsup|train/pos|train/neg|test/pos|test/neg)/"
                    r"(\d+)_(\d+)\.txt")
MAX_REVIEW_BYTES = 1 << 20  # the longest review of the dataset is about 14 kB
UNSUP = "train/unsup"


@dataclass(frozen=True)
class UnsupSummary:
    """What :func:`build_unsup` read and wrote."""

    path: Path
    unlabelled: int  # unlabelled reviews in the archive
    labelled: int  # labelled reviews in the archive
    removed_labelled: int  # unlabelled reviews that are also labelled ones
    removed_repeats: int  # repeats of an earlier unlabelled review
    written: int  # lines written


def one_line(text: str) -> str:
    """A review as one line: surrounding space stripped, line breaks made spaces."""
    return " ".join(text.strip().splitlines())


def read_reviews(archive: Path) -> tuple[dict[int, str], set[str]]:
    """The unlabelled reviews by id, and the set of labelled review texts, of an aclImdb tar.

    Raises
    ------
    MlsplabError
        If the archive cannot be read, a review is not UTF-8 or too long, or the archive holds
        no unlabelled reviews.
    """
    unsup: dict[int, str] = {}
    labelled: set[str] = set()
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            for member in tar:
                match = MEMBER.fullmatch(member.name)
                if match is None or not member.isfile():  # links, folders, other files
                    continue
                if member.size > MAX_REVIEW_BYTES:
                    raise MlsplabError(f"{archive}: member {member.name} is {member.size:,} "
                                       f"bytes; a review is at most {MAX_REVIEW_BYTES:,}")
                f = tar.extractfile(member)
                if f is None:
                    continue
                text = one_line(f.read(MAX_REVIEW_BYTES).decode("utf-8"))
                if match.group(1) == UNSUP:
                    unsup[int(match.group(2))] = text
                else:
                    labelled.add(text)
    except (OSError, EOFError, tarfile.TarError) as e:
        detail = (str(e).strip().splitlines() or [type(e).__name__])[0]  # tarfile's span lines
        raise MlsplabError(f"{archive}: not a readable tar archive ({detail}); expected "
                           "aclImdb_v1.tar.gz from ai.stanford.edu/~amaas/data/sentiment") from e
    except UnicodeDecodeError as e:
        raise MlsplabError(f"{archive}: a review is not UTF-8 ({e})") from e
    if not unsup:
        raise MlsplabError(f"{archive}: no aclImdb/train/unsup/*.txt members; expected "
                           "aclImdb_v1.tar.gz from ai.stanford.edu/~amaas/data/sentiment")
    return unsup, labelled


def build_unsup(archive: str | os.PathLike, dest: str | os.PathLike) -> UnsupSummary:
    """Write ``dest`` (gzipped UTF-8, one review a line) from the aclImdb tar ``archive``.

    The write is atomic (a temporary file renamed into place) and byte-for-byte repeatable (the
    gzip header carries no time stamp or name).

    Raises
    ------
    MlsplabError
        If the archive is unreadable (see :func:`read_reviews`) or ``dest`` cannot be written.
    """
    archive, dest = Path(archive), Path(dest)
    unsup, labelled = read_reviews(archive)
    kept: dict[str, None] = {}
    removed_labelled = 0
    for _, text in sorted(unsup.items()):
        if text in labelled:
            removed_labelled += 1
        elif text:
            kept.setdefault(text)
    tmp = dest.with_name(f".{dest.name}.part")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                                   mtime=0) as gz:
            for text in kept:
                gz.write(text.encode("utf-8") + b"\n")
        os.replace(tmp, dest)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise MlsplabError(f"{dest}: cannot write ({e.strerror})") from e
    return UnsupSummary(dest, len(unsup), len(labelled), removed_labelled,
                        len(unsup) - removed_labelled - len(kept), len(kept))
