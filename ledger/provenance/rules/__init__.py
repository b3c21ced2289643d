"""The rules: who may record what, and what an accepted entry changes."""
