"""Provenance: entry bodies (events), the rules that admit them, and the projection they build."""
