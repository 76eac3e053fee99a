"""Metrics collection: the figures of published posts, read on a schedule and kept as snapshots."""
