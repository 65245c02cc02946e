"""Benchmarks for the survey generator (not tests: nothing here is a timed assertion).

`python -m bench` runs the suite (see docs/performance.md); `python -m bench.corpus` writes a
synthetic corpus of digests built from the shipped ones.
"""
