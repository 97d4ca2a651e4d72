"""Experiments that need a GPU or a checkout: run from the repository root (`python -m experiments.X`); not part of
the installed package."""
