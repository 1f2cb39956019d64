"""Benchmarks: what the app costs in calls, time, storage and memory, measured on the sandbox in one run."""
