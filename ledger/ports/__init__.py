"""Ports: what the use cases need from storage. No driver imported here."""
