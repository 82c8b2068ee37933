"""The fast lane: the backend in this process on loopback, against a fresh emulator world."""
