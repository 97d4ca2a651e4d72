"""Benchmark runner, AUP and reports; speed benchmarks of the env live here too."""
