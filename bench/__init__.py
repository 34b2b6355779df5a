"""Benchmarks: each measures a platform mechanism beside the raw building blocks it is made of, same run."""
