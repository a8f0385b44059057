"""Published results, as context for this run's numbers (other protocols, cited)."""

from __future__ import annotations

from mlsplab.experiments import registry
from mlsplab.formatting import percent
from mlsplab.report.document import Block, Heading, Paragraph, Table
from mlsplab.report.results import Results

IMDB_PUBLISHED: tuple[tuple[str, str, str], ...] = (  # method | accuracy | source
    ("word vectors learned with unlabelled reviews, + bag of words", "88.89 %",
     "Maas et al., \u201cLearning word vectors for sentiment analysis\u201d, ACL 2011"),
    ("NBSVM with word bigrams", "91.22 %",
     ("Wang & Manning, \u201cBaselines and bigrams: simple, good sentiment and topic "
      "classification\u201d, ACL 2012")),
)
ESC10_PUBLISHED: tuple[tuple[str, str, str], ...] = (
    ("CNN on log-mel spectrograms", "80.5 %",
     ("Piczak, \u201cEnvironmental sound classification with convolutional neural "
      "networks\u201d, IEEE MLSP 2015")),
    ("random forest on MFCC and ZCR features", "72.7 %",
     "Piczak, \u201cESC: Dataset for environmental sound classification\u201d, ACM MM 2015"),
    ("human listeners", "95.7 %", "Piczak, ACM MM 2015"),
)
IMDB_PROTOCOL = ("These use the dataset's official split (25,000 training and 25,000 test "
                 "reviews); this run trains on 40,000 and tests on 5,000 of the same 50,000 "
                 "reviews, split at random as the assignment asks, so the numbers are context, "
                 "not a like-for-like comparison.")
ESC_PROTOCOL = ("These are means over ESC-50's five predefined folds (five-fold "
                "cross-validation); the assignment tests on fold 5 only (80 clips, 1.25 points "
                "per clip). The like-for-like number of this run is its five-fold "
                "cross-validation, in the part beyond the assignment.")
_IMDB_PARTS = ("q1b", "q1c", "q1d")


def _imdb_rows(results: Results) -> list[list[str]]:
    """This run's IMDB test accuracies beside the published ones."""
    rows = []
    ids = dict.fromkeys(i for part in registry.PARTS if part.key in _IMDB_PARTS
                        for i in part.experiment_ids)
    for exp_id in ids:
        doc = results.docs.get(exp_id, {})
        if isinstance(doc.get("test_accuracy"), (int, float)):
            rows.append([f"this run: {exp_id}",
                         percent(doc["test_accuracy"], doc.get("test_accuracy_std"), digits=2),
                         "5,000 test reviews of the assignment's split"])
    return rows


def context_blocks(results: Results) -> list[Block]:
    """The published IMDB and ESC-10 results with their protocols."""
    imdb = [list(r) for r in IMDB_PUBLISHED] + _imdb_rows(results)
    return [
        Heading("Published results, for context", 1, anchor="published"),
        Table(["IMDB sentiment", "test accuracy", "source"], imdb,
              caption="IMDB: published accuracies and this run's."),
        Paragraph(IMDB_PROTOCOL, "note"),
        Table(["ESC-10", "accuracy", "source"], [list(r) for r in ESC10_PUBLISHED],
              caption="ESC-10: published five-fold accuracies."),
        Paragraph(ESC_PROTOCOL, "note"),
    ]
