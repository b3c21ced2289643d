"""The seller's console journey in Chromium, as reusable steps (a joined producer -> seller
journey calls them after the producer ships): onboard_seller, receive_all, declare_listing,
declare_session, open_overlay, copy_chat_link. Each drives the real pages the way a person does: the
browser makes the key, reviews every field and signs in the page."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.console.test_console_browser import (
    PHONE,
    Live,
    Person,
    approve,
    make_key,
    passkey_join,
    person,
    shot,
)

__all__ = [
    "Seller",
    "close_listing",
    "copy_chat_link",
    "declare_listing",
    "declare_session",
    "onboard_seller",
    "open_overlay",
    "receive_all",
    "sign_in_page",
]


@dataclass
class Seller:
    who: Person
    actor: str
    key_id: str
    backup: Path

    @property
    def page(self) -> Any:
        return self.who.page


def sign_in_page(page: Any, form: str) -> int:
    """Review the ``data-sign`` form ``form`` (a CSS selector), check the summary names the
    entry type, sign and submit it; the log index the server answered."""
    kind = page.locator(form).get_attribute("data-sign")
    page.locator(f"{form} button[data-review]").click()
    summary = page.locator(f"{form} .summary")
    summary.wait_for()
    assert kind in summary.inner_text()
    return int(
        page.evaluate(
            """async (selector) => {
                const f = document.querySelector(selector);
                f.querySelector('.review button[type=submit]').click();
                for (let i = 0; i < 300; i++) {
                    if (f.dataset.index) return f.dataset.index;
                    const out = f.querySelector('.out');
                    if (out.classList.contains('bad')) throw new Error(out.textContent);
                    await new Promise(r => setTimeout(r, 50));
                }
                throw new Error('no answer');
            }""",
            form,
        )
    )


def onboard_seller(
    live: Live,
    operator: Person,
    actor: str,
    handle: str,
    name: str = "",
    *,
    pictures: bool = False,
) -> Seller:
    """The operator invites a seller (actor id and platform handle) from the console; the
    seller accepts with a passkey, its browser makes its key; the operator records an
    identity check (document) and approves: ``actor.register`` with the browser's key."""
    page = operator.page
    page.goto(f"{live.base}/console/operator/invites")
    page.select_option("#f-role", "seller")
    page.fill("#f-actor_id", actor)
    page.fill("#f-invite-name", name or actor)
    page.fill("#f-handle", handle)
    page.locator("#invite button[type=submit]").click()
    page.locator("#invite-link:not(:empty)").wait_for()
    link = page.locator("#invite-link").inner_text()

    who = person(live, PHONE)
    passkey_join(who, link)
    key_id, backup = make_key(who, live, actor)

    page.goto(f"{live.base}/console/operator/accounts")
    card = page.locator("article.account", has=page.locator(f"h2:text-is('{actor}')"))
    card.locator("details summary").click()
    card.locator("select[name=level]").select_option("document")
    card.locator("textarea[name=note]").fill("business licence and ID card seen")
    card.locator("form.identity button[type=submit]").click()
    page.wait_for_load_state("load")
    card = page.locator("article.account", has=page.locator(f"h2:text-is('{actor}')"))
    card.locator("dd.level:text-is('document')").wait_for()
    approve(operator, live, actor)
    if pictures:
        who.page.goto(f"{live.base}/console/")
    return Seller(who, actor, key_id, backup)


def receive_all(seller: Seller, live: Live, picture: str = "") -> list[int]:
    """Receive every inbound shipment on the shipments screen; the log indexes."""
    page = seller.page
    done: list[int] = []
    while True:
        page.goto(f"{live.base}/console/seller/shipments")
        forms = page.locator("form.recv")
        if forms.count() == 0:
            page.locator("#no-shipments").wait_for()
            return done
        first = forms.first.get_attribute("id")
        if picture and not done:
            page.locator(f"[id='{first}'] button[data-review]").click()
            page.locator(f"[id='{first}'] .summary").wait_for()
            shot(page, picture)
        done.append(sign_in_page(page, f"[id='{first}']"))


def declare_listing(
    seller: Seller,
    live: Live,
    *,
    platform: str,
    listing_id: str,
    gtin: str,
    quantity: int = 0,
    serials: tuple[str, ...] = (),
    stream: str = "",
    picture: str = "",
) -> int:
    """Declare a listing on the listings screen (a quantity, or exact item ids)."""
    page = seller.page
    page.goto(f"{live.base}/console/seller/listings")
    form = page.locator("#listing-declare")
    form.locator("select[name=platform]").select_option(platform)
    page.fill("#f-listing_id", listing_id)
    form.locator("select[name=gtin]").select_option(gtin)
    if quantity:
        page.fill("#f-quantity", str(quantity))
    if serials:
        page.fill("#f-serials", "\n".join(serials))
    if stream:
        page.fill("#f-l-stream", stream)
    if picture:
        form.locator("button[data-review]").click()
        form.locator(".summary").wait_for()
        shot(page, picture)
    return sign_in_page(page, "#listing-declare")


def declare_session(
    seller: Seller,
    live: Live,
    *,
    platform: str,
    session_id: str,
    stream_id: str,
    listings: tuple[str, ...],
    picture: str = "",
) -> int:
    """Declare a stream session (a segment with its stream id) showing ``listings``."""
    page = seller.page
    page.goto(f"{live.base}/console/seller/listings")
    form = page.locator("#stream-declare")
    form.locator("select[name=platform]").select_option(platform)
    page.fill("#f-session_id", session_id)
    page.fill("#f-s-stream", stream_id)
    for listing in listings:
        form.locator(f"input[name=listings][value='{listing}']").check()
    index = sign_in_page(page, "#stream-declare")
    if picture:
        page.goto(f"{live.base}/console/seller/listings")
        shot(page, picture)
    return index


def open_overlay(
    seller: Seller,
    live: Live,
    *,
    platform: str,
    listing_id: str,
    stream: str,
    pos: str = "br",
    layout: str = "corner",
    picture: str = "",
) -> tuple[str, str]:
    """Pick the listing, stream, layout and corner on the overlay screen, wait for the live
    preview (the framed overlay shows its QR, placed as chosen), copy the address; (address
    shown, what was copied)."""
    page = seller.page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.base)
    page.goto(f"{live.base}/console/seller/overlay")
    page.select_option("#f-o-listing", f"{platform}:{listing_id}")
    page.fill("#f-o-stream", stream)
    page.select_option("#f-o-layout", layout)
    page.select_option("#f-o-pos", pos)
    page.locator("#overlay-pick button[type=submit]").click()
    page.locator("#overlay-url").wait_for()
    frame = page.frame_locator("#overlay-preview")
    frame.locator("#qr-path").wait_for()
    frame.locator(f"#panel.p-{pos}" if layout == "corner" else f"#panel.l-{layout}").wait_for()
    url = page.locator("#overlay-url").input_value()
    page.locator("#copy-url").click()
    page.locator("#copy-out:not(:empty)").wait_for()
    assert page.locator("#copy-out").get_attribute("data-how") == "clipboard"
    copied: str = page.evaluate("() => navigator.clipboard.readText()")
    if picture:
        shot(page, picture)
    return url, copied


def copy_chat_link(seller: Seller, picture: str = "") -> tuple[str, str, str]:
    """On the overlay screen open_overlay left: (the short code shown on the screen, the code
    the framed overlay preview shows, the chat link the seller's copy button put on the
    clipboard)."""
    page = seller.page
    frame = page.frame_locator("#overlay-preview")
    frame.locator("#short:not([hidden]) #code").wait_for()
    in_preview = frame.locator("#code").inner_text()
    on_screen = page.locator("#short-code").inner_text()
    page.locator("#copy-chat").click()
    page.locator("#copy-chat-out:not(:empty)").wait_for()
    assert page.locator("#copy-chat-out").get_attribute("data-how") == "clipboard"
    copied: str = page.evaluate("() => navigator.clipboard.readText()")
    if picture:
        shot(page, picture)
    return on_screen, in_preview, copied


def close_listing(seller: Seller, live: Live, *, platform: str, listing_id: str) -> int:
    """Close one of the seller's open listings from its card on the listings screen."""
    page = seller.page
    page.goto(f"{live.base}/console/seller/listings")
    index = sign_in_page(page, f"[id='close-{platform}:{listing_id}']")
    page.goto(f"{live.base}/console/seller/listings")
    page.locator(f"article.listing[data-listing='{platform}:{listing_id}']"
                 "[data-status='closed']").wait_for()  # fmt: skip
    return index
