"""Display versions of case images for the reading page.

PNG and JPEG are sent as stored (their metadata was stripped at import). A DICOM file is
never sent as such: its pixel data is rescaled (slope/intercept) and mapped linearly to
8-bit grayscale over its stored window (Window Center/Width) or, without one, over its
full value range, and sent as a PNG that carries no DICOM attribute at all. The reading
page's window/level then works on that 8-bit image.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image


class ImageDisplayError(ValueError):
    """The stored image cannot be turned into something a browser displays."""


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


def dicom_to_png(data: bytes) -> bytes:
    """An 8-bit grayscale PNG of a single-frame (or the first frame of a) DICOM image."""
    import pydicom

    try:
        ds = pydicom.dcmread(io.BytesIO(data))
        pixels = ds.pixel_array.astype(np.float64)
    except Exception as exc:  # pydicom raises many types for bad or compressed data
        raise ImageDisplayError(f"cannot decode the DICOM pixel data: {exc}") from exc
    if pixels.ndim == 3 and getattr(ds, "SamplesPerPixel", 1) == 1:
        pixels = pixels[0]
    if pixels.ndim != 2:
        raise ImageDisplayError("only grayscale DICOM images are displayed")
    slope = _first(getattr(ds, "RescaleSlope", None)) or 1.0
    intercept = _first(getattr(ds, "RescaleIntercept", None)) or 0.0
    values = pixels * slope + intercept
    center = _first(getattr(ds, "WindowCenter", None))
    width = _first(getattr(ds, "WindowWidth", None))
    if center is not None and width is not None and width > 0:
        low, high = center - width / 2, center + width / 2
    else:
        low, high = float(values.min()), float(values.max())
    span = high - low if high > low else 1.0
    scaled = np.clip((values - low) / span, 0, 1) * 255
    if getattr(ds, "PhotometricInterpretation", "") == "MONOCHROME1":
        scaled = 255 - scaled
    image = Image.fromarray(np.round(scaled).astype(np.uint8), mode="L")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
