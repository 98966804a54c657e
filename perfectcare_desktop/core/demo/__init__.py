"""Synthetic people and plans for demos and benchmarks (never real data)."""
