"""Benchmarks: latency, throughput, memory and retrieval quality (see bench/README.md)."""
