"""Signed item codes: offline checks against raw Ed25519, and label printing against qrcode.

Figure 1  ``ledger.codes.signed.check_code(uri, directory)`` of 5,000 genuine codes against a small
          in-memory key directory (as tests/unit/test_codes.py builds one): parse the
          Digital Link, find the producer, verify, give the verdict. Codes per second.
Baseline  The fastest raw Ed25519 verification available to Python over the same signed
          messages (``code_message(identity)``): the append benchmark's candidates
          (``bench.append.verifiers``), in the same rounds, the order rotating. Verifies/s.
Target    check_code / fastest raw verify >= 0.8.
Figure 2  Issuing and printing 10,000 labels: ``issue_uri`` (sign) for each item, then
          ``scanner.labels.render_labels`` to PNG on all cores (fixed version and mask,
          module 4 px, human-readable text). Labels per second.
Baseline  A single-process loop of ``qrcode.make(uri).save(path)`` on the first 1,000 of the
          same URIs (its rate, i.e. its time scaled to 10,000), same rounds. Labels/s.
Target    labels / baseline >= 8. A row fails whatever its ratio if any of 100 sampled
          output files does not decode (zxing-cpp) to its URI.
"""

from __future__ import annotations

import base64
import cProfile
import os
import random
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import qrcode
import zxingcpp
from PIL import Image
from rich.console import Console

from bench.append import _profile_summary, verifiers
from bench.common import RESULTS_DIR, Comparison, Measure, Result, Target, time_rate
from ledger.codes.signed import CodeIdentity, DirectoryKey, check_code, code_message, issue_uri
from ledger.keys import PrivateKey
from ledger.verdicts import UNVERIFIED
from scanner.labels import Label, label_filename, render_labels

__all__ = ["CHECKS", "LABELS", "SAMPLE", "TARGET_CHECK", "TARGET_RENDER", "run"]

CHECKS = 5_000
LABELS = 10_000
SAMPLE = 1_000  # baseline labels per round (qrcode.make is ~60/s)
DECODE_SAMPLE = 100
MODULE_PX = 4
TARGET_CHECK = Target(">=", 0.8)
TARGET_RENDER = Target(">=", 8)
RESOLVER = "https://vt.example.vn"
GTIN = "08930001000018"
PRODUCER = PrivateKey.from_seed(bytes(range(101, 133)))  # BENCHMARK ONLY
DISTRIBUTOR = PrivateKey.from_seed(bytes(range(102, 134)))  # BENCHMARK ONLY


class _Directory:
    """A hand-built key directory, as in tests/unit/test_codes.py."""

    def __init__(self) -> None:
        self.keys = [
            DirectoryKey(PRODUCER.public_key, "fishco"),
            DirectoryKey(DISTRIBUTOR.public_key, "distri"),
        ]
        self.by_hint: dict[int, list[DirectoryKey]] = {}
        for k in self.keys:
            self.by_hint.setdefault(int(k.key.key_id[:2], 16), []).append(k)

    def producer_of(self, gtin: str) -> tuple[str, str] | None:
        return ("fishco", "Fish Co") if gtin.startswith("08930001") else None

    def keys_with_hint(self, hint: int) -> list[DirectoryKey]:
        return self.by_hint.get(hint, [])

    def is_resolver(self, stem: str) -> bool:
        return stem == RESOLVER


def _identities(count: int, prefix: str) -> list[CodeIdentity]:
    return [CodeIdentity(GTIN, f"{prefix}{k:010d}") for k in range(count)]  # 12-char serials


def _checker(uris: list[str], directory: _Directory) -> Callable[[], None]:
    def run() -> None:
        for uri in uris:
            if check_code(uri, directory).status != UNVERIFIED:
                raise AssertionError(f"a genuine code was refused: {uri}")

    return run


def _issue_and_render(identities: list[CodeIdentity], out: Path, report: list[Any]) -> None:
    # A generator: the pool's feeder thread signs while the workers render.
    labels = (
        Label(issue_uri(i, PRODUCER, RESOLVER), i.gtin, i.serial, name="Fish fillet 500 g")
        for i in identities
    )
    report.append(render_labels(labels, out, module_px=MODULE_PX, resume=False))


def _baseline(uris: list[str], out: Path) -> None:
    for k, uri in enumerate(uris):
        qrcode.make(uri).save(out / f"qrcode-{k}.png")


def _printing_round(
    identities: list[CodeIdentity], base_uris: list[str], tmp: Path, round_: int, reports: list[Any]
) -> tuple[float, float, int]:
    """One round of issue + render against the qrcode loop (the order alternating), then
    the decode check; (labels/s, baseline labels/s, undecodable of the sample)."""
    out, base_out = tmp / f"labels-{round_}", tmp / f"qrcode-{round_}"
    base_out.mkdir()
    rates: dict[str, float] = {}
    steps = [
        ("render", lambda: _issue_and_render(identities, out, reports), LABELS),
        ("baseline", lambda: _baseline(base_uris, base_out), SAMPLE),
    ]
    for name, step, count in steps[:: 1 if round_ % 2 == 0 else -1]:
        rates[name] = time_rate(step, count)
    bad = _undecodable(identities, out, random.Random(8030 + round_))
    for folder in (out, base_out):
        for p in folder.iterdir():
            p.unlink()
    return rates["render"], rates["baseline"], bad


def _undecodable(identities: list[CodeIdentity], out: Path, rnd: random.Random) -> int:
    bad = 0
    for identity in rnd.sample(identities, DECODE_SAMPLE):
        uri = issue_uri(identity, PRODUCER, RESOLVER)  # deterministic: the same URI
        label = Label(uri, identity.gtin, identity.serial)
        with Image.open(out / label_filename(label, "png")) as image:
            texts = [r.text for r in zxingcpp.read_barcodes(image.convert("L"))]
        bad += texts != [uri]
    return bad


def run(console: Console, *, repeat: int, large: bool = False, profile: bool = False) -> Result:
    del large  # the same workload at every size
    console.print(f"  signing {CHECKS:,} codes for the check ...", highlight=False)
    directory = _Directory()
    check_ids = _identities(CHECKS, "CK")
    uris = [issue_uri(i, PRODUCER, RESOLVER) for i in check_ids]
    work = SimpleNamespace(
        pairs=[(_signature(uri), code_message(i)) for uri, i in zip(uris, check_ids, strict=True)],
        public_key=PRODUCER.public_key.raw,
    )
    names = list(verifiers(work))  # type: ignore[arg-type]
    raw: dict[str, list[float]] = {name: [] for name in names}
    checks: list[float] = []
    render_ids = _identities(LABELS, "FS")
    base_uris = [issue_uri(i, PRODUCER, RESOLVER) for i in render_ids[:SAMPLE]]
    renders: list[float] = []
    baselines: list[float] = []
    reports: list[Any] = []
    undecodable: list[int] = []
    with tempfile.TemporaryDirectory(prefix="tracemark-bench-codes-") as tmp:
        for round_ in range(repeat):
            runs = verifiers(work)  # type: ignore[arg-type]
            order = names[round_ % len(names) :] + names[: round_ % len(names)]
            for name in order:
                raw[name].append(time_rate(runs[name], CHECKS))
            checks.append(time_rate(_checker(uris, directory), CHECKS))
            rate, base, bad = _printing_round(render_ids, base_uris, Path(tmp), round_, reports)
            renders.append(rate)
            baselines.append(base)
            undecodable.append(bad)
            console.print(
                f"  round {round_ + 1}/{repeat}: check_code {checks[-1]:,.0f}/s, fastest raw "
                f"verify {max(s[-1] for s in raw.values()):,.0f}/s; labels {rate:,.0f}/s,"
                f" qrcode.make+save {base:,.0f}/s, undecodable {bad}/{DECODE_SAMPLE}",
                highlight=False,
            )
        profile_text = None
        if profile:
            profiler = cProfile.Profile()
            profiler.enable()
            _checker(uris, directory)()
            profiler.disable()
            profiler.dump_stats(RESULTS_DIR / "codes.prof")
            profile_text = _profile_summary(profiler)

    measures = {name: Measure(name, "verifies/s", tuple(s)) for name, s in raw.items()}
    fastest = max(measures.values(), key=lambda m: m.median)
    check_measure = Measure("check_code (offline, in-memory directory)", "codes/s", tuple(checks))
    report = reports[-1]
    decoded_ok = not any(undecodable)
    workers = os.cpu_count() or 1
    comparisons = [
        Comparison(
            "check_code vs fastest raw verify",
            check_measure,
            fastest,
            TARGET_CHECK,
            note=f"baseline: {fastest.label}",
        ),
        *(
            Comparison(f"raw verify: {n}", m, fastest, note="candidate baseline")
            for n, m in measures.items()
        ),
        Comparison(
            f"issue + render {LABELS:,} PNG labels ({workers} cores) vs qrcode.make+save",
            Measure("issue_uri + render_labels", "labels/s", tuple(renders)),
            Measure(
                f"qrcode.make(uri).save(png), 1 process, {SAMPLE:,}-URI sample",
                "labels/s",
                tuple(baselines),
            ),
            TARGET_RENDER if decoded_ok else Target(">=", float("inf")),
            note=(
                f"QR version {report.version} (M, mask {report.mask}), module {report.module_px}"
                f" px; baseline timed on {SAMPLE:,} URIs and scaled to {LABELS:,}; "
                + (
                    f"{DECODE_SAMPLE} sampled files decode"
                    if decoded_ok
                    else f"UNDECODABLE files: {undecodable} of {DECODE_SAMPLE} per round"
                )
            ),
        ),
    ]
    result = Result(
        name="codes",
        title="Signed item codes: offline check and label printing",
        comparisons=comparisons,
        params={
            "checks": CHECKS,
            "labels": LABELS,
            "baseline_sample": SAMPLE,
            "decode_sample": DECODE_SAMPLE,
            "module_px": MODULE_PX,
            "qr_version": report.version,
            "qr_mask": report.mask,
            "larger_version": report.larger,
            "workers": workers,
            "uri_length": len(uris[0]),
            "repeat": repeat,
            "baseline": fastest.label,
        },
        extra={"undecodable_per_round": undecodable, "profile": profile_text},
    )
    result.notes.append(
        f"labels: QR version {report.version} at M, mask {report.mask} fixed for the batch, "
        f"module {report.module_px} px; the qrcode.make baseline was timed on {SAMPLE:,} of "
        f"the URIs per round (rate scaled to {LABELS:,}: "
        f"{LABELS / Measure('', '', tuple(baselines)).median:.0f} s)."
    )
    if profile_text:
        result.notes.append(f"cProfile of check_code, saved to {RESULTS_DIR / 'codes.prof'}:")
        result.notes.append(profile_text)
    return result


def _signature(uri: str) -> bytes:
    """The raw Ed25519 signature in a code's AI 8030 (after version and key hint)."""
    return base64.urlsafe_b64decode(uri.rsplit("=", 1)[1])[2:]
