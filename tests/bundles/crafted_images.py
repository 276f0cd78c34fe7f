"""Images crafted the way an attacker hides text in them, each carrying ``MARKER``.

JPEG: bytes after the end-of-image marker, COM and APP1 segments between the scans of a
progressive JPEG, an Adobe APP14 segment with a payload, a JFIF thumbnail, an EXIF block.
PNG: tEXt, iTXt, zTXt and eXIf chunks, a private ancillary chunk and bytes after IEND.
DICOM: a patient name in the header. Every image has real pixels (a gradient) so that a
display rendering can be compared with the original.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image, PngImagePlugin

MARKER = b"SECRET-IMAGE-MARKER-7f3a"
MARKER_TEXT = MARKER.decode()


def gradient(mode: str = "RGB", size: tuple[int, int] = (32, 24)) -> Image.Image:
    width, height = size
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    grey = ((x + y) / 2).astype(np.uint8)
    if mode == "L":
        return Image.fromarray(grey, mode="L")
    rgb = np.stack([grey, np.broadcast_to(x, grey.shape).astype(np.uint8), 255 - grey], axis=-1)
    return Image.fromarray(rgb, mode="RGB")


def segment(marker: int, payload: bytes) -> bytes:
    return b"\xff" + bytes([marker]) + struct.pack(">H", len(payload) + 2) + payload


def _jpeg(progressive: bool) -> bytes:
    out = io.BytesIO()
    gradient().save(out, format="JPEG", quality=90, progressive=progressive)
    return out.getvalue()


def jpeg_with_trailing_bytes() -> bytes:
    return _jpeg(False) + b"\x00" * 7 + MARKER + b"\xff\xd9" + MARKER


def jpeg_with_segments_between_scans() -> bytes:
    data = _jpeg(True)
    first = data.index(b"\xff\xda")
    second = data.index(b"\xff\xda", first + 2)
    hidden = segment(0xFE, b"COM " + MARKER) + segment(0xE1, b"Exif\x00\x00" + MARKER)
    hidden += segment(0xEB, b"APP11 " + MARKER)
    return data[:second] + hidden + data[second:]


def jpeg_with_adobe_payload() -> bytes:
    data = _jpeg(False)
    adobe = segment(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00\x00" + MARKER)
    exif = segment(0xE1, b"Exif\x00\x00" + MARKER)
    return data[:2] + adobe + exif + data[2:]


def jpeg_with_jfif_thumbnail() -> bytes:
    data = _jpeg(False)
    assert data[2:4] == b"\xff\xe0", "Pillow writes a JFIF header first"
    (length,) = struct.unpack(">H", data[4:6])
    thumb = MARKER + b"\x00" * (-len(MARKER) % 3)
    jfif = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01" + bytes([len(thumb) // 3, 1]) + thumb
    return data[:2] + segment(0xE0, jfif) + data[4 + length :]


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def png_with_every_text_chunk() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", MARKER_TEXT)
    info.add_itxt("Description", MARKER_TEXT, lang="en", tkey="Description")
    info.add_text("Software", MARKER_TEXT * 40, zip=True)  # a zTXt chunk (compressed)
    out = io.BytesIO()
    gradient().save(out, format="PNG", pnginfo=info)
    data = out.getvalue()
    iend = data.rindex(b"IEND") - 4
    extra = png_chunk(b"eXIf", b"MM\x00*" + MARKER) + png_chunk(b"prVt", MARKER)
    return data[:iend] + extra + data[iend:] + MARKER


def png_with_data_after_the_zlib_stream() -> bytes:
    """An IDAT whose zlib stream is followed by the marker (decoders stop at the stream's end)."""
    image = gradient("L")
    width, height = image.size
    raw = b"".join(b"\x00" + image.tobytes()[y * width : (y + 1) * width] for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(raw) + MARKER)
        + png_chunk(b"IEND", b"")
    )


def png_bomb_header(width: int = 60_000, height: int = 60_000) -> bytes:
    """A PNG that claims ``width`` x ``height`` grey pixels (a decompression bomb's header)
    with the first rows of data only: nothing may decode it."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width + 1) * 4)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", rows)
        + png_chunk(b"IEND", b"")
    )


def dicom_bytes(
    *,
    rows: int = 4,
    columns: int = 4,
    frames: int | None = None,
    pixel_data: bytes | None = None,
    patient: str = "Doe^Jane",
) -> bytes:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientName = patient
    ds.Rows, ds.Columns = rows, columns
    if frames is not None:
        ds.NumberOfFrames = frames
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    if pixel_data is None:
        count = rows * columns * (frames or 1)
        pixel_data = (np.arange(count, dtype=np.uint16) % 4096).tobytes()
    ds.PixelData = pixel_data
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


CRAFTED_JPEGS = {
    "trailing.jpg": jpeg_with_trailing_bytes,
    "between-scans.jpg": jpeg_with_segments_between_scans,
    "adobe.jpg": jpeg_with_adobe_payload,
    "thumbnail.jpg": jpeg_with_jfif_thumbnail,
}
CRAFTED_PNGS = {
    "chunks.png": png_with_every_text_chunk,
    "after-zlib.png": png_with_data_after_the_zlib_stream,
}
