"""`make bench`: throughput and latency on the real dev server (a benchmark, not a test)."""
