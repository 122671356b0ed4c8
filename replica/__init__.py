"""A local stand-in for the Tengzhou portal section, for the demo, the tests and the benchmarks."""
