"""The fast lane without a server: pure functions, parsers, settings, contracts, properties."""
