"""Rollout pool, trajectory filters, SFT export and verl glue (see the training issues)."""
