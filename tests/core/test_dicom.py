"""DICOM de-identification (PS3.15 Annex E basic profile), validation and slice ordering."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

from readerstudy.bundles.services import study_import
from readerstudy.core.dicom import (
    KEEP,
    REPLACED_UIDS,
    DicomError,
    DicomInstance,
    deidentify,
    patient_pseudonym,
    read_dicom,
    replace_uid,
    series_order,
    slice_order,
)
from readerstudy.reading.models import ReadingSession, ReadingWork
from readerstudy.reading.services import (
    ReadingSessionOptions,
    reading_session_create,
    reading_session_open,
)
from readerstudy.studies.models import CaseImage, Reader, Study, StudyMember
from tests.conftest import BundleFactory
from tests.factories import UserFactory

#: Attributes PS3.15 Annex E table E.1-1 (basic profile) names for removal or replacement.
PROFILE_TEXT = """
AccessionNumber AcquisitionComments AcquisitionDate AcquisitionDateTime
AcquisitionDeviceProcessingDescription AcquisitionTime ActualHumanPerformersSequence
AdditionalPatientHistory AdmissionID AdmittingDate AdmittingDiagnosesDescription
AdmittingTime Allergies AuthorObserverSequence BranchOfService CassetteID
CommentsOnThePerformedProcedureStep ConfidentialityConstraintOnPatientDataDescription
ContentCreatorName ContentDate ContentTime ContributionDescription CountryOfResidence
CurrentPatientLocation CurveDate CurveTime CustodialOrganizationSequence
DerivationDescription DetectorID DeviceSerialNumber DeviceUID DischargeDiagnosisDescription
DistributionAddress DistributionName EthnicGroup FrameComments FrameOfReferenceUID GantryID
GeneratorID ImageComments InstanceCreationDate InstanceCreationTime InstanceCreatorUID
InstitutionAddress InstitutionalDepartmentName InstitutionName InstitutionCodeSequence
InsurancePlanIdentification IntendedRecipientsOfResultsIdentificationSequence
InterpretationApproverSequence InterpretationAuthor InterpretationRecorder
InterpretationTranscriber IrradiationEventUID IssuerOfAdmissionID IssuerOfPatientID
MedicalAlerts MedicalRecordLocator MilitaryRank ModifiedImageDescription ModifyingDeviceID
NamesOfIntendedRecipientsOfResults Occupation OperatorIdentificationSequence OperatorsName
OrderCallbackPhoneNumber OrderEnteredBy OrderEntererLocation OtherPatientIDs
OtherPatientIDsSequence OtherPatientNames OverlayDate OverlayTime ParticipantSequence
PatientAddress PatientComments PatientID PatientBirthDate PatientBirthName PatientBirthTime
PatientAge PatientInsurancePlanCodeSequence PatientMotherBirthName PatientName
PatientPrimaryLanguageCodeSequence PatientReligiousPreference PatientSex PatientSize
PatientTelephoneNumbers PatientWeight PerformedLocation PerformedProcedureStepDescription
PerformedProcedureStepID PerformedProcedureStepStartDate PerformedProcedureStepStartTime
PerformedStationAETitle PerformedStationName PerformingPhysicianIdentificationSequence
PerformingPhysicianName PersonAddress PersonTelephoneNumbers PhysicianApprovingInterpretation
PhysiciansOfRecord PhysiciansOfRecordIdentificationSequence
PhysiciansReadingStudyIdentificationSequence NameOfPhysiciansReadingStudy PlateID
PreMedication ProtocolName ReasonForTheImagingServiceRequest ReasonForStudy
ReferencedImageSequence ReferencedPatientAliasSequence ReferencedPatientSequence
ReferencedPerformedProcedureStepSequence ReferencedStudySequence ReferringPhysicianAddress
ReferringPhysicianIdentificationSequence ReferringPhysicianName
ReferringPhysicianTelephoneNumbers RegionOfResidence RequestAttributesSequence
RequestedContrastAgent RequestedProcedureComments RequestedProcedureDescription
RequestedProcedureID RequestedProcedureLocation RequestingPhysician RequestingService
ResponsibleOrganization ResponsiblePerson ResultsComments ResultsDistributionListSequence
ResultsIDIssuer ScheduledPerformingPhysicianName ScheduledProcedureStepDescription
ScheduledProcedureStepEndDate ScheduledProcedureStepID ScheduledProcedureStepLocation
ScheduledProcedureStepStartDate ScheduledStationAETitle ScheduledStationName SeriesDate
SeriesDescription SeriesInstanceUID SeriesTime ServiceEpisodeDescription ServiceEpisodeID
SOPInstanceUID SourceImageSequence SpecialNeeds StationName StorageMediaFileSetUID
StudyComments StudyDate StudyDescription StudyID StudyIDIssuer StudyInstanceUID StudyTime
SynchronizationFrameOfReferenceUID TextComments TextString TimezoneOffsetFromUTC TopicAuthor
TopicKeywords TopicSubject TopicTitle TransactionUID VerifyingObserverIdentificationCodeSequence
VerifyingObserverName VerifyingObserverSequence VisitComments ReferencedFrameOfReferenceUID
RelatedFrameOfReferenceUID ConcatenationUID DimensionOrganizationUID ContentSequence
AcquisitionContextSequence SoftwareVersions ManufacturerModelName Manufacturer
"""
PROFILE = PROFILE_TEXT.split()
#: Set by the de-identification itself (replaced values or empty type-2 attributes).
REPLACED = {"PatientName", "PatientID", "StudyInstanceUID", "SeriesInstanceUID"}
REPLACED |= {"SOPInstanceUID", "FrameOfReferenceUID"}
EMPTIED = {"PatientBirthDate", "PatientSex", "StudyDate", "StudyTime", "ReferringPhysicianName"}
EMPTIED |= {"AccessionNumber", "StudyID"}
KEY = b"test-key"
BIRTH_DATE = "19610203"
TEXT_VRS = {"PN", "LO", "SH", "LT", "ST", "UT", "UC", "CS", "AE", "UR"}
UID_ROOT = "1.2.826.0.1.3680043.10.999."


def marker(i: int) -> str:
    return f"ZQ{i:03d}Q"


def identified_dataset(
    *,
    series: str = UID_ROOT + "2",
    sop: str = UID_ROOT + "3",
    number: int = 1,
    position: tuple[float, float, float] = (0.0, 0.0, 0.0),
    burned: str | None = None,
) -> tuple[Dataset, list[str]]:
    """An MR image with patient data in every profile attribute it can hold; the markers."""
    markers: list[str] = [BIRTH_DATE, "101112", series, sop]
    ds = Dataset()
    for i, keyword in enumerate(PROFILE):
        if keyword in REPLACED_UIDS:
            continue  # set below, with their own markers
        tag = tag_for_keyword(keyword)
        assert tag is not None, keyword
        vr = dictionary_VR(tag)
        if vr in TEXT_VRS:
            value: Any = marker(i)
        elif vr == "DA":
            value = BIRTH_DATE
        elif vr == "TM":
            value = "101112"
        elif vr == "DT":
            value = BIRTH_DATE + "101112"
        elif vr == "UI":
            value = f"{UID_ROOT}{100 + i}"
        elif vr == "AS":
            value = "061Y"
        elif vr == "DS":
            value = "77.7"
        elif vr == "SQ":
            inner = Dataset()
            inner.PatientName = marker(i)
            inner.ReferencedSOPInstanceUID = f"{UID_ROOT}{100 + i}"
            deeper = Dataset()
            deeper.InstitutionName = marker(i) + "D"
            inner.ReferencedSeriesSequence = [deeper]
            value = [inner]
        else:
            continue
        ds.add_new(tag, vr, value)
        if vr in TEXT_VRS or vr == "SQ":
            markers.append(marker(i))
        if vr in ("UI", "SQ"):
            markers.append(f"{UID_ROOT}{100 + i}")
    ds.StudyInstanceUID = UID_ROOT + "1"
    ds.SeriesInstanceUID = series
    ds.SOPInstanceUID = sop
    ds.FrameOfReferenceUID = UID_ROOT + "4"
    markers += [UID_ROOT + "1", UID_ROOT + "4"]
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    ds.Modality = "MR"
    ds.SeriesNumber, ds.InstanceNumber = 3, number
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.ImagePositionPatient = list(position)
    ds.PixelSpacing = [0.7, 0.7]
    ds.RescaleIntercept, ds.RescaleSlope = 0, 1
    ds.WindowCenter, ds.WindowWidth = 600, 1200
    ds.Rows = ds.Columns = 8
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = (np.arange(64, dtype=np.uint16) * 50).tobytes()
    if burned is not None:
        ds.BurnedInAnnotation = burned
    # private tags (a creator and its elements), an overlay and a curve
    block = ds.private_block(0x0011, "ACME HOSPITAL PACS", create=True)
    block.add_new(0x01, "LO", "ZQPRIVQ Jane Doe")
    block.add_new(0x02, "OB", b"ZQPRIVBYTESQ")
    ds.add_new(0x60000010, "US", 8)
    ds.add_new(0x60000011, "US", 8)
    ds.add_new(0x60000022, "LO", "ZQOVERLAYQ")
    ds.add_new(0x60003000, "OW", b"ZQOVERLAYBITSQ")
    ds.add_new(0x50000022, "LO", "ZQCURVEQ")
    markers += ["ZQPRIVQ", "ZQPRIVBYTESQ", "ZQOVERLAYQ", "ZQOVERLAYBITSQ", "ZQCURVEQ"]
    meta = FileMetaDataset()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = sop
    meta.SourceApplicationEntityTitle = "ZQAETQ"
    markers.append("ZQAETQ")
    ds.file_meta = meta
    return ds, markers


def to_bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def forbidden_in(data: bytes, markers: list[str]) -> list[str]:
    return [m for m in markers if m.encode() in data]


def test_every_profile_attribute_private_tag_overlay_and_curve_is_gone() -> None:
    ds, markers = identified_dataset()
    assert len([k for k in PROFILE if k in ds]) >= 150, "the test file carries the profile"
    original = to_bytes(ds)
    assert len(forbidden_in(original, markers)) == len(markers), "every marker is in the input"
    out, _ = deidentify(original, patient="ANON-1", key=KEY, scope="tiny")
    assert forbidden_in(out, markers) == []
    clean = pydicom.dcmread(io.BytesIO(out))
    for keyword in PROFILE:
        if keyword in REPLACED:
            continue
        assert not clean.get(keyword), keyword
    allowed = set(KEEP) | REPLACED | EMPTIED
    allowed |= {"BurnedInAnnotation", "PatientIdentityRemoved", "DeidentificationMethod"}
    allowed |= {"DeidentificationMethodCodeSequence"}
    assert {e.keyword for e in clean} <= allowed
    assert not any(e.tag.is_private for e in clean)
    assert not any(
        e.VR == "SQ" and e.keyword != "DeidentificationMethodCodeSequence" for e in clean
    )


def test_the_deidentified_file_keeps_what_display_needs_and_says_it_is_deidentified() -> None:
    ds, _ = identified_dataset()
    out, _ = deidentify(to_bytes(ds), patient="ANON-7", key=KEY, scope="tiny")
    clean = pydicom.dcmread(io.BytesIO(out))
    assert clean.PatientName == "ANON-7" and clean.PatientID == "ANON-7"
    assert clean.PatientIdentityRemoved == "YES"
    assert clean.DeidentificationMethodCodeSequence[0].CodeValue == "113100"
    assert clean.Modality == "MR" and clean.SeriesNumber == 3
    assert [float(v) for v in clean.PixelSpacing] == [0.7, 0.7]
    assert float(clean.WindowCenter) == 600
    assert np.array_equal(clean.pixel_array, ds.pixel_array), "pixel values unchanged"
    assert clean.file_meta.MediaStorageSOPInstanceUID == clean.SOPInstanceUID
    assert "SourceApplicationEntityTitle" not in clean.file_meta


def test_uids_are_replaced_consistently_with_hmac_uids() -> None:
    a, _ = identified_dataset(sop=UID_ROOT + "31")
    b, _ = identified_dataset(sop=UID_ROOT + "32")
    da = pydicom.dcmread(io.BytesIO(deidentify(to_bytes(a), patient="X", key=KEY, scope="s")[0]))
    db = pydicom.dcmread(io.BytesIO(deidentify(to_bytes(b), patient="X", key=KEY, scope="s")[0]))
    for name in ("StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID"):
        assert da[name].value == db[name].value, name
        assert re.fullmatch(r"2\.25\.\d{1,39}", da[name].value), name
    assert da.SOPInstanceUID != db.SOPInstanceUID
    assert replace_uid(UID_ROOT + "1", key=KEY, scope="s") == da.StudyInstanceUID
    assert replace_uid(UID_ROOT + "1", key=KEY, scope="other") != da.StudyInstanceUID
    assert replace_uid(UID_ROOT + "1", key=b"other", scope="s") != da.StudyInstanceUID


def test_the_patient_pseudonym_is_opaque_and_not_the_case_id() -> None:
    value = patient_pseudonym("C1", key=KEY, scope="tiny")
    assert "C1" not in value and re.fullmatch(r"ANON-[0-9A-F]{16}", value)
    assert value == patient_pseudonym("C1", key=KEY, scope="tiny")
    assert value != patient_pseudonym("C2", key=KEY, scope="tiny")


def test_burned_in_annotation_yes_is_refused_and_no_is_accepted() -> None:
    ds, _ = identified_dataset(burned="YES")
    with pytest.raises(DicomError, match="BurnedInAnnotation is YES"):
        deidentify(to_bytes(ds), patient="X", key=KEY, scope="s")
    ds, _ = identified_dataset(burned="NO")
    deidentify(to_bytes(ds), patient="X", key=KEY, scope="s")


def test_a_file_without_its_uids_or_pixels_is_refused() -> None:
    ds, _ = identified_dataset()
    del ds.SeriesInstanceUID
    del ds.PixelData
    with pytest.raises(DicomError, match=r"SeriesInstanceUID, .*PixelData"):
        read_dicom(to_bytes(ds))
    with pytest.raises(DicomError, match="not a readable DICOM"):
        read_dicom(b"\x00" * 128 + b"DICM" + b"\xff" * 10)


def inst(
    number: int | None,
    position: tuple[float, float, float] | None,
    orientation: tuple[float, ...] | None = (1, 0, 0, 0, 1, 0),
    series: str = "s",
    series_number: int | None = 1,
) -> DicomInstance:
    return DicomInstance(
        series_uid=series,
        series_number=series_number,
        instance_number=number,
        position=position,
        orientation=orientation,  # type: ignore[arg-type]
        sop_uid=f"u{number}",
    )


def test_slices_are_ordered_by_position_on_the_slice_normal_not_by_instance_number() -> None:
    # Oblique slices: row (1,0,0), column (0, cos, sin); normal (0, -sin, cos).
    c, s = np.cos(0.5), np.sin(0.5)
    orientation = (1.0, 0.0, 0.0, 0.0, c, s)
    normal = np.array([0.0, -s, c])
    offsets = [3.0, -1.0, 2.0, 0.0]
    instances = [
        inst(n, tuple(float(v) for v in d * normal + (5, 7, 0)), orientation)  # type: ignore[misc]
        for n, d in zip((1, 2, 3, 4), offsets, strict=True)
    ]
    assert slice_order(instances) == [1, 3, 2, 0]


def test_slices_fall_back_to_instance_number_when_a_position_is_missing() -> None:
    instances = [inst(3, (0, 0, 9)), inst(1, None), inst(2, (0, 0, 1)), inst(None, (0, 0, 0))]
    assert slice_order(instances) == [1, 2, 0, 3]


def test_series_are_grouped_and_ordered_by_series_number() -> None:
    instances = [
        inst(2, (0, 0, 2), series="b", series_number=5),
        inst(1, (0, 0, 1), series="a", series_number=7),
        inst(1, (0, 0, 1), series="b", series_number=5),
    ]
    assert series_order(instances) == [("b", [2, 0]), ("a", [1])]


# --- import and serving -------------------------------------------------------------------


def dicom_files(prefix: str = "ZQFILEQ") -> tuple[dict[str, bytes], list[str]]:
    """Three slices of one series for case C2, written in reverse slice order."""
    files: dict[str, bytes] = {}
    markers: list[str] = []
    for k, z in enumerate((20.0, 10.0, 0.0)):
        ds, found = identified_dataset(
            sop=f"{UID_ROOT}{50 + k}", number=k + 1, position=(0.0, 0.0, z)
        )
        files[f"images__C2__{prefix}{k}.dcm"] = to_bytes(ds)
        markers += found
    return files, [*sorted(set(markers)), prefix]


def reader_client(study: Study) -> tuple[Client, str]:
    user = UserFactory(username="reader-dicom")
    user.groups.add(Group.objects.get_or_create(name="reader")[0])
    StudyMember.objects.get_or_create(study=study, user=user, role="reader")
    reader = Reader.objects.get(study=study, code="R1")
    reader.user = user
    reader.save()
    session = reading_session_create(
        study=study,
        options=ReadingSessionOptions(
            name="DICOM", readers=[reader], modality=2, seed=7, show_images=True
        ),
    )
    reading_session_open(session=session)
    token = ReadingSession.objects.get(pk=session.pk).assignments.get().token
    client = Client()
    client.force_login(user)
    return client, token


def body(response: Any) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return bytes(response.content)


@pytest.mark.django_db
def test_nothing_a_reader_can_download_carries_an_original_identifier(
    make_bundle: BundleFactory,
) -> None:
    files, markers = dicom_files()
    study = study_import(path=make_bundle(**files)).study
    client, token = reader_client(study)
    downloaded: list[tuple[str, bytes]] = []
    dicom_seen = 0
    for work in ReadingWork.objects.filter(assignment__token=token).order_by("position"):
        urls = [f"/reading/{token}/{work.position}/", f"/reading/{token}/{work.position}/dicom/"]
        count = CaseImage.objects.filter(case=work.case).count()
        for k in range(1, count + 1):
            urls.append(f"/reading/{token}/{work.position}/images/{k}")
            urls.append(f"/api/reading/assignments/{token}/cases/{work.position}/images/{k}/")
        index = client.get(urls[1])
        for series in json.loads(index.content)["series"]:
            urls += series["instances"]
            dicom_seen += len(series["instances"])
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            headers = "\n".join(f"{k}: {v}" for k, v in response.items()).encode()
            downloaded.append((url, url.encode() + b"\n" + headers + b"\n" + body(response)))
    assert dicom_seen == 3
    for url, data in downloaded:
        assert forbidden_in(data, markers) == [], url


@pytest.mark.django_db
def test_dicom_instances_are_served_as_dicom_in_slice_order(make_bundle: BundleFactory) -> None:
    files, _ = dicom_files()
    study = study_import(path=make_bundle(**files)).study
    images = CaseImage.objects.filter(case__study=study, content_type="application/dicom")
    by_name = {im.original_name: im for im in images}
    assert [by_name[f"ZQFILEQ{k}.dcm"].dicom_slice for k in range(3)] == [2, 1, 0]
    assert {im.dicom_series_index for im in images} == {0}
    client, token = reader_client(study)
    position = ReadingWork.objects.get(assignment__token=token, case__code="C2").position
    listing = json.loads(client.get(f"/reading/{token}/{position}/dicom/").content)
    assert [len(s["instances"]) for s in listing["series"]] == [3]
    z = []
    for url in listing["series"][0]["instances"]:
        response = client.get(url)
        assert response["Content-Type"] == "application/dicom"
        assert "filename" not in response["Content-Disposition"]
        ds = pydicom.dcmread(io.BytesIO(body(response)))
        assert ds.PatientIdentityRemoved == "YES"
        z.append(float(ds.ImagePositionPatient[2]))
    assert z == [0.0, 10.0, 20.0]
    assert client.get(f"/reading/{token}/{position}/dicom/1/4").status_code == 404
    assert client.get(f"/reading/{token}/{position}/dicom/2/1").status_code == 404
    outsider = Client()
    outsider.force_login(UserFactory(username="not-a-reader"))
    assert outsider.get(listing["series"][0]["instances"][0]).status_code == 404


@pytest.mark.django_db
def test_the_import_reports_every_refused_dicom_file_and_writes_nothing(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    burned, _ = identified_dataset(burned="YES")
    missing, _ = identified_dataset(sop=UID_ROOT + "77")
    del missing.StudyInstanceUID
    twin_a, _ = identified_dataset(sop=UID_ROOT + "88")
    twin_b, _ = identified_dataset(sop=UID_ROOT + "88")
    bundle = make_bundle(
        **{
            "images__C2__burned.dcm": to_bytes(burned),
            "images__C2__missing.dcm": to_bytes(missing),
            "images__C3__a.dcm": to_bytes(twin_a),
            "images__C3__b.dcm": to_bytes(twin_b),
        },
    )
    with pytest.raises(CommandError) as caught:
        call_command("import_study", str(bundle))
    message = str(caught.value)
    assert "images/C2/burned.dcm:1: -: DICOM refused: BurnedInAnnotation is YES" in message
    assert "images/C2/missing.dcm:1: -: DICOM refused: missing required attribute(s): " in message
    assert "images/C3/b.dcm:1: -: same SOP Instance UID as images/C3/a.dcm" in message
    assert not Study.objects.exists() and not CaseImage.objects.exists()
