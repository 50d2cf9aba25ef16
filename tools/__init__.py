"""Instructor tools (not part of the installed package)."""
