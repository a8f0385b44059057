"""Q3 (ESC-10): optimizers, normalizations, ensembles, and beyond the assignment."""
