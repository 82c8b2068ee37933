"""The benchmark: Tandem against the direct Graph call it wraps (`python -m bench`; README)."""
