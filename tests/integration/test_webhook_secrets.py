"""Webhook secrets are encrypted at rest (ledger/secret_box.py) and still sign.

at-rest            the stored column holds ``enc:v1:<key id>:...``, never the secret
still-signs        a delivery's webhook-signature (Standard Webhooks) verifies with the
                   secret the platform was given at registration
bound-to-row       a sealed value copied to another webhook's row does not open
legacy-resealed    a plain-text secret from before encryption is sealed on open
rotation           with the new key first, opening re-seals rows under the old key;
                   dropping the old key afterwards loses nothing
missing / wrong    a key id the settings lack, or another key under the same id:
                   StorageUnavailable naming the id, at open (so serve fails at start)
settings           TRACEMARK_SECRETS_KEY parses; production refuses to start without it;
                   development makes $TRACEMARK_HOME/secrets.key, mode 0600
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

import pytest
from sqlalchemy import text

from api.settings import Settings, WebhookSettings
from api.webhooks import Dispatcher, new_secret, verify_delivery
from ledger.errors import InvalidInput, StorageUnavailable
from ledger.ports.platform import Webhook
from ledger.secret_box import SecretBox, new_key_text
from ledger.storage.sql.log import SqlStore
from ledger.storage.sql.platform import SqlPlatformStore

SECRET = new_secret()
OLD = SecretBox.from_text(new_key_text("k1"))
NEW = SecretBox.from_text(new_key_text("k2"))
BOTH = SecretBox((NEW.keys[0], OLD.keys[0]))  # k2 seals, k1 still opens


def hook(webhook_id: str = "wh_1", secret: str = SECRET) -> Webhook:
    return Webhook(webhook_id, "shop", "http://127.0.0.1:9/hook", ("recall",), secret, 1)


def stored(store: SqlStore) -> dict[str, str]:
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT webhook_id, secret FROM platform_webhooks"))
        return {str(i): str(s) for i, s in rows}


@pytest.fixture
def store(tmp_path: Path) -> SqlStore:
    found = SqlStore(f"sqlite:///{tmp_path / 'log.db'}")
    yield found  # type: ignore[misc]
    found.close()


def test_at_rest_and_still_signs(store: SqlStore) -> None:
    platform = SqlPlatformStore(store, OLD)
    platform.add_webhook(hook())
    column = stored(store)["wh_1"]
    assert column.startswith("enc:v1:k1:")
    assert SECRET not in column and SECRET[6:20] not in column
    raw = (Path(str(store.engine.url.database))).read_bytes()
    assert SECRET[6:20].encode() not in raw  # nor anywhere in the database file
    assert platform.get_webhook("wh_1") == hook()

    sent: list[tuple[bytes, dict[str, str]]] = []

    def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> tuple[int, str]:
        sent.append((body, dict(headers)))
        return 200, ""

    dispatcher = Dispatcher(platform, store, WebhookSettings(), post)
    assert dispatcher.emit("shop", "recall", "evt_1", {"x": 1}, 5_000_000) == 1
    assert dispatcher.deliver_pending(5_000_000) == 1
    [(body, headers)] = sent
    verify_delivery(SECRET, headers, body, now_s=5_000)


def test_bound_to_its_row(store: SqlStore) -> None:
    platform = SqlPlatformStore(store, OLD)
    platform.add_webhook(hook("wh_1"))
    platform.add_webhook(hook("wh_2", secret="whsec_other"))
    with store.engine.begin() as conn:
        conn.execute(
            text("UPDATE platform_webhooks SET secret = :s WHERE webhook_id = 'wh_2'"),
            {"s": stored(store)["wh_1"]},
        )
    with pytest.raises(StorageUnavailable, match="does not open"):
        platform.get_webhook("wh_2")


def test_legacy_plain_text_is_sealed_on_open(store: SqlStore) -> None:
    SqlPlatformStore(store, OLD)  # the tables
    with store.engine.begin() as conn:  # as a release before encryption stored it
        conn.execute(
            text(
                "INSERT INTO platform_webhooks VALUES "
                "('wh_old', 'shop', 'http://127.0.0.1:9/hook', 'recall', :s, 1, -1)"
            ),
            {"s": SECRET},
        )
    platform = SqlPlatformStore(store, OLD)
    assert stored(store)["wh_old"].startswith("enc:v1:k1:")
    assert platform.get_webhook("wh_old").secret == SECRET  # type: ignore[union-attr]


def test_rotation(store: SqlStore) -> None:
    SqlPlatformStore(store, OLD).add_webhook(hook())
    rotated = SqlPlatformStore(store, BOTH)
    assert stored(store)["wh_1"].startswith("enc:v1:k2:")
    assert rotated.reseal() == 0  # nothing left under k1
    assert SqlPlatformStore(store, NEW).get_webhook("wh_1") == hook()  # k1 can go


def test_missing_or_wrong_key_stops_at_open(store: SqlStore) -> None:
    SqlPlatformStore(store, OLD).add_webhook(hook())
    with pytest.raises(StorageUnavailable, match="key id 'k1'") as missing:
        SqlPlatformStore(store, NEW)
    assert missing.value.code == "secrets_key_missing"
    impostor = SecretBox.from_text(new_key_text("k1"))
    with pytest.raises(StorageUnavailable, match="not the one it was sealed with") as wrong:
        SqlPlatformStore(store, impostor)
    assert wrong.value.code == "secrets_key_wrong"
    with pytest.raises(StorageUnavailable, match="TRACEMARK_SECRETS_KEY"):
        SqlPlatformStore(store).get_webhook("wh_1")  # a store given no key at all


def test_settings(tmp_path: Path) -> None:
    key = new_key_text("prod-2026")
    parsed = Settings.from_env({"TRACEMARK_SECRETS_KEY": f"{key}, {new_key_text('old')}"})
    assert parsed.secrets_box().key_id == "prod-2026"
    with pytest.raises(InvalidInput, match="TRACEMARK_SECRETS_KEY"):
        Settings.from_env({"TRACEMARK_ENV": "production"})
    for bad in ("k1", "k1:short", "bad id:" + key.split(":")[1], f"{key} {key}"):
        with pytest.raises(InvalidInput, match="TRACEMARK_SECRETS_KEY"):
            Settings.from_env({"TRACEMARK_SECRETS_KEY": bad})
    home = tmp_path / "home"
    dev = Settings.from_env({"TRACEMARK_HOME": str(home)})
    first = dev.secrets_box()
    assert stat.S_IMODE(os.stat(home / "secrets.key").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(home).st_mode) == 0o700
    assert dev.secrets_box() == first  # the same key on every start
    assert list(home.iterdir()) == [home / "secrets.key"]  # no file left aside
