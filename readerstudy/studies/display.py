"""Display renderings of case images: the only image bytes readers and raters receive.

Every image gets its display rendering once, when it is imported: a PNG encoded afresh from
the decoded pixels, so nothing but pixels reaches a reader or rater (no text, EXIF, ICC or
comment block, no bytes after the end of the image, no payload hidden in a segment the
decoder skips). Before anything is decoded its size is read from the header and checked
against ``IMAGE_MAX_PIXELS`` (width x height of one frame) and, for DICOM,
``DICOM_MAX_FRAMES``, so a decompression bomb is refused without being decoded.

* PNG and JPEG: decoded with Pillow; 8-bit grey, grey+alpha, RGB, RGBA and 16-bit grey
  keep their mode, palettes and transparency keys become RGB(A), CMYK and YCbCr become RGB.
* DICOM: only the first frame is decoded; its pixel data is rescaled (slope/intercept) and
  mapped linearly to 8-bit grayscale over its stored window (Window Center/Width) or, without
  one, over its full value range (RGB images are sent as RGB). The PNG carries no DICOM
  attribute at all. The reading page's window/level then works on that 8-bit image.

Images stored before display renderings existed get theirs on their first request (with
the same limits) and keep it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from readerstudy.core.images import ImageError, header_size
from readerstudy.studies.models import CaseImage, case_image_path

PIL_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG"}
#: Pillow modes written as they are; the others are converted (see ``_display_mode``).
KEEP_MODES = {"1", "L", "LA", "RGB", "RGBA", "I;16"}
DISPLAY_CONTENT_TYPE = "image/png"


class ImageDisplayError(ValueError):
    """The stored image cannot be turned into something a browser displays."""


@dataclass(frozen=True)
class ImageGeometry:
    """Size of an image read from its header: one frame's pixels and the frame count."""

    width: int
    height: int
    frames: int = 1


def _first(value: object) -> float | None:
    """A DICOM number (or the first of a multi-valued one) as float; None when absent."""
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        value = value[0] if len(value) else None
    if value is None:
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _read_dicom(data: bytes, *, header_only: bool) -> object:
    import pydicom

    try:
        return pydicom.dcmread(io.BytesIO(data), stop_before_pixels=header_only)
    except Exception as exc:  # pydicom raises many types for damaged files
        raise ImageDisplayError(f"not a readable DICOM file: {exc}") from exc


def _dicom_geometry(ds: object) -> ImageGeometry:
    rows, columns = getattr(ds, "Rows", None), getattr(ds, "Columns", None)
    if not isinstance(rows, int) or not isinstance(columns, int) or rows < 1 or columns < 1:
        raise ImageDisplayError("the DICOM file has no Rows and Columns (no image in it)")
    frames = _first(getattr(ds, "NumberOfFrames", None)) or 1
    return ImageGeometry(columns, rows, max(int(frames), 1))


def image_geometry(data: bytes, content_type: str) -> ImageGeometry:
    """Width, height and frames from the header alone (nothing is decoded)."""
    if content_type == "application/dicom":
        return _dicom_geometry(_read_dicom(data, header_only=True))
    if content_type not in PIL_FORMATS:
        raise ImageDisplayError(f"{content_type} images cannot be displayed")
    try:
        width, height = header_size(data, content_type)
    except ImageError as exc:
        raise ImageDisplayError(str(exc)) from exc
    return ImageGeometry(width, height)


def geometry_problem(geometry: ImageGeometry, *, max_pixels: int, max_frames: int) -> str | None:
    """Why an image of this size is refused (``IMAGE_MAX_PIXELS``, ``DICOM_MAX_FRAMES``)."""
    pixels = geometry.width * geometry.height
    if pixels > max_pixels:
        return (
            f"{geometry.width} x {geometry.height} = {pixels:,} pixels; the limit is "
            f"{max_pixels:,} pixels per image (READERSTUDY_IMAGE_MAX_PIXELS)"
        )
    if geometry.frames > max_frames:
        return (
            f"{geometry.frames:,} frames; the limit is {max_frames:,} "
            "(READERSTUDY_DICOM_MAX_FRAMES)"
        )
    return None


def _check(geometry: ImageGeometry, max_pixels: int | None, max_frames: int | None) -> None:
    problem = geometry_problem(
        geometry,
        max_pixels=settings.IMAGE_MAX_PIXELS if max_pixels is None else max_pixels,
        max_frames=settings.DICOM_MAX_FRAMES if max_frames is None else max_frames,
    )
    if problem is not None:
        raise ImageDisplayError(problem)


def _png(image: Image.Image) -> bytes:
    image.info = {}  # no transparency, ICC profile, gamma or text travels with the pixels
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=6)
    return out.getvalue()


def _display_mode(image: Image.Image) -> Image.Image:
    has_key = "transparency" in image.info
    if image.mode in ("P", "PA"):
        return image.convert("RGBA" if has_key or image.mode == "PA" else "RGB")
    if image.mode == "L" and has_key:
        return image.convert("LA")
    if image.mode == "RGB" and has_key:
        return image.convert("RGBA")
    if image.mode in KEEP_MODES:
        return image
    if image.mode in ("I;16B", "I;16L", "I;16N", "I"):
        return image.convert("I;16") if image.mode != "I" else _clip16(image)
    return image.convert("RGB")


def _clip16(image: Image.Image) -> Image.Image:
    values = np.clip(np.asarray(image), 0, 65535).astype(np.uint16)
    return Image.fromarray(values, mode="I;16")


def _pillow_to_png(
    data: bytes, content_type: str, max_pixels: int | None, max_frames: int | None
) -> bytes:
    try:
        with Image.open(io.BytesIO(data), formats=[PIL_FORMATS[content_type]]) as im:
            _check(ImageGeometry(*im.size), max_pixels, max_frames)  # as Pillow reads it
            im.load()
            return _png(_display_mode(im))
    except Image.DecompressionBombError as exc:
        raise ImageDisplayError(str(exc)) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageDisplayError(f"cannot decode the image: {exc}") from exc


def dicom_to_png(
    data: bytes, *, max_pixels: int | None = None, max_frames: int | None = None
) -> bytes:
    """An 8-bit PNG of the first frame of a DICOM image (grayscale windowed, or RGB)."""
    from pydicom.pixels import pixel_array

    ds = _read_dicom(data, header_only=False)
    _check(_dicom_geometry(ds), max_pixels, max_frames)
    samples = int(getattr(ds, "SamplesPerPixel", 1) or 1)
    try:
        frame = pixel_array(ds, index=0)  # type: ignore[arg-type]
    except Exception as exc:  # pydicom raises many types for bad or compressed data
        raise ImageDisplayError(f"cannot decode the DICOM pixel data: {exc}") from exc
    if samples == 3 and frame.ndim == 3 and frame.shape[-1] == 3:
        rgb = frame if frame.dtype == np.uint8 else _to_uint8(frame.astype(np.float32))
        return _png(Image.fromarray(np.ascontiguousarray(rgb), mode="RGB"))
    if frame.ndim != 2:
        raise ImageDisplayError("only grayscale and RGB DICOM images are displayed")
    slope = _first(getattr(ds, "RescaleSlope", None)) or 1.0
    intercept = _first(getattr(ds, "RescaleIntercept", None)) or 0.0
    values = frame.astype(np.float32)
    del frame
    values *= np.float32(slope)
    values += np.float32(intercept)
    center = _first(getattr(ds, "WindowCenter", None))
    width = _first(getattr(ds, "WindowWidth", None))
    if center is not None and width is not None and width > 0:
        low, high = center - width / 2, center + width / 2
    else:
        low, high = float(values.min()), float(values.max())
    scaled = _to_uint8(values, low, high)
    if getattr(ds, "PhotometricInterpretation", "") == "MONOCHROME1":
        scaled = 255 - scaled
    return _png(Image.fromarray(scaled, mode="L"))


def _to_uint8(
    values: np.ndarray, low: float | None = None, high: float | None = None
) -> np.ndarray:
    """Map ``values`` linearly from [low, high] (default: their range) to 0..255, in place."""
    low = float(values.min()) if low is None else low
    high = float(values.max()) if high is None else high
    span = high - low if high > low else 1.0
    values -= np.float32(low)
    values *= np.float32(255 / span)
    np.clip(values, 0, 255, out=values)
    np.rint(values, out=values)
    return values.astype(np.uint8)


def render_display(
    data: bytes,
    content_type: str,
    *,
    max_pixels: int | None = None,
    max_frames: int | None = None,
) -> bytes:
    """The display PNG of an image (limits default to the settings)."""
    if content_type == "application/dicom":
        return dicom_to_png(data, max_pixels=max_pixels, max_frames=max_frames)
    _check(image_geometry(data, content_type), max_pixels, max_frames)
    return _pillow_to_png(data, content_type, max_pixels, max_frames)


def save_display(image: CaseImage, png: bytes) -> str:
    """Store ``png`` under a fresh opaque name; returns the storage name."""
    return default_storage.save(case_image_path(image, "display.png"), ContentFile(png))


def display_name(image: CaseImage) -> str:
    """Storage name of the image's display rendering (rendered now if it has none yet)."""
    if image.display:
        return str(image.display)  # its name (typed str | None on FieldFile)
    try:
        with default_storage.open(image.file.name, "rb") as fh:
            data = fh.read()
    except FileNotFoundError as exc:
        raise ImageDisplayError("the stored image file is missing") from exc
    name = save_display(image, render_display(data, image.content_type))
    updated = CaseImage.objects.filter(pk=image.pk, display="").update(display=name)
    if not updated:  # another request rendered it first: keep theirs
        default_storage.delete(name)
        image.refresh_from_db(fields=["display"])
        return str(image.display)  # its name (typed str | None on FieldFile)
    image.display.name = name
    return name
