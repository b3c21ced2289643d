"""Key files (adapter: file I/O). Private keys are PKCS#8 PEM, encrypted with a passphrase
or unencrypted with a warning, always mode 0600 in folders made 0700 (``ledger.files``).
Created with O_EXCL: never overwritten."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ledger.errors import InvalidInput, NotFound
from ledger.files import PRIVATE_FILE_MODE, private_dir
from ledger.keys import PrivateKey
from ledger.secret_box import SecretBox, new_key_text

__all__ = [
    "UNENCRYPTED_WARNING",
    "load_or_create_secrets_key",
    "load_private_key",
    "save_private_key",
    "save_public_key",
]

UNENCRYPTED_WARNING = (
    "the private key is stored unencrypted (mode 0600); set a passphrase for production"
)


def save_private_key(path: Path, key: PrivateKey, passphrase: bytes | None) -> list[str]:
    """Write a new key file readable only by its owner. Returns warnings to show."""
    private_dir(path.parent)
    data = key.to_pkcs8_pem(passphrase)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        # Bad usage (exit 2), not a conflict with the ledger (exit 4): docs/cli.md.
        raise InvalidInput(f"{path} already exists; refusing to overwrite a key") from None
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), PRIVATE_FILE_MODE)
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return [] if passphrase else [UNENCRYPTED_WARNING]


def save_public_key(path: Path, key: PrivateKey) -> None:
    private_dir(path.parent)
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


def load_or_create_secrets_key(path: Path) -> SecretBox:
    """Development's key for secrets at rest: ``path`` (one line, ``<id>:<base64url>``),
    made 0600 with a fresh key when missing. Processes starting together agree: the file
    appears whole (written aside, then linked into place) and the first one wins."""
    if not path.exists():
        private_dir(path.parent)
        aside = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            os.fchmod(handle.fileno(), PRIVATE_FILE_MODE)
            handle.write(new_key_text("dev1") + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(aside, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            aside.unlink()
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeError) as exc:
        raise InvalidInput(f"cannot read the secrets key {path}: {exc}") from None
    return SecretBox.from_text(text, name=str(path))
