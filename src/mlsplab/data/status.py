"""``mlsplab data``: which data files are present, where, whether they pass their content checks,
and how to get a missing one; ``mlsplab data build-unsup`` makes the unlabelled-review file.

Nothing is downloaded here: a missing zip is fetched from the course server on first use by the
command that needs it (unless ``MLSPLAB_OFFLINE`` is set), and the unlabelled reviews are built
from the public archive a user downloads themselves.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

from mlsplab.cli_options import add_data_dir, examples
from mlsplab.data.files import (
    ALL_FILES,
    ENV_DATA_DIR,
    ENV_OFFLINE,
    IMDB_UNSUP,
    DataFile,
    search_dirs,
)
from mlsplab.errors import MlsplabError

ACLIMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
WITHOUT = {  # what a run does when the file is missing
    IMDB_UNSUP.name: "without it, word2vec is pretrained on the training split alone (a warning "
                     "says so, and Q1's numbers differ from the reference run)",
}


@dataclass(frozen=True)
class FileStatus:
    """One data file: where it was found (None: nowhere) and its content check's verdict."""

    spec: DataFile
    path: Path | None
    problem: str | None  # None: the content check passed (or the file is missing)

    @property
    def ok(self) -> bool:
        return self.path is not None and self.problem is None


def how_to_get(spec: DataFile) -> str:
    """One line saying how a user gets ``spec``."""
    if spec is IMDB_UNSUP:
        return (f"download {ACLIMDB_URL} (84 MB) and run `mlsplab data build-unsup --from "
                f"aclImdb_v1.tar.gz`; {WITHOUT[spec.name]}")
    offline = " (it is not: MLSPLAB_OFFLINE is set)" if os.environ.get(ENV_OFFLINE) else ""
    return (f"downloaded from {spec.url} by the first command that needs it, unless "
            f"{ENV_OFFLINE} is set{offline}; or put {spec.how_to_get} in the data folder")


def file_status(spec: DataFile, data_dir: str | os.PathLike | None = None) -> FileStatus:
    """Find ``spec`` where the experiments look for it (never downloading) and check it."""
    for d in search_dirs(data_dir):
        path = d / spec.name
        if path.is_file():
            try:
                spec.check(path)
            except MlsplabError as e:
                return FileStatus(spec, path, str(e))
            return FileStatus(spec, path, None)
    return FileStatus(spec, None, None)


def format_status(statuses: list[FileStatus], data_dir: str | os.PathLike | None) -> str:
    """The report ``mlsplab data`` prints."""
    lines = ["searched, in order: " + ", ".join(str(d) for d in search_dirs(data_dir))]
    for s in statuses:
        if s.path is None:
            lines += [f"MISSING  {s.spec.name}", f"         to get it: {how_to_get(s.spec)}"]
        elif s.problem is not None:
            lines += [f"BAD      {s.spec.name} at {s.path}", f"         {s.problem}",
                      f"         replace it: {how_to_get(s.spec)}"]
        else:
            size = s.path.stat().st_size / 1e6
            lines.append(f"ok       {s.spec.name} at {s.path} ({size:.1f} MB, content check "
                         "passed)")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``mlsplab data`` and ``mlsplab data build-unsup``."""
    add_data_dir(parser)
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    build = sub.add_parser("build-unsup", formatter_class=parser.formatter_class,
                           help=f"make {IMDB_UNSUP.name} from the public aclImdb_v1 archive",
                           description=f"Make {IMDB_UNSUP.name} from aclImdb_v1.tar.gz: its "
                                       "unlabelled reviews, one per line, without the labelled "
                                       "reviews and repeats.")
    build.add_argument("--from", dest="archive", type=Path, required=True, metavar="ARCHIVE",
                       help="aclImdb_v1.tar.gz, downloaded from ai.stanford.edu/~amaas/data/sentiment")
    build.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS, metavar="DIR",
                       help=f"folder to write {IMDB_UNSUP.name} to; none given: "
                            f"${ENV_DATA_DIR}, else ~/.cache/mlsplab")
    build.epilog = examples(
        ("mlsplab data build-unsup --from ~/Downloads/aclImdb_v1.tar.gz",
         f"write {IMDB_UNSUP.name} where the experiments find it"),
    )
    parser.epilog = examples(
        ("mlsplab data", "each data file: where it is, whether it is valid, how to get it"),
        ("mlsplab data --data-dir /mnt/data", "the same, looking in /mnt/data first"),
        ("mlsplab data build-unsup --from aclImdb_v1.tar.gz",
         f"make {IMDB_UNSUP.name} from the public archive"),
    )


def _write_dir(data_dir: Path | None) -> Path:
    if data_dir is not None:
        return data_dir.expanduser()
    if os.environ.get(ENV_DATA_DIR):
        return Path(os.environ[ENV_DATA_DIR]).expanduser()
    return Path.home() / ".cache" / "mlsplab"


def main(args: argparse.Namespace) -> int:
    """Print the data files' status (exit 1 if one is missing or bad), or build one."""
    if args.action == "build-unsup":
        from mlsplab.data.unsup import build_unsup

        s = build_unsup(args.archive, _write_dir(args.data_dir) / IMDB_UNSUP.name)
        print(f"wrote {s.path}: {s.written:,} reviews ({s.unlabelled:,} unlabelled in the "
              f"archive, {s.removed_labelled:,} of them also labelled and {s.removed_repeats:,} "
              "repeats removed)")
        return 0
    statuses = [file_status(spec, args.data_dir) for spec in ALL_FILES]
    print(format_status(statuses, args.data_dir))
    return 0 if all(s.ok for s in statuses) else 1
