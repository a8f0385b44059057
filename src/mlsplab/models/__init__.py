"""Models: one file per model."""
