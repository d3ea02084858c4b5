"""Benchmark suites, references and results (filled in by the benchmark harness)."""
