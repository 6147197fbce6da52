"""Benchmarks: each ``bench_*.py`` runs on its own (``python -m benchmarks.bench_x``)."""
