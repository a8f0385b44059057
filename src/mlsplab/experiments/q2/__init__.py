"""Q2: a time-delay neural network's parameter count and backpropagation, checked numerically.

``config`` (defaults) -> ``run`` (writes ``<out>/q2-tdnn/metrics.json``: measurements only) ->
``summary`` with ``equations`` and ``figures`` (the report's Q2 section, built at report time).
``cli`` is ``mlsplab tdnn``.
"""
