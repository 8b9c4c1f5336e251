"""Helpers for tests and benchmarks that need a real broker: no mocks here, only real processes."""
