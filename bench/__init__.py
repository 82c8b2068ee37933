"""The benchmark: Tandem against the direct Graph call it wraps (docs/performance.md)."""
