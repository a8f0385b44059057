"""Experiments: each composes data, features, models and the trainer, and writes
``<out>/<id>/metrics.json`` plus its figures."""
