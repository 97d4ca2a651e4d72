"""The task model, the bottom layer: a task's schema and loading, the paths inside it, MLGym's facts table,
the bank's manifest and validation reports, task references and selections. It imports nothing of SynthML's
above it, so every other layer can read tasks."""
