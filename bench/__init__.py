"""Tracemark benchmarks: ``python -m bench`` (see bench/README.md).

Each benchmark is one module with a ``run(console, *, repeat, large, ...) -> Result``; every
figure is reported as a ratio to a baseline measured in the same run.
"""
