"""Benchmark runner, AUP and reports; the speed benchmarks in `speed/` sit beside them, outside the wheel."""
