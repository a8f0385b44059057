"""Appendix: where each data file comes from, its licence, how the copy used was made, and the
sha256 each run recorded of the file it read.

The provenance text restates the data folder's README.md and the README.md inside
ESC-50-master.zip; the checksums are read from the results.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from mlsplab.report.document import Block, Bullets, Heading, Paragraph, Table
from mlsplab.report.results import Results, iter_dicts

MAAS_2011 = ("A. L. Maas, R. E. Daly, P. T. Pham, D. Huang, A. Y. Ng and C. Potts, \u201cLearning "
             "word vectors for sentiment analysis\u201d, ACL 2011")
PICZAK_2015 = ("K. J. Piczak, \u201cESC: Dataset for environmental sound classification\u201d, "
               "ACM MM 2015, doi:10.1145/2733373.2806390")


@dataclass(frozen=True)
class DataSource:
    """One data file: where it comes from, its licence, and how the copy used was made."""

    file: str
    source: str
    licence: str
    copy: str


SOURCES: tuple[DataSource, ...] = (
    DataSource(
        file="IMDB_Dataset.csv.zip",
        source=("The assignment's file (course server, MLSP25 assignments/data). Its 50,000 "
                "labelled reviews are those of the Large Movie Review Dataset "
                f"({MAAS_2011}; ai.stanford.edu/~amaas/data/sentiment)."),
        licence=f"No licence is stated with the data; its authors ask users to cite {MAAS_2011}.",
        copy=("One member \u201cIMDB Dataset.csv\u201d (review, sentiment), 50,000 rows "
              "(49,582 distinct texts), shuffled; HTML line breaks kept as in the original.")),
    DataSource(
        file="aclImdb_unsup.txt.gz",
        source=("The 50,000 unlabelled reviews of the same dataset (aclImdb_v1, train/unsup), "
                "used only to pretrain word2vec."),
        licence=f"As above: cite {MAAS_2011}.",
        copy=("One review per line, UTF-8; every review that also appears among the labelled "
              "50,000 (and repeats) removed, leaving 48,887, so no test text leaks into the "
              "word vectors.")),
    DataSource(
        file="ESC-50-master.zip",
        source=(f"The ESC-50 layout ({PICZAK_2015}; github.com/karolpiczak/ESC-50), as on the "
                "course server; only the 400 ESC-10 clips are used."),
        licence=("The ESC-10 clips are CC BY 3.0; ESC-50 as a whole is CC BY-NC 3.0. The "
                 "per-clip attributions (freesound.org authors) are in the LICENSE file of "
                 "karolpiczak/ESC-50."),
        copy=("meta/esc50.csv is a byte copy of the official 2,000-row metadata (mirror "
              "caitlinnguyen0/ESC-50, commit d909824). Audio only for ESC-10: 83 WAVs are byte "
              "copies of the official files (all 80 of fold 4, and 3 others); the other 317 "
              "were rebuilt from the original ESC-10 Ogg Vorbis release (karoldvl/ESC-10, "
              "commit 553c8f1): decoded with libsndfile 1.2.2, scaled to int16, cut or "
              "zero-padded to 5 s (220,500 samples at 44.1 kHz). These are not byte copies of "
              "the official WAVs: where both exist they differ by at most 1 LSB on about "
              "0.03 % of samples, and one clip shorter than 5 s has 64 more decoded samples "
              "before its padding in the official file.")),
)

FOLDS_NOTE = ("ESC-50's five folds were arranged by its author so that all clips cut from one "
              "source recording (the src_file column of meta/esc50.csv; take tells its clips "
              "apart) lie in the same fold. The assignment's split uses whole folds (1\u20133 "
              "training, 4 validation, 5 test), and the five-fold cross-validation beyond the "
              "assignment rotates whole folds, so no recording is on both sides of a split.")


def _checksums(doc: Any) -> list[tuple[str, str]]:
    """(file or key, sha256) pairs recorded anywhere in a metrics document: provenance
    records (``{"path": ..., "sha256": ...}``) and ``*_sha256`` fields."""
    found: list[tuple[str, str]] = []
    for record in iter_dicts(doc):
        if isinstance(record.get("sha256"), str) and isinstance(record.get("path"), str):
            found.append((PurePath(record["path"]).name, record["sha256"]))
        found += [(f"recorded as {key}", value) for key, value in record.items()
                  if key.endswith("_sha256") and isinstance(value, str)]
    return found


def checksum_rows(results: Results) -> list[list[str]]:
    """file | sha256 | results that recorded it; a bare ``*_sha256`` field takes the file name
    of a provenance record with the same hash."""
    pairs = [(name, sha, exp_id) for exp_id, doc in results.docs.items()
             for name, sha in _checksums(doc)]
    names = {sha: name for name, sha, _ in pairs if not name.startswith("recorded as")}
    table: dict[tuple[str, str], list[str]] = {}
    for name, sha, exp_id in pairs:
        key = (names.get(sha, name), sha)
        if exp_id not in table.setdefault(key, []):
            table[key].append(exp_id)
    return [[name, f"`{sha}`", ", ".join(ids)] for (name, sha), ids in sorted(table.items())]


def data_source_blocks(results: Results) -> list[Block]:
    """The appendix section on data sources, licences, checksums and folds."""
    blocks: list[Block] = [Heading("Data sources and licences", 2, anchor="data-sources"),
                           Paragraph("From the data folder's README.md and the README.md inside "
                                     "ESC-50-master.zip.", "note")]
    for data in SOURCES:
        blocks += [Heading(f"`{data.file}`", 3),
                   Bullets([f"Source: {data.source}", f"Licence: {data.licence}",
                            f"The copy used here: {data.copy}"])]
    blocks.append(Paragraph(FOLDS_NOTE))
    rows = checksum_rows(results)
    if rows:
        files = {row[0] for row in rows}
        blocks.append(Table(["file", "sha256", "recorded by"], rows,
                            caption="The sha256 of each input as the runs recorded it."
                                    + (" One file with several hashes: the runs read "
                                       "different copies." if len(files) < len(rows) else "")))
    else:
        blocks.append(Paragraph("No run in this folder recorded the sha256 of its input.",
                                "note"))
    return blocks
