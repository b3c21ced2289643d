"""Key files (adapter: file I/O). Private keys are PKCS#8 PEM, encrypted with a passphrase,
or unencrypted with 0600 permissions and a warning. Created with O_EXCL: never overwritten."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ledger.errors import InvalidInput, NotFound
from ledger.keys import PrivateKey

__all__ = ["UNENCRYPTED_WARNING", "load_private_key", "save_private_key", "save_public_key"]

UNENCRYPTED_WARNING = (
    "the private key is stored unencrypted (mode 0600); set a passphrase for production"
)


def save_private_key(path: Path, key: PrivateKey, passphrase: bytes | None) -> list[str]:
    """Write a new key file readable only by its owner. Returns warnings to show."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = key.to_pkcs8_pem(passphrase)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Bad usage (exit 2), not a conflict with the ledger (exit 4): docs/cli.md.
        raise InvalidInput(f"{path} already exists; refusing to overwrite a key") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return [] if passphrase else [UNENCRYPTED_WARNING]


def save_public_key(path: Path, key: PrivateKey) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(key.public_key.to_text() + "\n", encoding="ascii")


def load_private_key(path: Path, passphrase: bytes | None) -> tuple[PrivateKey, list[str]]:
    """Read a key file. Returns the key and warnings (loose permissions, no encryption)."""
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"key file {path} does not exist") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read key file {path}: {exc.strerror}") from None
    warnings: list[str] = []
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        warnings.append(f"{path} is readable by other users; run: chmod 600 {path}")
    key = PrivateKey.from_pkcs8_pem(data, passphrase)
    if b"ENCRYPTED" not in data:
        warnings.append(UNENCRYPTED_WARNING)
    return key, warnings
