"""Every experiment id, defined once: the name of its results folder ``<out>/<id>/``.

An id names the question and part, then what was trained (``q1b-lstm-avg`` is Q1(b)'s LSTM with
average pooling; an ``x`` marks work beyond the assignment). Code that needs an id imports its
constant from here; the registry (:mod:`mlsplab.experiments.registry`) says which step writes
it and which part of the report reads it. Imports nothing.
"""

from __future__ import annotations

# --- Q1(a): word embeddings
Q1A_EMBEDDINGS = "q1a-embeddings"

# --- Q1(b-d): the three IMDB networks, the baseline and their comparison
Q1B_LSTM_AVG = "q1b-lstm-avg"
Q1C_LSTM_ATTENTION = "q1c-lstm-attention"
Q1D_TRANSFORMER = "q1d-transformer"
Q1_TFIDF_BASELINE = "q1-tfidf-baseline"
Q1_COMPARISON = "q1-comparison"

# --- beyond Q1
Q1X_NBSVM = "q1x-nbsvm"
Q1X_ENSEMBLE = "q1x-ensemble"

# --- Q2
Q2_TDNN = "q2-tdnn"

# --- Q3(a): optimizers
Q3A_SGD = "q3a-sgd"
Q3A_SGD_MOMENTUM = "q3a-sgd-momentum"
Q3A_RMSPROP = "q3a-rmsprop"
Q3A_RMSPROP_LR1E3 = "q3a-rmsprop-lr1e-3"
Q3A_ADAM = "q3a-adam"

# --- Q3(b): normalization
Q3B_NONE = "q3b-none"
Q3B_LAYERNORM = "q3b-layernorm"
Q3B_BATCHNORM = "q3b-batchnorm"

# --- Q3(c): ensembles
Q3C_ENSEMBLE = "q3c-ensemble"

# --- beyond Q3
Q3X_AUGMENTED = "q3x-augmented"
Q3X_ENSEMBLE = "q3x-ensemble"
Q3X_CV = "q3x-cv"
Q3X_DEEP_CNN = "q3x-deep-cnn"
Q3_BEYOND_IDS = (Q3X_AUGMENTED, Q3X_ENSEMBLE, Q3X_CV)  # the "Beyond Q3" part's results

# --- Q4
Q4_CONV_DENSE = "q4-conv-dense"

# --- written by commands other than reproduce, read by a step or the report: `mlsplab bench
# sentiment` times the three IMDB models under the same conditions (q1-comparison copies its
# numbers); `mlsplab esc10 --pilot` records the curves behind Q3's epoch horizon
BENCH_SENTIMENT = "bench-sentiment"
Q3_PILOT = "q3-pilot"
