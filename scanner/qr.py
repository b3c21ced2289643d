"""The QR symbol of a label: ``qr_matrix`` encodes a code at error correction level M and
``batch_params`` fixes the version and mask of a batch.

Choosing the QR mask is about 90% of what ``qrcode`` spends on a code. A batch therefore fixes
the version and the mask once, from its first code (``batch_params``); each code is then
encoded with that version and mask by a fast encoder (``qr_matrix``; a code that does not fit
falls back to the smallest larger version). The fast encoder uses qrcode's own segmentation
and block tables, then table-driven Reed-Solomon over GF(256) and a per-(version, mask)
template of where each data bit goes; it makes exactly ``qrcode``'s matrix, which
tests/unit/test_labels.py checks for every version and mask. Every mask is valid QR (ISO/IEC
18004 section 7.8); the choice only affects how hard a symbol is to read.

A matrix (``Matrix``) is the rows of modules without quiet zone, 1 (or True) = dark.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import qrcode
import qrcode.exceptions

from ledger.errors import InvalidInput

__all__ = ["ERROR_CORRECTION", "Matrix", "batch_params", "qr_matrix"]

ERROR_CORRECTION = "M"
_ASCII_BIT = bytes.maketrans(b"01", b"\x00\x01")

Matrix = Sequence[Sequence[int]]  # rows of modules, 1 (or True) = dark


def qr_matrix(
    uri: str, *, version: int | None = None, mask: int | None = None
) -> tuple[Matrix, int]:
    """The modules (1 = dark, no quiet zone) and version of ``uri`` at level M.

    ``version`` None: the smallest that fits; a given version that is too small falls back to
    the smallest larger one. ``mask`` None: ``qrcode`` picks the best (8 times the work).
    With both given, the fast encoder below makes exactly ``qrcode``'s matrix.
    """
    if version is not None and mask is not None and 1 <= version <= 40 and 0 <= mask <= 7:
        rows = _fast_matrix(uri, version, mask)
        if rows is not None:
            return rows, version
    try:
        qr = qrcode.QRCode(
            version=version,
            error_correction=qrcode.constants.ERROR_CORRECT_M,
            border=0,
            mask_pattern=mask,
        )
        qr.add_data(uri)
        try:
            qr.make(fit=version is None)
        except qrcode.exceptions.DataOverflowError:
            if version is None:
                raise
            qr.make(fit=True)  # the smallest version from ``version`` up
    except qrcode.exceptions.DataOverflowError:
        raise InvalidInput(f"a code of {len(uri)} characters does not fit a QR code") from None
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"cannot encode this code as QR: {exc}") from None
    return qr.modules, int(qr.version)


# The fast encoder: qrcode's own segmentation (optimal_data_chunks) and block tables, then
# table-driven Reed-Solomon and a per-(version, mask) template of where each data bit goes.
# tests/unit/test_labels.py checks it against qrcode itself for every version and mask.

_GF_EXP = [0] * 512
_GF_LOG = [0] * 256
_x = 1
for _i in range(255):
    _GF_EXP[_i] = _GF_EXP[_i + 255] = _x
    _GF_LOG[_x] = _i
    _x = (_x << 1) ^ (0x11D if _x & 0x80 else 0)


@functools.lru_cache(maxsize=64)
def _rs_table(ecc: int) -> tuple[int, ...]:
    """For each leading byte f: f times the generator polynomial (monic part dropped)."""
    gen = [1]
    for i in range(ecc):  # multiply by (x - a^i)
        gen = [
            c ^ (_GF_EXP[_GF_LOG[p] + i] if p else 0)
            for c, p in zip([*gen, 0], [0, *gen], strict=True)
        ]
    tail = gen[1:]
    return tuple(
        int.from_bytes(bytes(_GF_EXP[_GF_LOG[f] + _GF_LOG[g]] if f and g else 0 for g in tail))
        for f in range(256)
    )


def _rs_remainder(data: bytes, ecc: int) -> bytes:
    table, shift, full = _rs_table(ecc), 8 * (ecc - 1), (1 << 8 * ecc) - 1
    rem = 0
    for byte in data:
        rem = ((rem << 8) & full) ^ table[byte ^ (rem >> shift)]
    return rem.to_bytes(ecc, "big")


@dataclass(frozen=True)
class _Template:
    modules: bytes  # row-major, function patterns and format/version info for this mask
    positions: tuple[int, ...]  # flat index of each data bit, in placement order
    mask_bits: int  # the mask's value at each of those positions, first position = MSB
    blocks: tuple[tuple[int, int], ...]  # (total, data) codewords per RS block
    gather: Callable[[bytes], tuple[int, ...]]  # picks the final modules, see _fast_matrix


class _Probe(qrcode.QRCode):  # type: ignore[misc]
    """Records which modules qrcode leaves for data (in its placement order)."""

    def map_data(self, data: list[int], mask_pattern: int) -> None:
        n, order = self.modules_count, []
        row, inc = n - 1, -1
        for right in range(n - 1, 0, -2):
            col = right - (right <= 6)  # the vertical timing pattern shifts the columns
            while 0 <= row < n:
                order += [row * n + c for c in (col, col - 1) if self.modules[row][c] is None]
                row += inc
            row, inc = row - inc, -inc
        self.order = order
        super().map_data(data, mask_pattern)


@functools.lru_cache(maxsize=32)
def _template(version: int, mask: int) -> _Template:
    probe = _Probe(version=version, error_correction=qrcode.constants.ERROR_CORRECT_M,
                   border=0, mask_pattern=mask)  # fmt: skip
    probe.add_data("")
    probe.make(fit=False)
    n, test = probe.modules_count, qrcode.util.mask_func(mask)
    mask_bits = 0
    for index in probe.order:
        mask_bits = (mask_bits << 1) | bool(test(*divmod(index, n)))
    modules = bytes(cell for row in probe.modules for cell in row)
    blocks = qrcode.base.rs_blocks(version, qrcode.constants.ERROR_CORRECT_M)
    source = list(range(len(probe.order), len(probe.order) + len(modules)))
    for k, index in enumerate(probe.order):
        source[index] = k
    return _Template(
        modules,
        tuple(probe.order),
        mask_bits,
        tuple((b.total_count, b.data_count) for b in blocks),
        operator.itemgetter(*source),
    )


def _data_codewords(uri: str, version: int, capacity: int) -> bytes | None:
    util = qrcode.util
    bits = length = 0
    for chunk in util.optimal_data_chunks(uri, minimum=20):  # as QRCode.add_data does
        count_bits = util.length_in_bits(chunk.mode, version)
        bits = (bits << 4 | chunk.mode) << count_bits | len(chunk)
        length += 4 + count_bits
        if chunk.mode == util.MODE_8BIT_BYTE:
            bits = bits << 8 * len(chunk.data) | int.from_bytes(chunk.data, "big")
            length += 8 * len(chunk.data)
        else:
            buffer = util.BitBuffer()
            chunk.write(buffer)
            raw = int.from_bytes(bytes(buffer.buffer), "big")
            bits = bits << buffer.length | raw >> (8 * len(buffer.buffer) - buffer.length)
            length += buffer.length
    limit = 8 * capacity
    if length > limit:
        return None
    pad = min(limit - length, 4)  # terminator
    pad += -(length + pad) % 8  # to a whole byte
    data = (bits << pad).to_bytes((length + pad) // 8, "big")
    return data + (b"\xec\x11" * capacity)[: capacity - len(data)]


def _fast_matrix(uri: str, version: int, mask: int) -> list[bytes] | None:
    """qrcode's matrix for ``uri`` at this version and mask, or None if it does not fit."""
    template = _template(version, mask)
    data = _data_codewords(uri, version, sum(d for _, d in template.blocks))
    if data is None:
        return None
    blocks, offset = [], 0
    for total, count in template.blocks:
        part = data[offset : offset + count]
        offset += count
        blocks.append((part, _rs_remainder(part, total - count)))
    words = bytearray()
    for side in (0, 1):  # interleave the data codewords, then the error correction
        for i in range(max(len(b[side]) for b in blocks)):
            words += bytes(b[side][i] for b in blocks if i < len(b[side]))
    positions = template.positions
    spare = len(positions) - 8 * len(words)  # remainder bits: 0 before masking
    value = (int.from_bytes(words, "big") << spare) ^ template.mask_bits
    # Gather at C speed: each module takes its data bit (source index < len(positions)) or
    # its template value (source index len(positions) + its flat index).
    bits = format(value, f"0{len(positions)}b").encode().translate(_ASCII_BIT)
    flat = bytes(template.gather(bits + template.modules))
    n = 17 + 4 * version
    return [flat[r * n : (r + 1) * n] for r in range(n)]


def batch_params(uri: str) -> tuple[int, int]:
    """(version, mask) for a batch, chosen once from a typical code of it."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    qr.add_data(uri)
    qr.make(fit=True)
    return int(qr.version), int(qr.best_mask_pattern())
