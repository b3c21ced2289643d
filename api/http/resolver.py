"""GS1 Digital Link resolver conventions: link types, RFC 9264 linksets, cache headers.

The resolver (``api/http/routes/verify.py``) answers one URL per item (``/01/{gtin}/21/{serial}``)
and per product (``/01/{gtin}``, ``/01/{gtin}/10/{lot}``). This module decides nothing about
items; it names the links a URL offers and renders them the way GS1's resolvers do
(GS1 Digital Link 1.2 / ISO/IEC 18975, as GS1's Resolver CE implements it):

    ?linkType=gs1:pip                  the product information page (the HTML viewer)
    ?linkType=gs1:verificationService  the verdict JSON (items) or product verdict (products)
    ?linkType=gs1:recallStatus         whether the item, its lot or its GTIN is recalled
    ?linkType=gs1:traceability         the item's custody record in the ledger (items only)
    ?linkType=all | linkset            every link, as ``application/linkset+json`` (RFC 9264)

A link type is written ``gs1:pip``, ``pip`` or ``https://gs1.org/voc/pip``. A link type the
URL does not offer is a 404 (``link_type_not_offered``), as Resolver CE answers since it
stopped sending the default link for one it lacks. Every answer carries a ``Link`` header
(RFC 8288) naming the linkset and each link, so a client learns them from ``HEAD`` alone.

Caching: an answer that depends on nothing but the URL and the log (no context parameter,
no API key) is ``public`` for ``MAX_AGE_S`` seconds with an ``ETag`` that names the log size,
the representation, the language and a digest of the body; ``If-None-Match`` gets a 304. An
answer for a request context (``platform``/``stream``/``listing``/``seller``/``n``
parameters, an ``X-API-Key``) is ``private, no-store``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ALL",
    "CONTEXT_PARAMETERS",
    "LINKSET_JSON",
    "MAX_AGE_S",
    "PIP",
    "RECALL",
    "TRACEABILITY",
    "VARY",
    "VERIFICATION",
    "Link",
    "cache_control",
    "entity_tag",
    "item_links",
    "link_header",
    "link_type_of",
    "linkset",
    "linkset_href",
    "not_modified",
    "product_links",
]

VOC = "https://gs1.org/voc/"
LINKSET_JSON = "application/linkset+json"
ALL = "all"  # ``linkType=all`` and ``linkType=linkset``: the whole linkset
#: How long a shared cache may serve a context-free answer without asking again: the
#: longest a viewer may see a verdict the log has since changed (a recall, docs/threat-model.md).
MAX_AGE_S = 30
VARY = "Accept, Accept-Language, X-API-Key"
#: Query parameters that make an answer depend on the request's context (docs/api.md).
CONTEXT_PARAMETERS = frozenset({"platform", "stream", "listing", "seller", "n"})
_LINK_TYPE_PARAMETERS = ("linkType", "linktype")
_MAX_LINK_TYPE = 128

PIP = "pip"
VERIFICATION = "verificationService"
RECALL = "recallStatus"
TRACEABILITY = "traceability"
DEFAULT = "defaultLink"


@dataclass(frozen=True, slots=True)
class Link:
    """One link of a linkset: its GS1 link type (``pip``), target and target attributes."""

    link_type: str
    href: str
    title: str
    type: str
    hreflang: tuple[str, ...] = ("en",)

    @property
    def rel(self) -> str:
        return VOC + self.link_type

    def target(self) -> dict[str, Any]:
        """The RFC 9264 target object."""
        return {
            "href": self.href,
            "title": self.title,
            "type": self.type,
            "hreflang": list(self.hreflang),
        }


def link_type_of(params: Mapping[str, str]) -> str | None:
    """The link type a query asks for (``pip``, ``all``, ...), None when it asks none.

    ``linkType`` (the standard's spelling) or ``linktype`` (Resolver CE's tests); the value
    ``gs1:X``, ``X`` or ``https://gs1.org/voc/X``; ``all`` and ``linkset`` mean the linkset."""
    value = next((params[p] for p in _LINK_TYPE_PARAMETERS if p in params), None)
    if value is None:
        return None
    value = value.strip()[:_MAX_LINK_TYPE]
    for prefix in ("gs1:", VOC, VOC.replace("https:", "http:")):
        if value.startswith(prefix):
            return value[len(prefix) :]
    return ALL if value.lower() in ("all", "linkset") else value


def _with_link_type(base: str, query: str, link_type: str) -> str:
    """``base`` with the raw ``query`` as printed (the code's own attributes, such as its
    signature, stay byte for byte) and ``linkType`` set to ``link_type``."""
    kept = [p for p in query.split("&") if p and p.split("=")[0] not in _LINK_TYPE_PARAMETERS]
    return base + "?" + "&".join([*kept, f"linkType={link_type}"])


def linkset_href(url: str, query: str) -> str:
    """The URL of the linkset of ``url`` (``?linkType=linkset``)."""
    return _with_link_type(url, query, "linkset")


def _common(url: str, query: str, *, what: str) -> list[Link]:
    return [
        Link(
            PIP,
            _with_link_type(url, query, "gs1:pip"),
            f"Tracemark: the {what}'s verdict and provenance",
            "text/html",
            ("en", "vi"),
        ),
        Link(
            VERIFICATION,
            _with_link_type(url, query, "gs1:verificationService"),
            f"Tracemark: the {what}'s verdict (JSON)",
            "application/json",
        ),
        Link(
            RECALL,
            _with_link_type(url, query, "gs1:recallStatus"),
            f"Tracemark: is the {what} recalled (JSON)",
            "application/json",
        ),
    ]


def item_links(url: str, query: str, *, record: str | None = None) -> list[Link]:
    """The links of an item URL (``url`` without its query); ``record``, the item's ledger
    record (``/v1/items/...``) when the code names an item the ledger knows."""
    links = _common(url, query, what="item")
    if record is not None:
        links.append(
            Link(
                TRACEABILITY,
                record,
                "Tracemark: the item's custody record in the public ledger",
                "application/json",
            )
        )
    return links


def product_links(url: str, query: str) -> list[Link]:
    """The links of a product URL (a GTIN, perhaps with a lot)."""
    return _common(url, query, what="product")


def linkset(anchor: str, links: Iterable[Link], *, description: str = "") -> dict[str, Any]:
    """The RFC 9264 JSON linkset of one anchor, GS1 style: one member per link relation
    (the GS1 vocabulary URI), the default link (``gs1:pip``) under ``.../defaultLink``."""
    context: dict[str, Any] = {"anchor": anchor}
    if description:
        context["itemDescription"] = description
    for link in links:
        context.setdefault(link.rel, []).append(link.target())
        if link.link_type == PIP:
            context[VOC + DEFAULT] = [link.target()]
    return {"linkset": [context]}


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def link_header(links: Iterable[Link], linkset_href: str) -> str:
    """The RFC 8288 ``Link`` header: the linkset (``rel="linkset"``), then each link."""
    parts = [f'<{linkset_href}>; rel="linkset"; type="{LINKSET_JSON}"']
    for link in links:
        rels = link.rel + (" " + VOC + DEFAULT if link.link_type == PIP else "")
        parts.append(
            f'<{link.href}>; rel="{rels}"; type="{link.type}"; '
            f"hreflang={_quoted(','.join(link.hreflang))}; title={_quoted(link.title)}"
        )
    return ", ".join(parts)


def entity_tag(log_size: int, representation: str, language: str, body: bytes) -> str:
    """A weak ETag naming what the answer depends on: the log size it was read at, the
    representation and language, and a digest of the body (scan records outside the log
    can change a verdict between appends)."""
    digest = hashlib.sha256(body).hexdigest()[:16]
    return f'W/"{log_size}-{representation}-{language}-{digest}"'


def not_modified(if_none_match: str | None, etag: str) -> bool:
    """Does ``If-None-Match`` name ``etag`` (weak comparison, RFC 9110 section 13.1.2)?"""
    if not if_none_match:
        return False
    wanted = etag.removeprefix("W/")
    for part in if_none_match[:4096].split(","):
        candidate = part.strip()
        if candidate == "*" or candidate.removeprefix("W/") == wanted:
            return True
    return False


def cache_control(*, private: bool) -> str:
    """``Cache-Control`` of a resolver answer (see the module docstring)."""
    if private:
        return "private, no-store"
    return f"public, max-age={MAX_AGE_S}, must-revalidate"
