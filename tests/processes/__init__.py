"""The full lane: tests that start processes (tandem serve, gunicorn, redis-server, the CLI)."""
