"""Benchmarks: each `bench_*.py` module measures the harness against a baseline in the same run and
reports ratios (machine speed cancels out). Run all with `make bench`, or one with
`python -m benchmarks significance` (the module name without `bench_`)."""
