"""Bytes for photos and attachments, made without any imaging library.

Every photo is the same small grey baseline JPEG, made unique by a COM
segment that names it.  Attachments are tiny but carry the right magic: a
minimal valid PDF, or an OLE2 compound-file header for .doc and .xls.
"""

from __future__ import annotations

import struct
from functools import cache

JPEG_WIDTH, JPEG_HEIGHT = 640, 424


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


@cache
def _jpeg_parts() -> tuple[bytes, bytes]:
    """(everything up to and including APP0, the rest), so a COM segment fits between."""
    app0 = _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    dqt = _segment(0xDB, b"\x00" + bytes([1] * 64))
    sof0 = _segment(0xC0, struct.pack(">BHHB", 8, JPEG_HEIGHT, JPEG_WIDTH, 1) + b"\x01\x11\x00")
    # One-code Huffman tables: DC "category 0" and AC "end of block" are both the bit 0,
    # so every 8x8 block is two zero bits and the picture is flat grey.
    one_code = bytes([1] + [0] * 15) + b"\x00"
    dht = _segment(0xC4, b"\x00" + one_code) + _segment(0xC4, b"\x10" + one_code)
    sos = _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    blocks = (JPEG_WIDTH // 8) * (-(-JPEG_HEIGHT // 8))
    bits = 2 * blocks
    data = bytes(bits // 8) + (b"\x3f" if bits % 8 else b"")  # pad the last byte with 1s
    return b"\xff\xd8" + app0, dqt + sof0 + dht + sos + data + b"\xff\xd9"


def jpeg_bytes(name: str) -> bytes:
    """A valid JPEG whose bytes are unique to `name`."""
    head, tail = _jpeg_parts()
    return head + _segment(0xFE, f"replica photo {name}".encode("utf-8")) + tail


def pdf_bytes(name: str) -> bytes:
    """A one-page PDF with a correct cross-reference table."""
    label = "".join(c for c in name if c.isascii() and c.isalnum() or c in "._-")
    stream = f"BT /F1 14 Tf 72 770 Td (Attachment {label}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref_at)
    return bytes(out)


def ole_bytes(name: str) -> bytes:
    """An OLE2 compound-file header (.doc, .xls magic) and one sector naming the file."""
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(16)
        + struct.pack("<HHHHH", 0x3E, 0x03, 0xFFFE, 9, 6) + bytes(6)
        + struct.pack("<IIIIIIIII", 0, 1, 0xFFFFFFFE, 0, 4096, 0xFFFFFFFE, 0, 0xFFFFFFFE, 0)
    )
    header += b"\xff" * (512 - len(header))
    sector = f"replica attachment {name}".encode("utf-8").ljust(512, b"\x00")
    return header + sector


CONTENT_TYPES = {
    "jpg": "image/jpeg",
    "pdf": "application/pdf",
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
}


def media_bytes(filename: str) -> bytes:
    """The bytes for a photo or attachment file name (by its extension)."""
    ext = filename.rsplit(".", 1)[-1]
    if ext == "jpg":
        return jpeg_bytes(filename)
    if ext == "pdf":
        return pdf_bytes(filename)
    return ole_bytes(filename)
