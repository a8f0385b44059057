"""The pieces every Q3 section of the report shares: labels, status, deviations, settings and
the per-seed and hash tables.

:mod:`.summary` (Q3(a), Q3(b) and the builder of every Q3 part), :mod:`.summary_ensembles`
(Q3(c), beyond Q3), :mod:`.deep_summary` and :mod:`.conclusions` import them from here, so
that none of those modules imports another that imports it back.
"""

from __future__ import annotations

from typing import Any

from mlsplab.experiments.ids import (
    Q3A_ADAM,
    Q3A_RMSPROP_LR1E3,
    Q3A_SGD,
    Q3B_BATCHNORM,
    Q3B_NONE,
    Q3X_AUGMENTED,
)
from mlsplab.experiments.q3.config import MOMENTUM, NORM_NAMES, OPTIMIZER_NAMES
from mlsplab.formatting import count, percent
from mlsplab.report.document import Table

Docs = dict[str, dict[str, Any]]
ASSIGNMENT_SIZES = {"train": 241, "val": 80, "test": 79}
EXTRA = Q3A_RMSPROP_LR1E3  # beside the assignment's RMSprop, labelled as an extra


def present(results: Docs, ids: tuple[str, ...] | list[str]) -> Docs:
    return {i: results[i] for i in ids if i in results}


def label_of(doc: dict[str, Any]) -> str:
    """``SGD``, ``RMSprop (lr 0.001, extra)``, ``Adam/BatchNorm``... for a single config."""
    if "optimizer" not in doc:
        return doc.get("experiment", "?")
    opt = OPTIMIZER_NAMES[doc["optimizer"]]
    if doc.get("experiment") == EXTRA:
        return f"{opt} (lr {doc['lr']:g}, extra)"
    if doc.get("experiment", "").startswith("q3b") or doc["norm"] != "none":
        return f"{opt}/{NORM_NAMES[doc['norm']]}" + (" + augmentation" if doc.get("augment")
                                                      else "")
    return opt


def status_of(docs: Docs, wanted: tuple[str, ...]) -> str:
    """``quick``, ``full`` or ``partial: ...`` for the overview."""
    if any(d.get("quick") for d in docs.values()):
        return "quick"
    missing = [i for i in wanted if i not in docs]
    if missing:
        return f"partial: {len(wanted) - len(missing)} of {len(wanted)} results"
    seeds = {len(d.get("seeds", [])) for d in docs.values() if "seeds" in d}
    return "full" + (f" ({min(seeds)} seed)" if seeds and min(seeds) == 1 else "")


def deviations(docs: Docs) -> list[str]:
    """The deviations from the assignment that apply to these results (each stated once)."""
    doc = next(iter(docs.values()))
    out = []
    if doc.get("quick"):
        out.append(f"quick mode: ESC-10 trainings of {doc.get('epochs')} epochs and one seed, "
                   "to check the pipeline, not the assignment's numbers")
    sizes = doc.get("split_sizes")
    if sizes and sizes != ASSIGNMENT_SIZES:
        out.append(f"ESC-10 split {sizes['train']}/{sizes['val']}/{sizes['test']} clips "
                   "(folds 1\u20133/4/5 of the archive, 80 clips per fold), not the 241/80/79 "
                   "the assignment quotes")
    out.append(f"the assignment fixes neither epochs nor learning rates: every ESC-10 "
               f"configuration trains {doc.get('epochs')} epochs without early stopping "
               "(horizon chosen once from a pilot's validation curves), the lowest-"
               "validation-loss epoch is tested; SGD lr 0.01, RMSprop and Adam at torch's "
               "defaults (0.01, 0.001)")
    out.append("the non-linearity of the two FC-128 layers is not named by the assignment: "
               "ReLU")
    return out


def settings_rows(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """What every Q3 training shares, as run."""
    feat = doc.get("features", {}).get("params", {})
    sizes = doc.get("split_sizes", {})
    features = (f"log-mel, {feat.get('n_mels')} bands x {feat.get('n_frames')} frames, hop "
                f"{feat.get('hop_length')} samples at {feat.get('sr')} Hz, window "
                f"{feat.get('win_length')}, standardised per band on the training folds")
    cnn = ("conv 3x3 (16) -> max-pool 3x3 -> conv 3x3 (16) -> max-pool 3x3 -> flatten 11,232 "
           "-> FC 128 -> FC 128 -> 10, ReLU; norm (when used) at the inputs of the three FC "
           "layers")
    training = (f"batch {doc.get('batch_size')}, {doc.get('epochs')} epochs, no early "
                "stopping; tested at the lowest-validation-loss epoch (and the last); seeds "
                f"{', '.join(map(str, doc.get('seeds', [])))}")
    compute = (f"{', '.join(sorted(set(doc.get('devices', ['?']))))}, "
               f"{count(doc['threads'][0], 'thread') if doc.get('threads') else '? threads'} per "
               f"training, executor {doc.get('executor', 'serial')}")
    split = (f"folds 1-3 / 4 / 5: {sizes.get('train')} / {sizes.get('val')} / "
             f"{sizes.get('test')} clips")
    return [("ESC-10 features", features), ("ESC-10 CNN", cnn), ("ESC-10 split", split),
            ("ESC-10 training", training), ("ESC-10 compute", compute)]


def optimizer_text(doc: dict[str, Any]) -> str:
    """The optimizer's settings as recorded from torch."""
    s = doc.get("optimizer_settings", {})
    opt = doc.get("optimizer")
    if opt == "rmsprop":
        return (f"lr {s.get('lr', doc['lr']):g}, alpha {s.get('alpha')}, eps {s.get('eps')}, "
                f"momentum {s.get('momentum')}")
    if opt == "adam":
        return f"lr {s.get('lr', doc['lr']):g}, betas {tuple(s.get('betas', ()))}, eps " \
               f"{s.get('eps')}"
    if opt == "sgd-momentum":
        return f"lr {s.get('lr', doc['lr']):g}, momentum {s.get('momentum', MOMENTUM)}"
    return f"lr {s.get('lr', doc['lr']):g}"


def per_seed_table(docs: Docs, caption: str) -> Table:
    """Every training of these configurations: scores at the best and the last epoch."""
    rows = []
    for d in docs.values():
        for i, seed in enumerate(d.get("seeds", [])):
            rows.append([label_of(d), str(seed), str(d["best_epochs"][i]),
                         percent(d["val_accuracy_per_seed"][i]),
                         percent(d["test_accuracy_per_seed"][i]),
                         percent(d["test_accuracy_last_per_seed"][i]),
                         f"{d['train_seconds_per_seed'][i]:.0f}", d["hosts"][i]])
    return Table(["configuration", "seed", "best epoch", "val acc (best)", "test acc (best)",
                  "test acc (last)", "train s", "host"], rows, caption=caption)


SHARED_FROM = (Q3A_ADAM, Q3B_NONE, Q3A_SGD, Q3B_BATCHNORM, Q3X_AUGMENTED)


def shared_settings(results: Docs) -> list[tuple[str, str]]:
    """The features, CNN, split and training every Q3 part shares, read from one result so
    that the appendix's settings table states them once for all the parts they apply to."""
    doc = next((results[i] for i in SHARED_FROM if i in results), None)
    return settings_rows(doc)[:4] if doc is not None else []


def hashes_table(docs: Docs) -> Table:
    rows = [[i, d.get("config_hash", ""), (d.get("data") or {}).get("sha256", "")[:16]]
            for i, d in docs.items()]
    return Table(["result", "config hash", "archive sha256 (first 16)"], rows,
                 caption="Configuration hashes of the results and the archive they used.")
