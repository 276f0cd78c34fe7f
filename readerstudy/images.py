"""Image files: type detection and removal of metadata that could identify a case or source.

PNG and JPEG files are rewritten chunk by chunk (pixels untouched): text, EXIF, time,
ICC-profile and comment blocks are dropped, because they can carry names, dates, device
or software strings. DICOM files are stored as they are and never sent to raters.
"""

from __future__ import annotations

import struct
import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Chunks needed to decode and display a PNG; everything else is dropped.
PNG_KEEP = {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"sBIT"}


class ImageError(ValueError):
    """The bytes are not a well-formed image of the claimed type."""


def sniff_content_type(data: bytes) -> str | None:
    if data.startswith(PNG_SIGNATURE):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) > 132 and data[128:132] == b"DICM":
        return "application/dicom"
    return None


def strip_png(data: bytes) -> bytes:
    if not data.startswith(PNG_SIGNATURE):
        raise ImageError("not a PNG file")
    out = [PNG_SIGNATURE]
    pos = len(PNG_SIGNATURE)
    seen_end = False
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise ImageError("truncated PNG chunk")
        chunk = data[pos:end]
        crc = struct.unpack(">I", chunk[-4:])[0]
        if zlib.crc32(kind + chunk[8:-4]) & 0xFFFFFFFF != crc:
            raise ImageError(f"bad CRC in PNG chunk {kind!r}")
        if kind in PNG_KEEP:
            out.append(chunk)
        pos = end
        if kind == b"IEND":
            seen_end = True
            break
    if not seen_end:
        raise ImageError("PNG has no IEND chunk")
    return b"".join(out)


def strip_jpeg(data: bytes) -> bytes:
    if not data.startswith(b"\xff\xd8"):
        raise ImageError("not a JPEG file")
    out = [b"\xff\xd8"]
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise ImageError("malformed JPEG marker")
        marker = data[pos + 1]
        if marker == 0xD9:  # EOI without scan
            out.append(data[pos : pos + 2])
            return b"".join(out)
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        segment = data[pos : pos + 2 + length]
        if marker == 0xDA:  # start of scan: the rest is entropy-coded data
            out.append(data[pos:])
            return b"".join(out)
        keep = not (0xE1 <= marker <= 0xEF or marker == 0xFE)  # drop APP1..APP15 and COM
        if marker == 0xE0 and segment[4:9] != b"JFIF\x00":
            keep = False
        if marker == 0xEE:  # Adobe APP14 decides the colour transform
            keep = True
        if keep:
            out.append(segment)
        pos += 2 + length
    raise ImageError("truncated JPEG")


def strip_metadata(data: bytes, content_type: str) -> bytes:
    """Return the image without metadata blocks (DICOM is returned unchanged)."""
    if content_type == "image/png":
        return strip_png(data)
    if content_type == "image/jpeg":
        return strip_jpeg(data)
    return data
