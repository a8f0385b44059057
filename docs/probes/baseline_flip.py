"""Probe of the TF-IDF baseline's choice of C (docs/sentiment.md, "Why the choice flipped").

Builds the baseline's features on the full split of seed 0 (float32 as the baseline, and
float64), fits C in {64, 256, 1024, 4096} with liblinear's default tolerance 1e-4 and, for 256
and 1024, with 1e-8, and prints each fit's validation accuracy, solver iterations and a hash of
its validation predictions; it saves the float32 training features and the decision values under
/tmp/flip for comparison between runs. Run it under different numpy SIMD paths and thread counts:

    PYTHONPATH=src OMP_NUM_THREADS=1 python docs/probes/baseline_flip.py default
    PYTHONPATH=src OMP_NUM_THREADS=1 NPY_DISABLE_CPU_FEATURES="AVX512_ICL X86_V4 X86_V3" \
        python docs/probes/baseline_flip.py nosimd f32

(about 3 minutes each on one core). It fits without the one-thread BLAS limit of
experiments/q1/linear.py, as the baseline did before it.
"""

import hashlib
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from mlsplab.data.files import IMDB_ZIP, locate
from mlsplab.data.imdb import load_imdb
from mlsplab.experiments.q1.data import split_rows
from mlsplab.experiments.q1.linear import ngrams
from mlsplab.features.tokenizer import tokenize

OUT = Path("/tmp/flip")
tag = sys.argv[1]
OUT.mkdir(exist_ok=True)
reviews = load_imdb(locate(IMDB_ZIP, None))
rows = split_rows(len(reviews), 0, None)
tokens = {k: [tokenize(reviews.texts[i]) for i in r] for k, r in rows.items()}
y = {k: reviews.labels[r] for k, r in rows.items()}
out = {"tag": tag}
for dtype in (np.float32, np.float64) if len(sys.argv) < 3 else (np.float32,):
    vec = TfidfVectorizer(analyzer=lambda w: ngrams(w, (1, 2)), min_df=2, sublinear_tf=True,
                          dtype=dtype)
    X = {"train": vec.fit_transform(tokens["train"])}
    X["val"] = vec.transform(tokens["val"])
    name = np.dtype(dtype).name
    np.save(OUT / f"{tag}_{name}_train.npy", X["train"].data)
    settings = [(c, 1e-4, 1000) for c in (64.0, 256.0, 1024.0, 4096.0)]
    if dtype is np.float32:
        settings += [(c, 1e-8, 100000) for c in (256.0, 1024.0)]
    for c, tol, max_iter in settings:
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            clf = LogisticRegression(C=c, solver="liblinear", max_iter=max_iter, tol=tol,
                                     random_state=0).fit(X["train"], y["train"])
        d = clf.decision_function(X["val"])
        pred = (d > 0).astype(int)
        key = f"{name} C={c:g} tol={tol:g}"
        out[key] = {"val_acc": float((pred == y["val"]).mean()),
                    "n_iter": int(np.max(clf.n_iter_)),
                    "convergence_warning": bool(caught),
                    "pred_sha": hashlib.sha256(pred.tobytes()).hexdigest()[:12],
                    "seconds": round(time.perf_counter() - t0, 1)}
        np.save(OUT / f"{tag}_{name}_C{c:g}_tol{tol:g}_dec.npy", d)
        print(tag, key, out[key], flush=True)
(OUT / f"{tag}.json").write_text(json.dumps(out, indent=1))
