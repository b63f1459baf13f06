"""Evaluation sets, scorer and benchmark: `python -m evals run|fusion|bench`."""
