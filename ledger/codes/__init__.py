"""Codes: GS1 and Digital Link, item ids, EPC, signed codes, trust bundles."""
