"""api/accounts.py and api/passkeys.py without HTTP: session expiry, invites, TOTP reuse,
passwords at rest, and passkey challenges that are single use and bound to their purpose."""

from __future__ import annotations

import pyotp
import pytest

from api.accounts import Accounts, SignInFailed, hash_token
from api.passkeys import Ceremonies, PasskeyRefused
from api.settings import ConsoleSettings
from ledger.errors import Conflict, InvalidInput
from ledger.storage.sql.console import memory_console_store

T = 1_800_000_000_000
SETTINGS = ConsoleSettings(session_idle_s=600, session_max_s=3600, invite_s=3600)
PASSWORD = "a sufficiently long password"  # TEST ONLY


def _accounts() -> Accounts:
    return Accounts(memory_console_store(), SETTINGS)


def _member(accounts: Accounts, name: str = "ops") -> tuple[str, pyotp.TOTP]:
    invite, token = accounts.invite("operator", now=T, name=name)
    totp = pyotp.TOTP(invite.totp_secret)
    accounts.redeem_with_password(token, PASSWORD, totp.at(T // 1000), now=T)
    return token, totp


def test_sessions_end_when_idle_and_at_their_absolute_expiry() -> None:
    accounts = _accounts()
    _member(accounts)
    account = accounts.store.account_named("ops")
    assert account is not None
    token, session = accounts.start_session(account, now=T)
    assert accounts.store.session(hash_token(token)) == session  # kept hashed, not as is
    assert accounts.current(token, now=T + 599_000) is not None  # touched: idle restarts
    assert accounts.current(token, now=T + 599_000 + 599_000) is not None
    assert accounts.current(token, now=T + 599_000 + 599_000 + 600_000) is None  # idle
    assert accounts.store.session(hash_token(token)) is None  # and it is gone
    token, _ = accounts.start_session(account, now=T)
    moment = T
    while moment + 500_000 < T + 3600_000:  # active all along, but not forever
        moment += 500_000
        assert accounts.current(token, now=moment) is not None
    assert accounts.current(token, now=T + 3600_000) is None
    assert accounts.current("", now=T) is None
    assert accounts.current("x" * 500, now=T) is None


def test_a_new_session_ends_the_one_it_replaces() -> None:
    accounts = _accounts()
    _member(accounts)
    account = accounts.store.account_named("ops")
    assert account is not None
    first, one = accounts.start_session(account, now=T)
    second, two = accounts.start_session(account, now=T, replaces=first)
    assert accounts.current(first, now=T) is None
    assert accounts.current(second, now=T) is not None
    assert one.csrf != two.csrf
    assert accounts.csrf_ok(two, two.csrf) and not accounts.csrf_ok(two, one.csrf)
    assert not accounts.csrf_ok(two, "")


def test_passwords_are_argon2id_and_a_totp_code_works_once() -> None:
    accounts = _accounts()
    _, totp = _member(accounts)
    account = accounts.store.account_named("ops")
    assert account is not None and account.password_hash.startswith("$argon2id$")
    assert PASSWORD not in account.password_hash
    code = totp.at(T // 1000 + 60)
    assert accounts.sign_in_password("ops", PASSWORD, code, now=T + 60_000).name == "ops"
    with pytest.raises(SignInFailed):  # the same code again
        accounts.sign_in_password("ops", PASSWORD, code, now=T + 61_000)
    with pytest.raises(SignInFailed):
        accounts.sign_in_password(
            "ops", "wrong password!", totp.at(T // 1000 + 120), now=T + 120_000
        )
    with pytest.raises(SignInFailed):
        accounts.sign_in_password("nobody", PASSWORD, "123456", now=T)


def test_invites_are_bound_single_use_and_expire() -> None:
    accounts = _accounts()
    with pytest.raises(InvalidInput, match="actor id"):
        accounts.invite("seller", now=T)
    with pytest.raises(InvalidInput, match="names no actor"):
        accounts.invite("operator", now=T, actor_id="shop-a")
    with pytest.raises(InvalidInput):
        accounts.invite("wizard", now=T)
    invite, token = accounts.invite("seller", now=T, actor_id="shop-a", handle="tiktok:@shopa")
    assert invite.token_hash == hash_token(token) and accounts.store.invite(token.encode()) is None
    with pytest.raises(Conflict, match="expired"):
        accounts.open_invite(token, now=T + 3600_000)
    totp = pyotp.TOTP(invite.totp_secret)
    with pytest.raises(InvalidInput, match="authenticator code"):
        accounts.redeem_with_password(token, PASSWORD, "000000", now=T)
    with pytest.raises(InvalidInput, match="12"):
        accounts.redeem_with_password(token, "short", totp.at(T // 1000), now=T)
    made = accounts.redeem_with_password(token, PASSWORD, totp.at(T // 1000), now=T)
    assert (made.role, made.actor_id, made.handle, made.status) == (
        "seller",
        "shop-a",
        "tiktok:@shopa",
        "pending",
    )
    with pytest.raises(Conflict, match="used"):
        accounts.redeem_with_password(token, PASSWORD, totp.at(T // 1000 + 30), now=T + 30_000)


def test_passkey_challenges_are_single_use_and_bound_to_their_ceremony() -> None:
    accounts = _accounts()
    ceremonies = Ceremonies(accounts.store, "https://console.example.test")
    assert ceremonies.rp_id == "console.example.test"
    invite, _ = accounts.invite("operator", now=T, name="pk")
    options = ceremonies.registration_options(invite, now=T)
    public = options["publicKey"]
    assert public["rp"]["id"] == "console.example.test"
    assert public["authenticatorSelection"]["residentKey"] == "required"
    assert public["authenticatorSelection"]["userVerification"] == "required"
    with pytest.raises(PasskeyRefused, match="refused"):  # a made-up answer
        ceremonies.finish_registration(invite, options["challenge_id"], {"id": "x"}, now=T)
    with pytest.raises(PasskeyRefused, match="expired or is unknown"):  # used up above
        ceremonies.finish_registration(invite, options["challenge_id"], {"id": "x"}, now=T)
    signin = ceremonies.authentication_options(now=T)
    with pytest.raises(PasskeyRefused, match="expired or is unknown"):  # wrong ceremony
        ceremonies.finish_registration(invite, signin["challenge_id"], {}, now=T)
    late = ceremonies.authentication_options(now=T)
    with pytest.raises(PasskeyRefused, match="expired or is unknown"):
        ceremonies.finish_authentication(late["challenge_id"], {"id": "x"}, now=T + 121_000)
    fresh = ceremonies.authentication_options(now=T)
    with pytest.raises(PasskeyRefused, match="not known"):
        ceremonies.finish_authentication(fresh["challenge_id"], {"id": "unknown"}, now=T)
