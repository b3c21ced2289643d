"""The producer's journey through the console in Chromium, as reusable steps.

Each step drives the real pages (tests/console/test_console_browser.py: a live server, a
person with Chromium's virtual WebAuthn authenticator) and returns what the next step or
an assertion needs, so a joined producer -> seller journey can call them in order:

    producer, key_id, backup = onboard_producer(live, operator, actor="fishsauce-vn",
                                                prefixes="893000")
    create_product(producer, live, gtin=GTIN13, name_vi="Nước mắm", name_en="Fish sauce")
    import_serials(producer, live, csv_path)               # 1,000 serials, signed in the page
    pdf = print_sheet(producer, live, gtin=GTIN, lot="L2611", expiry="271231",
                      first="FS000001", count=40, fmt="pdf")
    ship_to(producer, live, shipment="SHIP-1", to="shop-hanoi", gtin=GTIN,
            first="FS000001", count=10)
    recall_lot(producer, live, gtin=GTIN, lot="L2611", reason=reason, contact=contact)

``shot`` names go to docs/img/console-producer-<name>.png when given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.console.test_console_browser import Live, Person, make_key, passkey_join, person, shot

__all__ = [
    "check_import_file",
    "commission_batch",
    "create_product",
    "import_serials",
    "invite",
    "onboard_producer",
    "print_sheet",
    "recall_lot",
    "ship_to",
    "sign_form",
]


def _shot(page: Any, name: str) -> None:
    if name:
        shot(page, f"producer-{name}")


def invite(operator: Person, live: Live, role: str, actor: str, name: str) -> str:
    """The operator invites from the console; the one-time link."""
    page = operator.page
    page.goto(f"{live.base}/console/operator/invites")
    page.select_option("#f-role", role)
    page.fill("#f-actor_id", actor)
    page.fill("#f-invite-name", name)
    page.locator("#invite button[type=submit]").click()
    page.locator("#invite-link:not(:empty)").wait_for()
    link: str = page.locator("#invite-link").inner_text()
    return link


def onboard_producer(
    live: Live, operator: Person, *, actor: str, prefixes: str, name: str = "", picture: str = ""
) -> tuple[Person, str, Path]:
    """Invited by the operator, signs in with a passkey, makes its key in the browser, gets
    approved with its GS1 company prefixes. (person, key id, encrypted backup file)."""
    link = invite(operator, live, "producer", actor, name or actor)
    producer = person(live)
    passkey_join(producer, link)
    key_id, backup = make_key(producer, live, actor)
    page = operator.page
    page.goto(f"{live.base}/console/operator/accounts")
    card = page.locator("article.account", has=page.locator(f"h2:text-is('{actor}')"))
    card.locator("input[name=prefixes]").fill(prefixes)
    card.locator("form.approve button[type=submit]").click()
    page.wait_for_load_state("load")
    card = page.locator("article.account", has=page.locator(f"h2:text-is('{actor}')"))
    card.locator("dd.status:text-is('active')").wait_for()
    producer.page.goto(f"{live.base}/console/")
    _shot(producer.page, picture)
    return producer, key_id, backup


def create_product(
    who: Person,
    live: Live,
    *,
    gtin: str,
    name_vi: str,
    name_en: str,
    image: Path | None = None,
    picture: str = "",
) -> None:
    """Type the GTIN (the page checks its digit as it is typed), the names and a picture;
    save; the product is listed."""
    page = who.page
    page.goto(f"{live.base}/console/producer/products")
    wrong = gtin[:-1] + str((int(gtin[-1]) + 1) % 10)
    page.fill("#f-product-gtin", wrong)
    page.locator("#gtin-check[data-state=bad]").wait_for()
    assert f"should be {gtin[-1]}" in page.locator("#gtin-check").inner_text()
    page.fill("#f-product-gtin", gtin)
    page.locator("#gtin-check[data-state=ok]").wait_for()
    page.fill("#f-product-name-vi", name_vi)
    page.fill("#f-product-name-en", name_en)
    if image is not None:
        page.set_input_files("#f-product-image", str(image))
    page.locator("#product-form button[type=submit]").click()
    article = page.locator(f"article.product[data-gtin='{gtin.zfill(14)}']")
    article.wait_for()
    assert name_vi in article.inner_text() and name_en in article.inner_text()
    _shot(page, picture)


def check_import_file(who: Person, live: Live, path: Path) -> dict[str, Any]:
    """Upload a file and wait for its report: {state, rows: [[row, column, message]...]}."""
    page = who.page
    page.goto(f"{live.base}/console/producer/batches")
    page.set_input_files("#f-import-file", str(path))
    page.locator("#import-form button[type=submit]").click()
    page.locator("#import-form[data-state]").wait_for()
    rows = page.evaluate(
        "() => [...document.querySelectorAll('#import-report tbody tr')]"
        ".map(tr => [...tr.cells].map(td => td.textContent))"
    )
    return {"state": page.locator("#import-form").get_attribute("data-state"), "rows": rows}


def import_serials(who: Person, live: Live, path: Path, *, picture: str = "") -> int:
    """Upload a good file, confirm: the browser signs each commissioning and submits it,
    with progress (a products file: each product is saved). The number of rows recorded."""
    report = check_import_file(who, live, path)
    assert report["state"] == "ok", report
    page = who.page
    page.locator("#import-confirm").click()
    page.locator("#import-form[data-done]").wait_for(timeout=60_000)
    progress = page.locator("#import-progress")
    assert progress.get_attribute("max") == progress.evaluate("p => String(p.value)")
    _shot(page, picture)
    return int(page.locator("#import-form").get_attribute("data-done") or 0)


def print_sheet(
    who: Person,
    live: Live,
    *,
    gtin: str,
    lot: str,
    expiry: str,
    first: str,
    count: int,
    fmt: str = "pdf",
    picture: str = "",
) -> bytes:
    """The browser signs ``count`` codes from ``first``; the server verifies them and renders
    the sheet in the background; the page shows progress; the sheet is downloaded."""
    page = who.page
    page.goto(f"{live.base}/console/producer/labels")
    page.select_option("#f-labels-gtin", gtin)
    page.fill("#f-labels-lot", lot)
    page.fill("#f-labels-expiry", expiry)
    page.fill("#f-labels-first", first)
    page.fill("#f-labels-count", str(count))
    page.select_option("#f-labels-format", fmt)
    page.locator("#labels-form button[type=submit]").click()
    page.locator("#labels-form[data-job], #labels-form .out.bad").first.wait_for(timeout=120_000)
    failed = page.locator("#labels-form .out.bad")
    assert failed.count() == 0, failed.inner_text()
    bar = page.locator("#sheet-progress")
    assert bar.evaluate("p => p.value === p.max && p.max > 0")
    _shot(page, picture)
    with page.expect_download() as download:
        page.locator("#sheet-link").click()
    saved = live.tmp / f"sheet-{gtin}-{first}-{count}.{fmt}"
    download.value.save_as(str(saved))
    return saved.read_bytes()


def sign_form(who: Person, form: str, *, picture: str = "") -> int:
    """Review a ``data-sign`` form's entry, then sign and submit it; the log index."""
    page = who.page
    page.locator(f"#{form} button[data-review]").click()
    page.locator(f"#{form} .review:not([hidden]), #{form} .out.bad").first.wait_for()
    bad = page.locator(f"#{form} .out.bad")
    assert bad.count() == 0, bad.inner_text()
    _shot(page, picture)
    index = page.evaluate(
        """async (id) => {
            document.querySelector('#' + id + ' .review button[type=submit]').click();
            for (let i = 0; i < 400; i++) {
                const f = document.getElementById(id);
                if (f.dataset.index) return f.dataset.index;
                const out = f.querySelector('.out');
                if (out.classList.contains('bad')) throw new Error(out.textContent);
                await new Promise(r => setTimeout(r, 50));
            }
            throw new Error('no answer');
        }""",
        form,
    )
    return int(index)


def commission_batch(
    who: Person,
    live: Live,
    *,
    gtin: str,
    lot: str,
    expiry: str,
    first: str,
    count: int,
    picture: str = "",
) -> int:
    """``event.commission`` of a serial range, reviewed and signed in the page; the index."""
    page = who.page
    page.goto(f"{live.base}/console/producer/batches")
    page.select_option("#f-commission-gtin", gtin)
    page.fill("#f-commission-lot", lot)
    page.fill("#f-commission-expiry", expiry)
    page.fill("#f-commission-first", first)
    page.fill("#f-commission-count", str(count))
    return sign_form(who, "commission", picture=picture)


def ship_to(
    who: Person,
    live: Live,
    *,
    shipment: str,
    to: str,
    gtin: str,
    first: str,
    count: int,
    picture: str = "",
) -> int:
    """``event.ship`` of ``count`` items from ``first``, signed in the page; the log index."""
    page = who.page
    page.goto(f"{live.base}/console/producer/ship")
    page.fill("#f-ship-shipment", shipment)
    page.fill("#f-ship-to", to)
    page.select_option("#f-ship-gtin", gtin)
    page.fill("#f-ship-first", first)
    page.fill("#f-ship-count", str(count))
    return sign_form(who, "ship", picture=picture)


def recall_lot(
    who: Person,
    live: Live,
    *,
    gtin: str,
    lot: str,
    reason: str,
    contact: str,
    picture: str = "",
) -> int:
    """``event.recall`` of a lot with a reason and a contact, signed in the page."""
    page = who.page
    page.goto(f"{live.base}/console/producer/ship")
    page.select_option("#f-recall-gtin", gtin)
    page.fill("#f-recall-lot", lot)
    page.fill("#f-recall-reason", reason)
    page.fill("#f-recall-contact", contact)
    return sign_form(who, "recall", picture=picture)
