"""DICOM files kept as DICOM: validation, de-identification and slice ordering.

De-identification follows the DICOM PS3.15 Annex E *Basic Application Level
Confidentiality Profile* (table E.1-1) with an **allow-list**: a new dataset is built
from the attributes needed to display the image (``KEEP``) and nothing else, so every
attribute the profile names for removal, every private tag, every sequence, overlay,
curve and unknown attribute is dropped by construction. On top of that:

* Patient Name and Patient ID become an opaque value derived from the case
  (:func:`patient_pseudonym`; neither the case id nor the reader-facing pseudonym).
* Dates and times are removed; the type-2 attributes of the profile (Study Date and
  Time, Patient's Birth Date and Sex, Referring Physician, Accession Number, Study ID)
  are present but empty, as the standard allows.
* Study, Series, SOP Instance and Frame of Reference UIDs are replaced by
  ``2.25.<int>`` UIDs derived with HMAC-SHA256 (:func:`replace_uid`): the same original
  UID maps to the same new UID within one scope (a study), so series and frames of
  reference stay together, and the original cannot be recovered without the key.
* A file with Burned In Annotation = ``YES`` is **refused** (:class:`DicomError`): text
  burned into the pixels cannot be removed by editing the header.
* Patient Identity Removed = ``YES``, De-identification Method and its code sequence
  (DCM 113100, *Basic Application Confidentiality Profile*) are set.
"""

from __future__ import annotations

import hashlib
import hmac
import io
from dataclasses import dataclass

import numpy as np
import pydicom
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID

#: Attributes copied to the de-identified file (when present); nothing else is.
KEEP: tuple[str, ...] = (
    # SOP common, general series / image (non-identifying numbers and codes)
    "SOPClassUID",
    "Modality",
    "SeriesNumber",
    "InstanceNumber",
    "AcquisitionNumber",
    "ImageType",
    "PatientPosition",
    "PatientOrientation",
    "BodyPartExamined",
    "Laterality",
    "ImageLaterality",
    # image pixel module
    "SamplesPerPixel",
    "PhotometricInterpretation",
    "PlanarConfiguration",
    "NumberOfFrames",
    "Rows",
    "Columns",
    "BitsAllocated",
    "BitsStored",
    "HighBit",
    "PixelRepresentation",
    "PixelAspectRatio",
    "PixelData",
    "LossyImageCompression",
    "LossyImageCompressionRatio",
    "LossyImageCompressionMethod",
    # image plane
    "PixelSpacing",
    "SliceThickness",
    "SpacingBetweenSlices",
    "ImageOrientationPatient",
    "ImagePositionPatient",
    "SliceLocation",
    # rescale and VOI LUT
    "RescaleIntercept",
    "RescaleSlope",
    "RescaleType",
    "WindowCenter",
    "WindowWidth",
    "VOILUTFunction",
    # MR acquisition parameters needed to tell phases apart
    "ScanningSequence",
    "SequenceVariant",
    "MRAcquisitionType",
    "RepetitionTime",
    "EchoTime",
    "InversionTime",
    "FlipAngle",
    "MagneticFieldStrength",
    "TemporalPositionIdentifier",
    "NumberOfTemporalPositions",
    "TriggerTime",
)
KEEP_TAGS = tuple(sorted(int(tag_for_keyword(name) or 0) for name in KEEP))
#: UIDs replaced by HMAC-derived ones (the SOP Instance UID also in the file meta).
REPLACED_UIDS: tuple[str, ...] = (
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SOPInstanceUID",
    "FrameOfReferenceUID",
)
#: Type-2 attributes of the profile kept present but empty.
EMPTY: tuple[str, ...] = (
    "PatientBirthDate",
    "PatientSex",
    "StudyDate",
    "StudyTime",
    "ReferringPhysicianName",
    "AccessionNumber",
    "StudyID",
)
REQUIRED: tuple[str, ...] = (
    "SOPClassUID",
    "SOPInstanceUID",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "Rows",
    "Columns",
    "PixelData",
)
#: De-identification Method (LO: at most 64 characters).
DEIDENTIFICATION_METHOD = "PS3.15 E.1 basic profile, allow-list, no dates, HMAC UIDs"


class DicomError(ValueError):
    """The file is not a DICOM image this platform stores, or cannot be de-identified."""


@dataclass(frozen=True)
class DicomInstance:
    """What ordering needs from one de-identified instance."""

    series_uid: str  # the replaced Series Instance UID
    series_number: int | None
    instance_number: int | None
    position: tuple[float, float, float] | None
    orientation: tuple[float, float, float, float, float, float] | None
    sop_uid: str  # the replaced SOP Instance UID


def replace_uid(uid: str, *, key: bytes, scope: str) -> str:
    """A ``2.25.<int>`` UID for ``uid``: HMAC-SHA256 over ``scope`` and ``uid``, 128 bits.

    Deterministic (same ``uid``, ``key`` and ``scope`` give the same UID, so references
    between files stay consistent), at most 44 characters (the limit is 64).
    """
    digest = hmac.new(key, f"uid\x00{scope}\x00{uid}".encode(), hashlib.sha256).digest()
    return "2.25." + str(int.from_bytes(digest[:16], "big"))


def patient_pseudonym(case_key: str, *, key: bytes, scope: str) -> str:
    """The opaque Patient Name / Patient ID of a case (HMAC-derived, 16 hex digits)."""
    digest = hmac.new(key, f"patient\x00{scope}\x00{case_key}".encode(), hashlib.sha256)
    return "ANON-" + digest.hexdigest()[:16].upper()


def read_dicom(data: bytes) -> Dataset:
    """The parsed dataset; ``DicomError`` when the bytes are not a readable DICOM image."""
    try:
        ds = pydicom.dcmread(io.BytesIO(data))
    except Exception as exc:  # pydicom raises many types for damaged files
        raise DicomError(f"not a readable DICOM file: {exc}") from exc
    missing = [name for name in REQUIRED if name not in ds]
    if missing:
        raise DicomError("missing required attribute(s): " + ", ".join(missing))
    burned = str(ds.get("BurnedInAnnotation", "")).strip().upper()
    if burned == "YES":
        raise DicomError(
            "BurnedInAnnotation is YES: text burned into the pixels cannot be removed; "
            "refused (de-identify the pixels first and set BurnedInAnnotation to NO)"
        )
    if "TransferSyntaxUID" not in ds.file_meta:
        raise DicomError("no Transfer Syntax UID in the file meta information")
    return ds


def deidentify(data: bytes, *, patient: str, key: bytes, scope: str) -> tuple[bytes, DicomInstance]:
    """The de-identified DICOM file (see the module doc) and its ordering facts.

    ``patient`` becomes Patient Name and Patient ID; ``key`` and ``scope`` derive the UIDs.
    Raises ``DicomError`` for a file that is not a valid DICOM image or is refused.
    """
    src = read_dicom(data)
    out = Dataset()
    for tag in KEEP_TAGS:
        element = src.get(tag)
        if element is not None and element.VR != "SQ":  # no sequence is kept
            out[tag] = element
    for name in REPLACED_UIDS:
        if name in src and str(src[name].value).strip():
            setattr(out, name, replace_uid(str(src[name].value), key=key, scope=scope))
    out.PatientName = patient
    out.PatientID = patient
    for name in EMPTY:
        setattr(out, name, "")
    out.BurnedInAnnotation = "NO"
    out.PatientIdentityRemoved = "YES"
    out.DeidentificationMethod = DEIDENTIFICATION_METHOD
    code = Dataset()
    code.CodeValue = "113100"
    code.CodingSchemeDesignator = "DCM"
    code.CodeMeaning = "Basic Application Confidentiality Profile"
    out.DeidentificationMethodCodeSequence = [code]

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = src.SOPClassUID
    meta.MediaStorageSOPInstanceUID = out.SOPInstanceUID
    meta.TransferSyntaxUID = src.file_meta.TransferSyntaxUID
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    out.file_meta = meta
    buffer = io.BytesIO()
    try:
        out.save_as(buffer, enforce_file_format=True)
    except Exception as exc:
        raise DicomError(f"cannot write the de-identified file: {exc}") from exc
    return buffer.getvalue(), _instance(out)


def _numbers(ds: Dataset, name: str, n: int) -> tuple[float, ...] | None:
    value = ds.get(name)
    if value is None:
        return None
    try:
        numbers = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        return None
    return numbers if len(numbers) == n and all(np.isfinite(numbers)) else None


def _integer(ds: Dataset, name: str) -> int | None:
    value = ds.get(name)
    try:
        return None if value in (None, "") else int(value)
    except (TypeError, ValueError):
        return None


def _instance(ds: Dataset) -> DicomInstance:
    position = _numbers(ds, "ImagePositionPatient", 3)
    orientation = _numbers(ds, "ImageOrientationPatient", 6)
    return DicomInstance(
        series_uid=str(ds.SeriesInstanceUID),
        series_number=_integer(ds, "SeriesNumber"),
        instance_number=_integer(ds, "InstanceNumber"),
        position=position,  # type: ignore[arg-type]
        orientation=orientation,  # type: ignore[arg-type]
        sop_uid=str(ds.SOPInstanceUID),
    )


def slice_order(instances: list[DicomInstance]) -> list[int]:
    """Indices of ``instances`` (one series) in slice order.

    When every instance has Image Position and Orientation (Patient), slices are ordered by
    the position projected on the slice normal (row x column direction cosines of the
    first instance), ties by Instance Number; otherwise by Instance Number (missing
    last), then by SOP Instance UID.
    """
    idx = list(range(len(instances)))
    big = 2**62

    def by_number(i: int) -> tuple[int, str]:
        number = instances[i].instance_number
        return (big if number is None else number, instances[i].sop_uid)

    first = instances[0].orientation if instances else None
    if first is not None and all(
        inst.position is not None and inst.orientation is not None for inst in instances
    ):
        normal = np.cross(np.asarray(first[:3]), np.asarray(first[3:]))
        if np.linalg.norm(normal) > 1e-6:
            distance = [float(np.dot(normal, inst.position)) for inst in instances]  # type: ignore[arg-type]
            return sorted(idx, key=lambda i: (round(distance[i], 4), *by_number(i)))
    return sorted(idx, key=by_number)


def series_order(instances: list[DicomInstance]) -> list[tuple[str, list[int]]]:
    """The series of one case, ordered by Series Number (missing last) then UID, each
    with the indices of its instances in slice order (:func:`slice_order`)."""
    groups: dict[str, list[int]] = {}
    for i, inst in enumerate(instances):
        groups.setdefault(inst.series_uid, []).append(i)
    big = 2**62

    def key(uid: str) -> tuple[int, str]:
        numbers = [instances[i].series_number for i in groups[uid]]
        known = [n for n in numbers if n is not None]
        return (min(known) if known else big, uid)

    out = []
    for uid in sorted(groups, key=key):
        members = groups[uid]
        order = slice_order([instances[i] for i in members])
        out.append((uid, [members[j] for j in order]))
    return out
