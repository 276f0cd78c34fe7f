"""Image files: type detection and removal of metadata from the stored copy.

Two copies of each case image are kept (see ``readerstudy.studies.display``):

* the **stored** file (exported by ``export_study``, sent to models by generation runs): a
  PNG or JPEG rewritten block by block with its pixels untouched; text, EXIF, time,
  ICC-profile and comment blocks are dropped, because they can carry names, dates, device
  or software strings. For JPEG the whole file is walked, scan by scan: comment and APPn
  segments are dropped wherever they are (also between the scans of a progressive JPEG),
  the JFIF header loses its thumbnail, the Adobe APP14 segment is rebuilt with its colour
  transform only, and nothing after the end-of-image marker is kept. DICOM files are
  stored as they are.
* the **display** rendering, the only thing readers and raters ever receive: a PNG
  encoded afresh from the decoded pixels (``readerstudy.studies.display.render_display``).
"""

from __future__ import annotations

import struct
import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Chunks needed to decode and display a PNG; everything else is dropped.
PNG_KEEP = {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"sBIT"}

JPEG_SOI, JPEG_EOI, JPEG_SOS = 0xD8, 0xD9, 0xDA
JPEG_COM, JPEG_APP0, JPEG_APP14 = 0xFE, 0xE0, 0xEE
JPEG_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and RST0..RST7 carry no length


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


def _scan_end(data: bytes, pos: int) -> int:
    """Where the entropy-coded data starting at ``pos`` ends: the next marker that is not a
    stuffed byte (``FF 00``), a restart marker or fill (``FF FF``)."""
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= len(data):
            raise ImageError("JPEG scan data runs to the end of the file (no end-of-image marker)")
        following = data[pos + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7:
            pos += 2
        elif following == 0xFF:
            pos += 1
        else:
            return pos


def _jfif(payload: bytes) -> bytes | None:
    """The JFIF APP0 header without its thumbnail (version, units, density only)."""
    if not payload.startswith(b"JFIF\x00") or len(payload) < 12:
        return None
    body = payload[:12] + b"\x00\x00"
    return b"\xff\xe0" + struct.pack(">H", len(body) + 2) + body


def _adobe(payload: bytes) -> bytes | None:
    """The Adobe APP14 segment with only its colour transform (it decides how to decode)."""
    if not payload.startswith(b"Adobe") or len(payload) < 12:
        return None
    body = b"Adobe\x00\x64\x00\x00\x00\x00" + payload[11:12]
    return b"\xff\xee" + struct.pack(">H", len(body) + 2) + body


def strip_jpeg(data: bytes) -> bytes:
    """The JPEG rebuilt from its decoding segments and scans only (see the module doc)."""
    if not data.startswith(b"\xff\xd8"):
        raise ImageError("not a JPEG file")
    out = [b"\xff\xd8"]
    pos, n = 2, len(data)
    scans = 0
    while True:
        if pos >= n or data[pos] != 0xFF:
            raise ImageError("malformed JPEG marker" if pos < n else "truncated JPEG")
        while pos < n and data[pos] == 0xFF:  # a marker may be preceded by fill bytes
            pos += 1
        if pos >= n:
            raise ImageError("truncated JPEG")
        marker = data[pos]
        pos += 1
        if marker == JPEG_EOI:
            if not scans:
                raise ImageError("JPEG has no image data")
            out.append(b"\xff\xd9")
            return b"".join(out)  # whatever follows the end-of-image marker is dropped
        if marker in JPEG_STANDALONE or marker == JPEG_SOI:
            raise ImageError(f"unexpected JPEG marker 0xFF{marker:02X}")
        if pos + 2 > n:
            raise ImageError("truncated JPEG")
        (length,) = struct.unpack(">H", data[pos : pos + 2])
        if length < 2 or pos + length > n:
            raise ImageError("truncated JPEG segment")
        segment = b"\xff" + bytes([marker]) + data[pos : pos + length]
        payload = data[pos + 2 : pos + length]
        pos += length
        if marker == JPEG_SOS:
            end = _scan_end(data, pos)
            out.append(segment)
            out.append(data[pos:end])
            pos = end
            scans += 1
        elif marker == JPEG_APP0:
            rebuilt = _jfif(payload)
            if rebuilt is not None and scans == 0:
                out.append(rebuilt)
        elif marker == JPEG_APP14:
            rebuilt = _adobe(payload)
            if rebuilt is not None and scans == 0:
                out.append(rebuilt)
        elif marker == JPEG_COM or 0xE1 <= marker <= 0xEF:
            continue  # comments and application segments: metadata
        else:
            out.append(segment)  # SOFn, DHT, DQT, DRI, DNL, DAC, EXP: needed to decode


JPEG_SOF = {*range(0xC0, 0xC4), *range(0xC5, 0xC8), *range(0xC9, 0xCC), *range(0xCD, 0xD0)}


def header_size(data: bytes, content_type: str) -> tuple[int, int]:
    """(width, height) of a PNG or JPEG read from its header, without decoding anything."""
    if content_type == "image/png":
        if not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR" or len(data) < 24:
            raise ImageError("PNG has no IHDR chunk")
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if content_type == "image/jpeg":
        pos, n = 2, len(data)
        while pos + 4 <= n and data[pos] == 0xFF:
            marker = data[pos + 1]
            if marker == 0xFF:
                pos += 1
                continue
            (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
            if marker in JPEG_SOF and pos + 9 <= n:
                height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
                return width, height
            if marker == JPEG_SOS:
                break
            pos += 2 + length
        raise ImageError("JPEG has no frame header (SOF) before its image data")
    raise ImageError(f"no header size for {content_type}")


def strip_metadata(data: bytes, content_type: str) -> bytes:
    """Return the image without metadata blocks (DICOM is returned unchanged)."""
    if content_type == "image/png":
        return strip_png(data)
    if content_type == "image/jpeg":
        return strip_jpeg(data)
    return data
