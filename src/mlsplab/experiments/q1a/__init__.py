"""Q1(a): 100-d word vectors, PCA to 2-D, and the measured clustering of the plotted words.

``config`` (defaults, no heavy imports) -> ``run`` (writes ``q1a-embeddings/metrics.json``:
measurements only) using ``lexicon`` (what kind of word each word is) and ``clusters`` (the
measurements); at report time ``summary`` turns the measurements into the answer and ``figures``
draws the scatter plots. ``cli`` is ``mlsplab embed``.
"""
