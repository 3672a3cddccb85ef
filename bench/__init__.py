"""Benchmarks for Imago Fed: ratios against a baseline measured in the same run."""
