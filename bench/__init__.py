"""Benchmarks: each prints our rate and a baseline's, measured in the same run, as a ratio."""
