"""The fast lane: the emulator alone, as Microsoft's services answer on the wire."""
