"""Tests, filed by layer (see CONTRIBUTING.md)."""
