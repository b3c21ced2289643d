"""Routes: pages people look at (viewer, overlay). Being written: a minimal viewer for now."""

from __future__ import annotations

import html
from typing import Any

from fastapi import APIRouter

__all__ = ["render_viewer", "router"]

router = APIRouter()


def render_viewer(data: dict[str, Any], language: str) -> str:
    """The viewer page for a verdict (phone-first, no external assets)."""
    status = html.escape(str(data.get("status", "")))
    reasons = "".join(f"<li>{html.escape(r['message'])}</li>" for r in data.get("reasons", []))
    return (
        '<!doctype html><html lang="en"><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Tracemark: {status}</title><h1>{status}</h1><ul>{reasons}</ul></html>"
    )
