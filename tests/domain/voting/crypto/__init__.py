"""Tests of the Belenios-compatible cryptography (and interop with belenios-tool)."""
