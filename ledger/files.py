"""Files only their owner may read (adapter: file I/O): the database, keys, their folders.

A SQLite database holds the log, the platform's webhook secrets and scan records; a key
file holds a private key. Whatever the process umask, Tracemark creates such files with
mode 0600 and every folder it creates for them with mode 0700. Existing files and folders
keep their modes: they are the operator's (``tracemark`` warns about a loose key file).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["PRIVATE_DIR_MODE", "PRIVATE_FILE_MODE", "create_private_file", "private_dir"]

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Make ``path`` and any missing parents; each folder made here is 0700."""
    missing: list[Path] = []
    here = path
    while not here.exists() and here != here.parent:
        missing.append(here)
        here = here.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:  # made meanwhile by another process: it is theirs
            continue
        os.chmod(folder, PRIVATE_DIR_MODE)  # the umask may have taken bits away
    return path


def create_private_file(path: Path) -> bool:
    """Create ``path`` empty with mode 0600 (folders as ``private_dir``) unless it exists;
    True when it was created here. Never truncates an existing file."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return False
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
    finally:
        os.close(fd)
    return True
