"""The emulator of Entra ID, Microsoft Graph and the Office host: test and demo equipment.

The production package never imports it (an import-linter contract), and the wheel leaves it
out: it issues tokens for anyone and carries the demo's secret.
"""
