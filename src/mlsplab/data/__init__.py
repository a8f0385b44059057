"""Data layer: where data files live, safe archive reading, downloads, and dataset loaders."""
