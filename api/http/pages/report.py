"""The page a report form's plain POST answers: thanks (or why it was not sent), and the
way back to the product's page. No script: it works in any browser."""

from __future__ import annotations

from api.http.pages.i18n import text
from api.http.pages.kit import ICONS, esc, page

__all__ = ["render_report_answer"]

_CSS = """
.back{display:inline-block;margin:14px 0 0;padding:10px 14px;border-radius:8px;
background:#1d4ed8;color:#fff;text-decoration:none;font-weight:650}
"""


def render_report_answer(lang: str, *, sent: bool, back: str, message: str = "") -> str:
    """``sent``: the thank-you page; else the refusal with ``message`` (already a sentence
    for a person). ``back``: a path on this server (the product's page), or ""."""
    if sent:
        title, explain, css = (
            text(lang, "report.thanks"),
            text(lang, "report.thanks_explain"),
            "v-genuine",
        )
    else:
        title, explain, css = text(lang, "report.refused"), message, "v-invalid"
    icon = ICONS["genuine" if sent else "invalid"]
    link = (
        f'<a class="back" id="back" href="{esc(back)}">{esc(text(lang, "report.back"))}</a>'
        if back.startswith("/") and not back.startswith("//")
        else ""
    )
    state = "sent" if sent else "refused"
    body = (
        f'<main><header id="verdict" class="banner {css}" data-report="{state}">'
        f"{icon}<div><h1>{esc(title)}</h1><p>{esc(explain)}</p></div></header>"
        f'<section class="card">{link}</section></main>'
    )
    return page(lang=lang, title=title, body=body, css=_CSS)
