"""Test support: servers and helpers the test suite and the benchmarks share."""
