"""Benchmarks: each module prints a table and, with --json PATH, writes its figures."""
