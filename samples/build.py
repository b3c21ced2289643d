"""Build the sample supply chain into a folder: ``python -m samples.build [--out DIR]``.

What it writes (default ``samples/out/``, git-ignored; ``samples/README.md`` describes it):

    tracemark.db            the SQLite ledger, written through LogService
    keys/*.TEST-ONLY.key    every cast member's TEST ONLY key (and .pub)
    labels/*.png            labels of the codes of interest, the counterfeit's included
    labels.pdf, codes.csv   the producer's print run for the first case (24 labels)
    livestream.mp4          seller B's stream, showing a genuine bottle and the cloned code
    trust.json              the operator-signed trust bundle for offline checks
    manifest.json           the codes, listings, paths and files of interest

Everything is deterministic: keys come from names, times from ``story.CLOCK_MS``, and
Ed25519 signatures are deterministic, so two builds make the same codes, labels, bundle
and manifest. A build replaces the files it writes, and only those.

``samples/example/`` holds the small part of a build (manifest, trust bundle, four labels)
for readers who have not run anything; ``--example samples/example`` refreshes it, and
tests/integration/test_samples.py checks that it matches a fresh build.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from rich.console import Console

from ledger import errors
from ledger.codes.identifiers import item_id
from ledger.codes.signed import CodeIdentity, issue_uri
from ledger.codes.trust import TrustBundle
from ledger.keyfile import save_private_key, save_public_key
from ledger.storage.sql.log import SqlStore
from ledger.usecases.queries import trust_bundle
from ledger.usecases.service import LogService
from samples.chain import record_story, story_time
from samples.story import (
    CAST,
    CLOCK_MS,
    COUNTERFEITER,
    DEFAULT_RESOLVER,
    LISTING_A,
    LISTING_B,
    OPERATOR,
    ORIGIN,
    PRODUCER,
    PRODUCTS,
    Member,
    Offer,
    Product,
    key_file_name,
)
from samples.video import Show, write_livestream
from scanner.labels import Label, label_filename, render_labels, write_listing, write_sheet_pdf

__all__ = [
    "DATABASE",
    "DEFAULT_OUT",
    "MANIFEST",
    "build",
    "copy_example",
    "has_ledger",
    "main",
    "reissue",
]

DEFAULT_OUT = Path("samples/out")
DATABASE = "tracemark.db"
MANIFEST = "manifest.json"
_WRITTEN = (
    DATABASE,
    f"{DATABASE}-wal",
    f"{DATABASE}-shm",
    "keys",
    "labels",
    "labels.pdf",
    "codes.csv",
    "livestream.mp4",
    "trust.json",
    MANIFEST,
    "demo",  # labels of the demo's rounds (samples/scenes.py), for the ledger rebuilt here
)
_KEYS_NOTE = """TEST ONLY. Every key in this folder is derived from a public name
(samples/story.py, test_key): anyone can recompute it. Use them for the demo, never for
anything real; `tracemark key generate` makes real keys.
"""
FISH = PRODUCTS[0]


def has_ledger(out: Path) -> bool:
    """Does ``out`` hold a built sample (a ledger with entries and its manifest)?"""
    database = out / DATABASE
    if not database.is_file() or not (out / MANIFEST).is_file():
        return False
    store = SqlStore(f"sqlite:///{database}")
    try:
        return store.head().size > 0
    finally:
        store.close()


def _clear(out: Path) -> None:
    """Remove what an earlier build wrote (only those names)."""
    for name in _WRITTEN:
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)


def _write_keys(out: Path) -> dict[str, str]:
    folder = out / "keys"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "README.TEST-ONLY.txt").write_text(_KEYS_NOTE, encoding="utf-8")
    files: dict[str, str] = {}
    for member in CAST:
        path = folder / key_file_name(member.actor_id)
        save_private_key(path, member.key, None)  # unencrypted on purpose: TEST ONLY
        save_public_key(path.with_suffix(".pub"), member.key)
        files[member.actor_id] = str(path.relative_to(out))
    return files


def _code(product: Product, number: int, resolver: str, member: Member = PRODUCER) -> str:
    identity = CodeIdentity(product.gtin, product.serial(number), product.lot, product.expiry)
    return issue_uri(identity, member.key, resolver)


def _entry(number: int, resolver: str, what: str, **expect: str) -> dict[str, Any]:
    signer = COUNTERFEITER if expect["expect"] == "counterfeit" else PRODUCER
    return {
        "code": _code(FISH, number, resolver, signer),
        "item_id": item_id(FISH.gtin, FISH.serial(number)),
        "what": what,
        **expect,
    }


def _codes(resolver: str) -> dict[str, dict[str, Any]]:
    """The codes of interest, what each is and what a scan of it should say."""
    return {
        "genuine": _entry(
            1, resolver, "a genuine bottle that seller A holds and offers on TikTok",
            expect="genuine",
        ),
        "seller_b_genuine": _entry(
            25, resolver, "a genuine bottle that seller B holds, shown first in its stream",
            expect="genuine",
        ),
        "cloned": _entry(
            2, resolver, "the genuine code of a bottle seller A holds, reprinted by the "
            "counterfeiter and shown in seller B's Shopee stream",
            expect="genuine", expect_in_seller_b_stream="suspect",
        ),
        "counterfeit": _entry(
            FISH.count + 1, resolver, "a code the counterfeiter made up, for a serial never "
            "commissioned, signed with its own key",
            expect="counterfeit",
        ),
    }  # fmt: skip


def _in_stream(code: str, resolver: str, offer: Offer) -> str:
    """The viewer path of a code as scanned in ``offer``'s stream (the resolver's context
    parameters)."""
    context = {"platform": offer.platform, "seller": offer.handle, "stream": offer.stream_id}
    return code.removeprefix(resolver) + "".join(
        f"&{name}={quote(value, safe='')}" for name, value in context.items()
    )


def _labels(out: Path, codes: dict[str, dict[str, Any]]) -> dict[str, str]:
    labels = {
        name: Label.from_uri(entry["code"], name=FISH.name, lang="vi")
        for name, entry in codes.items()
    }
    render_labels(labels.values(), out / "labels", workers=1, resume=False)
    return {name: f"labels/{label_filename(label, 'png')}" for name, label in labels.items()}


def _print_run(out: Path, resolver: str) -> None:
    """The producer's print run for the first case: a PDF sheet and the printer's CSV."""
    run = [
        Label.from_uri(_code(FISH, n, resolver), name=FISH.name, lang="vi") for n in range(1, 25)
    ]
    write_sheet_pdf(run, out / "labels.pdf", qr_mm=20, dpi=300)
    write_listing(run, out / "codes.csv")


def _video(out: Path, codes: dict[str, dict[str, Any]]) -> None:
    shows = [
        Show(
            codes["seller_b_genuine"]["code"],
            1.0,
            5.0,
            "Phú Quốc 40N 500ml",
            "Hàng chính hãng - quét mã!",
        ),
        Show(codes["cloned"]["code"], 6.0, 11.0, "Phú Quốc 40N 500ml", "GIÁ SỐC 89K - chốt đơn!"),
    ]
    chat = (
        "lan.nguyen: chào shop!",
        "tuan_88: nước mắm này bao nhiêu vậy?",
        "mai.pham: có ship Hà Nội không shop?",
        "hoa.tran: mã QR quét được không?",
        "khanh.le: chốt 2 chai!",
    )
    write_livestream(
        out / "livestream.mp4",
        shows,
        shop="Hải Sản Chợ Lớn (Shopee Live)",
        headline="Nước mắm Phú Quốc 40 độ đạm - giá sốc!",
        chat=chat,
    )


def _trust(out: Path, service: LogService, resolver: str) -> str:
    """Write the trust bundle (at the story's clock) and return the log's verifier key."""
    info = service.info()
    checkpoint = service.latest_checkpoint()
    body = trust_bundle(
        service.store,
        origin=info.origin,
        checkpoint=checkpoint.note,
        resolvers=[resolver],
        created=story_time(3, 19),
    )
    (out / "trust.json").write_bytes(TrustBundle.sign(body, OPERATOR.key))
    return info.verifier.to_vkey()


def _offer(offer: Offer) -> dict[str, Any]:
    return {
        "platform": offer.platform,
        "listing_id": offer.listing_id,
        "stream_id": offer.stream_id,
        "seller": offer.seller.actor_id,
        "handle": offer.handle,
        "gtin": FISH.gtin,
        "quantity": offer.quantity,
    }


def _manifest(
    *,
    resolver: str,
    log_vkey: str,
    tree_size: int,
    key_files: dict[str, str],
    codes: dict[str, dict[str, Any]],
    labels: dict[str, str],
    video: bool,
) -> dict[str, Any]:
    a, b = _offer(LISTING_A), _offer(LISTING_B)
    return {
        "note": "TEST ONLY sample data: made-up names, keys derived from public names",
        "resolver": resolver,
        "origin": ORIGIN,
        "log_vkey": log_vkey,
        "clock": CLOCK_MS,
        "tree_size": tree_size,
        "database": DATABASE,
        "operator_key": key_files[OPERATOR.actor_id],
        "actors": {m.actor_id: _member(m, key_files[m.actor_id]) for m in CAST},
        "products": [_product(p) for p in PRODUCTS],
        "listings": {"seller_a": a, "seller_b": b},
        "codes": codes,
        "labels": labels,
        "paths": {
            "genuine_viewer": codes["genuine"]["code"].removeprefix(resolver),
            "counterfeit_viewer": codes["counterfeit"]["code"].removeprefix(resolver),
            "clone_in_seller_b_stream": _in_stream(codes["cloned"]["code"], resolver, LISTING_B),
            "overlay": f"/overlay/{a['platform']}/{a['listing_id']}?stream={a['stream_id']}",
            "listing": f"/v1/listings/{a['platform']}/{a['listing_id']}",
            "docs": "/docs",
        },
        "files": {
            "video": "livestream.mp4" if video else None,
            "print_sheet": "labels.pdf",
            "printer_listing": "codes.csv",
            "trust_bundle": "trust.json",
        },
    }


def _member(member: Member, key_file: str) -> dict[str, Any]:
    return {
        "role": member.role,
        "name": member.name,
        "key_file": key_file,
        "registered": member.registered,
        "prefixes": list(member.prefixes),
        "handles": list(member.handles),
    }


def _product(product: Product) -> dict[str, Any]:
    return {
        "gtin": product.gtin,
        "name": product.name,
        "lot": product.lot,
        "expiry": product.expiry,
        "serials": f"{product.serial(1)}..{product.serial(product.count)}",
    }


def build(out: Path, *, resolver: str = DEFAULT_RESOLVER, video: bool = True) -> dict[str, Any]:
    """Build the whole sample into ``out`` and return its manifest (also in manifest.json)."""
    resolver = resolver.rstrip("/")
    out.mkdir(parents=True, exist_ok=True)
    _clear(out)
    key_files = _write_keys(out)
    store = SqlStore(f"sqlite:///{out / DATABASE}")
    try:
        service = LogService(store, log_key=OPERATOR.key)
        tree_size = record_story(service)
        return _issue(out, service, resolver, tree_size=tree_size, key_files=key_files, video=video)
    finally:
        store.close()


def reissue(out: Path, resolver: str) -> dict[str, Any]:
    """Rewrite what names the public URL (codes, labels, print run, video, trust bundle and
    manifest) for ``resolver``, keeping the ledger and what demos appended to it: the codes
    sign the GS1 element string, never the host, so the ledger does not change."""
    resolver = resolver.rstrip("/")
    old = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    key_files = {m.actor_id: f"keys/{key_file_name(m.actor_id)}" for m in CAST}
    store = SqlStore(f"sqlite:///{out / DATABASE}")
    try:
        service = LogService(store, log_key=OPERATOR.key)
        return _issue(
            out,
            service,
            resolver,
            tree_size=int(old["tree_size"]),
            key_files=key_files,
            video=bool(old["files"]["video"]),
        )
    finally:
        store.close()


def _issue(
    out: Path,
    service: LogService,
    resolver: str,
    *,
    tree_size: int,
    key_files: dict[str, str],
    video: bool,
) -> dict[str, Any]:
    """Everything of a build that names the resolver, and the manifest."""
    log_vkey = _trust(out, service, resolver)
    codes = _codes(resolver)
    labels = _labels(out, codes)
    _print_run(out, resolver)
    if video:
        _video(out, codes)
    manifest = _manifest(
        resolver=resolver,
        log_vkey=log_vkey,
        tree_size=tree_size,
        key_files=key_files,
        codes=codes,
        labels=labels,
        video=video,
    )
    (out / MANIFEST).write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8"
    )
    return manifest


def copy_example(out: Path, example: Path) -> None:
    """Copy the small, committed part of a build (manifest, trust bundle, labels) to
    ``example``, replacing what was there."""
    if (example / "labels").is_dir():
        shutil.rmtree(example / "labels")
    shutil.copytree(out / "labels", example / "labels")
    for name in (MANIFEST, "trust.json"):
        shutil.copyfile(out / name, example / name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m samples.build",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="target folder")
    parser.add_argument(
        "--resolver",
        default=DEFAULT_RESOLVER,
        help="the base URL the codes open (default %(default)s)",
    )
    parser.add_argument("--no-video", action="store_true", help="skip the livestream video")
    parser.add_argument(
        "--example",
        type=Path,
        help="also copy the committed part (manifest, trust bundle, labels) here: samples/example",
    )
    args = parser.parse_args(argv)
    console = Console(highlight=False)
    try:
        started = time.perf_counter()
        manifest = build(args.out, resolver=args.resolver, video=not args.no_video)
        if args.example is not None:
            copy_example(args.out, args.example)
    except errors.TracemarkError as exc:
        print(f"samples.build: error: {exc.message}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"samples.build: error: cannot write {args.out}: {exc.strerror}", file=sys.stderr)
        return 2
    console.print(
        f"[green]Built[/] the sample supply chain in {args.out} "
        f"({manifest['tree_size']} log entries, {time.perf_counter() - started:.1f} s); "
        f"keys are TEST ONLY. See {args.out / MANIFEST}."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
