"""The report: reads metrics.json files only; never recomputes a number."""
