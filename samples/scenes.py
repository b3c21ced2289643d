"""The demo's story, step by step (``Story.play``); ``samples/demo.py`` runs it.

Each step does what a real participant would (signs with its own key, calls the server or
the CLI), checks that the answer is what the story says, and prints what happened and why.
A step that gets another answer raises ``DemoError`` with what it got.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import tracemark_client as tm
from rich.console import Console
from rich.table import Table

from ledger import errors
from ledger.codes.identifiers import item_id
from ledger.codes.signed import CodeIdentity, issue_uri
from ledger.keyfile import load_private_key
from ledger.keys import PrivateKey
from ledger.log.checkpoint import SignedCheckpoint, open_checkpoint
from ledger.log.entries import sign_entry
from ledger.log.note import NoteVerifier
from ledger.log.verify import verify_consistency, verify_inclusion
from ledger.provenance.events.names import COMMISSION, LISTING_DECLARE, RECALL, RECEIVE, SHIP
from ledger.usecases.service import now_ms
from samples.client import DemoError, Server, WebhookReceiver, tracemark
from samples.story import DISTRIBUTOR, LISTING_B, PRODUCER, PRODUCTS, SELLER_A, SELLER_B, TZ, Member
from scanner.labels import Label, label_filename, render_labels

__all__ = ["Story"]

#: The demo's bottles are the one-litre product: no sample listing offers it, so the
#: demo's recall never touches the overlay and listing that ``make run`` points at.
LITRE = PRODUCTS[1]
WEBHOOK_WAIT_S = 30.0


def _b64(text: str) -> bytes:
    return base64.b64decode(text)


class Story:
    """One round of the demo against ``server``, signing with the keys of ``samples``."""

    def __init__(self, server: Server, samples: Path, manifest: dict[str, Any], console: Console):
        self.server, self.samples, self.manifest, self.out = server, samples, manifest, console
        self.home = samples.resolve()
        self.stamp = time.strftime("%y%m%d%H%M%S")
        self.steps = 0
        self.wrong_server = False
        self.client = tm.Client(server.url)  # the Python client, as a participant's code
        self.verifier = NoteVerifier.from_vkey(manifest["log_vkey"])
        self.resolver: str = manifest["resolver"]
        self.serials = [f"PQD{self.stamp}{n}" for n in (1, 2, 3)]
        self.items = [item_id(LITRE.gtin, s) for s in self.serials]
        self.lot = f"LD{self.stamp}"
        self.listing = f"{self.stamp}0001"
        self.codes: list[str] = []
        self.api_keys: dict[str, dict[str, Any]] = {}
        self.platforms: dict[str, tm.Client] = {}  # a client with each platform's API key
        self.start: SignedCheckpoint | None = None
        self._keys: dict[str, PrivateKey] = {}

    # --- printing ---------------------------------------------------------------------------

    def step(self, title: str) -> None:
        self.steps += 1
        self.out.rule(f"[bold]{self.steps}. {title}", align="left")

    def did(self, text: str) -> None:
        self.out.print(f"  [green]✓[/] {text}")

    def why(self, text: str) -> None:
        self.out.print(f"    [italic dim]why: {text}[/]")

    # --- helpers ----------------------------------------------------------------------------

    def key(self, member: Member) -> PrivateKey:
        """``member``'s key, read from its key file as ``--as`` would (TEST ONLY keys)."""
        if member.actor_id not in self._keys:
            path = self.samples / self.manifest["actors"][member.actor_id]["key_file"]
            self._keys[member.actor_id], _ = load_private_key(path, None)
        return self._keys[member.actor_id]

    def submit(self, kind: str, body: dict[str, Any], member: Member) -> dict[str, Any]:
        """Sign ``body`` with ``member``'s key here and send it: the result the server gave."""
        envelope = sign_entry(kind, body, self.key(member))
        try:
            return dict(self.client.submit_entries([envelope.to_obj()]).results[0].raw)
        except tm.TracemarkClientError as exc:
            raise DemoError(f"{kind}: {exc.message}") from None

    def record(self, kind: str, member: Member, **fields: Any) -> int:
        body = {"actor": member.actor_id, "event_time": now_ms(), "tz": TZ, **fields}
        result = self.submit(kind, body, member)
        if "error" in result:
            error = result["error"]
            raise DemoError(f"{kind} refused: {error['code']}: {error['message']}")
        return int(result["index"])

    def item(self, n: int = 0) -> tm.Item:
        try:
            return self.client.get_item(LITRE.gtin, self.serials[n])
        except tm.TracemarkClientError as exc:
            raise DemoError(f"GET /v1/items: {exc.message}") from None

    def checkpoint(self) -> SignedCheckpoint:
        note = self.server.get("/v1/log/checkpoint", accept="text/plain")
        if not isinstance(note, str):
            raise DemoError("GET /v1/log/checkpoint did not answer a signed note")
        try:
            return open_checkpoint(note, self.verifier, origin=self.manifest["origin"])
        except errors.TracemarkError as exc:
            raise DemoError(f"the server's checkpoint does not verify: {exc.message}") from None

    def cli(self, *args: str, expect: int = 0) -> str:
        done = tracemark(*args)
        if done.returncode != expect:
            problem = done.stderr.strip().splitlines()[-1:] or ["(nothing on stderr)"]
            raise DemoError(f"tracemark {args[0]} {args[1]} exited {done.returncode}: {problem[0]}")
        return done.stdout

    # --- the story --------------------------------------------------------------------------

    def check_server(self) -> None:
        try:
            self.start = self.checkpoint()
        except DemoError as exc:
            self.wrong_server = True
            raise DemoError(
                f"the server at {self.server.url} does not serve the sample in {self.samples} "
                f"({exc}); start it with `make run`"
            ) from None
        self.out.print(
            f"Tracemark demo against [bold]{self.server.url}[/]: log {self.manifest['origin']}, "
            f"{self.start.checkpoint.tree_size} entries. This round's serials end in "
            f"{self.stamp}; every key is a TEST ONLY key from {self.samples}/keys."
        )

    def play(self) -> None:
        self.commission()
        self.labels()
        self.custody()
        self.declare()
        self.viewer_scan()
        self.platform_check()
        with WebhookReceiver() as receiver:
            self.webhooks(receiver)
            self.clone_in_stream(receiver)
            self.recall(receiver)
        self.audit()

    def commission(self) -> None:
        self.step("Commission: the producer creates three new one-litre bottles")
        index = self.record(
            COMMISSION,
            PRODUCER,
            gtin=LITRE.gtin,
            serials={"list": self.serials},
            lot=self.lot,
            expiry=LITRE.expiry,
        )
        self.did(
            f"{PRODUCER.name} commissioned {', '.join(self.serials)} of GTIN {LITRE.gtin} "
            f"(lot {self.lot}) at log index {index}"
        )
        self.why(
            "the producer signed the event with its own key on its own machine; the server "
            f"checked the signature and that the GTIN is under the producer's GS1 prefix "
            f"{PRODUCER.prefixes[0]}, then appended it to the append-only log"
        )

    def labels(self) -> None:
        self.step("Labels: signed QR codes for the new bottles")
        key = self.key(PRODUCER)
        self.codes = [
            issue_uri(CodeIdentity(LITRE.gtin, s, self.lot, LITRE.expiry), key, self.resolver)
            for s in self.serials
        ]
        labels = [Label.from_uri(code, name=LITRE.name, lang="vi") for code in self.codes]
        folder = self.samples / "demo" / self.stamp
        render_labels(labels, folder, workers=1)
        self.did(f"{len(labels)} labels in {folder}, e.g. {label_filename(labels[0], 'png')}")
        self.did(f"first code: {self.codes[0]}")
        self.why(
            "each code is a GS1 Digital Link carrying the producer's Ed25519 signature "
            "(AI 8030) over GTIN, serial, lot and expiry: changing any of them breaks it, "
            "and issuing needs no server"
        )

    def custody(self) -> None:
        self.step("Custody: producer -> distributor -> seller A")
        moves = (
            (PRODUCER, DISTRIBUTOR, f"SHP-{self.stamp}"),
            (DISTRIBUTOR, SELLER_A, f"MKD-{self.stamp}"),
        )
        for sender, receiver, shipment in moves:
            self.record(SHIP, sender, shipment=shipment, to=receiver.actor_id, items=self.items)
            state = self.item()
            if state.status != "in_transit" or state.custodian != sender.actor_id:
                raise DemoError(
                    f"after shipping, the item is {state.status} with {state.custodian}"
                )
            self.did(
                f"{sender.actor_id} shipped {shipment}: in transit, still held by {sender.actor_id}"
            )
            self.record(RECEIVE, receiver, shipment=shipment, **{"from": sender.actor_id})
            state = self.item()
            if state.custodian != receiver.actor_id:
                raise DemoError(f"after the receipt, the item is held by {state.custodian}")
            self.did(f"{receiver.actor_id} received {shipment}: now held by {receiver.actor_id}")
        self.why(
            "custody passes only when the receiver signs the receipt, so nobody can push "
            "goods, or blame, onto someone else"
        )

    def declare(self) -> None:
        self.step("Listing: seller A offers the bottles on TikTok")
        body = {
            "actor": SELLER_A.actor_id,
            "platform": "tiktok",
            "listing_id": self.listing,
            "gtin": LITRE.gtin,
            "serials": self.items,
            "event_time": now_ms(),
            "stream_id": f"live-bepnhaminh-{self.stamp}",
        }
        result = self.submit(LISTING_DECLARE, body, SELLER_A)
        if "error" in result:
            raise DemoError(f"seller A's listing was refused: {result['error']['message']}")
        try:
            status = self.client.get_listing("tiktok", self.listing)
        except tm.TracemarkClientError as exc:
            raise DemoError(f"GET /v1/listings: {exc.message}") from None
        if not status.backed:
            raise DemoError(f"seller A's listing is not backed: {status.reasons}")
        self.did(
            f"tiktok:{self.listing} by {SELLER_A.actor_id}: backed by genuine stock "
            f"({status.stock} held)"
        )
        copy = dict(
            body,
            actor=SELLER_B.actor_id,
            platform="shopee",
            listing_id=self.listing,
            event_time=now_ms(),
        )
        refused = self.submit(LISTING_DECLARE, copy, SELLER_B)
        if "error" not in refused:
            raise DemoError("seller B could list bottles it does not hold")
        self.did(f"seller B's listing of the same bottles was refused: {refused['error']['code']}")
        self.why(
            "the ledger accepts a listing only from a verified seller, with a handle on that "
            "platform, who holds the sellable goods it names"
        )

    def viewer_scan(self) -> None:
        self.step("A viewer scans a label")
        path = self.codes[0].removeprefix(self.resolver)
        verdict = self.server.get(path)
        if verdict["status"] != "genuine":
            raise DemoError(f"the new bottle is {verdict['status']}, not genuine")
        reasons = ", ".join(r["code"] for r in verdict["reasons"])
        self.did(
            f"verdict [green]genuine[/] ({reasons}); {len(verdict['provenance'])} steps of "
            f"history, held by {verdict['item']['custodian']}"
        )
        proof = verdict["proof"]
        signed = open_checkpoint(proof["checkpoint"], self.verifier)
        verify_inclusion(
            proof["index"],
            proof["tree_size"],
            _b64(proof["leaf_hash"]),
            [_b64(h) for h in proof["inclusion_path"]],
            signed.checkpoint.root_hash,
        )
        self.did(
            f"inclusion proof of entry {proof['index']} in the tree of size "
            f"{proof['tree_size']} verified here, against the operator-signed checkpoint"
        )
        self.did(f"viewer page: {self.resolver}{path}")
        self.why(
            "the QR code opens the resolver: a browser gets the viewer page, a program the "
            "verdict with the item's history and a proof it can check without trusting us"
        )

    def platform_check(self) -> None:
        self.step("TikTok checks listings through the platform API")
        for platform in ("tiktok", "shopee"):
            made = json.loads(
                self.cli("platform", "add", platform, "--home", str(self.home), "--json")
            )
            self.api_keys[platform] = made
            self.platforms[platform] = tm.Client(self.server.url, api_key=made["api_key"])
        self.did("the operator made API keys for tiktok and shopee (tracemark platform add)")
        listings = [
            {
                "seller": "tiktok:@bepnhaminh",
                "platform": "tiktok",
                "listing_id": self.listing,
                "gtin": LITRE.gtin,
                "quantity": 3,
                "codes": self.codes[:2],
            },
            {
                "seller": "tiktok:@nuocmam.giare",
                "platform": "tiktok",
                "listing_id": f"{self.stamp}0002",
                "gtin": LITRE.gtin,
                "quantity": 50,
            },
        ]
        try:
            mine, stranger = self.platforms["tiktok"].verify_listings(listings)
        except tm.TracemarkClientError as exc:
            raise DemoError(f"POST /v1/listings/verify: {exc.message}") from None
        if mine.status != "genuine" or stranger.status == "genuine":
            raise DemoError(f"listing verdicts {mine.status} and {stranger.status}")
        self.did(
            f"seller A's listing: [green]genuine[/] ({mine.stock['held']} held, "
            f"{len(mine.codes)} codes checked)"
        )
        codes = ", ".join(r.code for r in stranger.reasons)
        self.did(f"an unknown shop selling 50 bottles: [red]{stranger.status}[/] ({codes})")
        self.why(
            "a platform can check every listing before it goes live: is the seller verified, "
            "does it hold that much stock from a registered producer, is anything recalled"
        )

    def webhooks(self, receiver: WebhookReceiver) -> None:
        self.step("Webhooks: the platforms subscribe to recalls and clone signals")
        for platform, client in self.platforms.items():
            try:
                made = client.create_webhook(receiver.url, ["recall", "clone_suspected"])
            except tm.TracemarkClientError as exc:
                raise DemoError(f"POST /v1/webhooks: {exc.message}") from None
            receiver.secrets[made.webhook.id] = made.secret
            self.did(f"{platform}: webhook {made.webhook.id} -> {receiver.url}")
        self.why(
            "platforms learn about recalls and clones as they happen, signed as Standard "
            "Webhooks with a secret only they hold, instead of polling"
        )

    def clone_in_stream(self, receiver: WebhookReceiver) -> None:
        self.step("Seller B's live stream: scanning the video")
        offer = self.manifest["listings"]["seller_b"]
        video = self.samples / self.manifest["files"]["video"]
        output = self.cli(
            "scan",
            "--video",
            str(video),
            "--server",
            self.server.url,
            "--listing",
            f"{offer['platform']}:{offer['listing_id']}",
            "--seller",
            offer["handle"],
            "--stream",
            offer["stream_id"],
            "--api-key",
            self.api_keys[offer["platform"]]["api_key"],
            "--json",
            expect=3,
        )
        seen = [json.loads(line) for line in output.splitlines() if line.strip()]
        table = Table("seen (s)", "item", "verdict", "reasons")
        for s in seen:
            reasons = ", ".join(r["code"] for r in s["verdict"]["reasons"])
            colour = "green" if s["status"] == "genuine" else "red"
            table.add_row(
                f"{s['first_s']:.1f}-{s['last_s']:.1f}",
                s["verdict"]["item"].get("item_id", "?"),
                f"[{colour}]{s['status']}[/]",
                reasons,
            )
        self.out.print(table)
        by_code = {s["text"]: s for s in seen}
        cloned = by_code.get(self.manifest["codes"]["cloned"]["code"])
        own = by_code.get(self.manifest["codes"]["seller_b_genuine"]["code"])
        if cloned is None or own is None:
            raise DemoError(
                f"the scan found {len(seen)} codes, not seller B's bottle and the clone"
            )
        if own["status"] != "genuine" or cloned["status"] != "suspect":
            raise DemoError(f"verdicts {own['status']} (own bottle) and {cloned['status']} (clone)")
        self.did(
            f"cloned code caught at {cloned['first_s']:.1f} s: [red]suspect[/], the bottle "
            f"is held by {SELLER_A.actor_id}, not by {SELLER_B.actor_id}"
        )
        signal = receiver.wait_for("clone_suspected", LISTING_B.platform, WEBHOOK_WAIT_S)
        if not signal.signed:
            raise DemoError("the clone_suspected webhook's signature did not verify")
        flagged = signal.event["data"]["item"]["item_id"]
        self.did(f"shopee's webhook got clone_suspected for {flagged} (signature verified)")
        self.why(
            "the code itself is genuine (a perfect reprint), so only the context gives it "
            "away: the ledger knows who holds that bottle, and it is not this seller"
        )

    def recall(self, receiver: WebhookReceiver) -> None:
        self.step("Recall: the producer recalls this round's lot")
        index = self.record(
            RECALL,
            PRODUCER,
            gtin=LITRE.gtin,
            scope="lot",
            lot=self.lot,
            reason="seal defect found in quality control (demo)",
        )
        self.did(f"recall of lot {self.lot} at log index {index}")
        hook = receiver.wait_for("recall", "tiktok", WEBHOOK_WAIT_S)
        listed = [x["listing_id"] for x in hook.event["data"]["listings"]]
        if self.listing not in listed or not hook.signed:
            raise DemoError(f"the recall webhook named {listed}, signed: {hook.signed}")
        self.did(
            f"tiktok's webhook got the recall, naming listing {self.listing} (signature verified)"
        )
        try:
            verdict = self.platforms["tiktok"].verify(self.codes[0])  # POST /v1/verify
        except tm.TracemarkClientError as exc:
            raise DemoError(f"POST /v1/verify: {exc.message}") from None
        if verdict.status != "recalled":
            raise DemoError(f"a recalled bottle scans as {verdict.status}")
        self.did(f"the label now scans as [red]recalled[/]: {verdict.reasons[0].message}")
        self.why(
            "a recall is one signed entry; every later scan and every affected platform "
            "sees it at once"
        )

    def audit(self) -> None:
        self.step("Audit: the log only grew")
        if self.start is None:
            raise DemoError("no starting checkpoint")
        old = self.start.checkpoint
        new = self.checkpoint().checkpoint
        proof = self.server.get(
            f"/v1/log/proof/consistency?old={old.tree_size}&new={new.tree_size}"
        )
        verify_consistency(
            old.tree_size,
            new.tree_size,
            old.root_hash,
            new.root_hash,
            [_b64(h) for h in proof["consistency_path"]],
        )
        self.did(
            f"consistency proof {old.tree_size} -> {new.tree_size} verified against the "
            "two signed checkpoints"
        )
        report = json.loads(self.cli("audit", "--home", str(self.home), "--json"))
        if not report["ok"]:
            raise DemoError(f"audit found {report['findings'][:1]}")
        self.did(
            f"audit passed: {report['entries_checked']} entries, {report['nodes_checked']} "
            f"nodes and {report['checkpoints_checked']} checkpoints recomputed"
        )
        self.why(
            "whoever kept the first checkpoint can prove the operator rewrote nothing; the "
            "audit recomputes every hash, signature and projection from the entries"
        )

    def clean_up(self) -> None:
        """Revoke this round's API keys (which deletes their webhooks)."""
        for platform, made in self.api_keys.items():
            done = tracemark("platform", "revoke", made["key_id"], "--home", str(self.home))
            if done.returncode != 0:
                self.out.print(
                    f"[yellow]could not revoke the {platform} API key {made['key_id']}[/]"
                )
        self.api_keys.clear()
        for client in (self.client, *self.platforms.values()):
            client.close()
        self.platforms.clear()
