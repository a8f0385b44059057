"""Q4: a CNN layer against a dense layer (cost and memory), and each as the other.

``config`` (defaults) -> ``run`` (writes ``<out>/q4-conv-dense/metrics.json``: measurements
only; the ESC-10 layers come from :class:`mlsplab.models.esc_cnn.EscCnnConfig` via ``esc``) ->
``summary`` with ``equations`` and ``figures`` (the report's Q4(i) and Q4(ii) sections).
``cli`` is ``mlsplab convdense``.
"""
