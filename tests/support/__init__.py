"""Code the tests share that is not a fixture: live-server handles, launchers and helpers."""
