"""The full lane: a real Chromium driving the pane."""
