"""The pseudonymisation layer: pseudonyms, who gets them, look-ups, list order, redaction."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.utils import timezone

from readerstudy.core import roles
from readerstudy.studies import pseudonyms
from readerstudy.studies.models import Case, StudyMember
from readerstudy.studies.pseudonyms import (
    Blinding,
    order_key,
    order_key_sql,
    pseudonym,
    pseudonym_map,
)
from tests.factories import CaseFactory, ReaderFactory, StudyFactory, UserFactory


def test_a_pseudonym_is_a_keyed_hash_of_study_kind_and_code(settings) -> None:
    settings.SECRET_KEY = "k" * 50
    message = "\x1f".join(("readerstudy-pseudonym", "s", "reader", "R3")).encode()
    digest = hmac.new(b"k" * 50, message, hashlib.sha256).hexdigest()
    assert pseudonym("s", "reader", "R3") == "RD-" + digest[:12]
    assert pseudonym("s", "case", "R3").startswith("CS-")
    assert pseudonym("s", "reader", "R3") != pseudonym("t", "reader", "R3")
    assert pseudonym("s", "reader", "R3") != pseudonym("s", "rater", "R3")[3:]
    with pytest.raises(ValueError, match="kind"):
        pseudonym("s", "study", "x")


def test_the_map_of_many_codes_agrees_with_single_pseudonyms() -> None:
    codes = [f"L{i:03d}" for i in range(300)] + [""]
    mapped = pseudonym_map("s", "case", codes)
    assert mapped[""] == ""
    assert all(mapped[c] == pseudonym("s", "case", c) for c in codes if c)


def test_colliding_pseudonyms_fall_back_to_the_full_digest(monkeypatch) -> None:
    monkeypatch.setattr(pseudonyms, "PSEUDONYM_LENGTH", 1)  # 16 values for 40 codes: collisions
    mapped = pseudonym_map("s", "case", [f"C{i}" for i in range(40)])
    assert len(set(mapped.values())) == 40
    assert {len(v) for v in mapped.values()} == {3 + 64}


@pytest.mark.django_db
def test_who_gets_pseudonyms() -> None:
    study = StudyFactory()
    people = {}
    for role in roles.ROLES:
        user = UserFactory()
        user.groups.add(Group.objects.get_or_create(name=role)[0])
        StudyMember.objects.create(study=study, user=user, role=role)
        people[role] = user
    both = UserFactory()
    for role in (roles.STATISTICIAN, roles.COORDINATOR):
        both.groups.add(Group.objects.get_or_create(name=role)[0])
        StudyMember.objects.create(study=study, user=both, role=role)
    boss = UserFactory(is_superuser=True)

    def blinded(user, **kw) -> bool:
        return Blinding.for_actor(actor=user, study=study, **kw).pseudonymous

    assert blinded(people[roles.STATISTICIAN])
    assert blinded(people[roles.STATISTICIAN], requested="real")  # asking does not help
    assert not blinded(people[roles.COORDINATOR]) and not blinded(both) and not blinded(boss)
    assert blinded(people[roles.COORDINATOR], requested="pseudonymous")
    with pytest.raises(ValueError, match="ids"):
        Blinding.for_actor(actor=people[roles.COORDINATOR], study=study, requested="all")
    study.unblinded_at = timezone.now()
    study.save()
    assert not blinded(people[roles.STATISTICIAN])
    assert blinded(people[roles.STATISTICIAN], requested="pseudonymous")


@pytest.mark.django_db
def test_look_ups_go_both_ways_and_real_codes_are_not_found() -> None:
    study = StudyFactory(slug="s")
    ReaderFactory(study=study, code="R3")
    CaseFactory(study=study, code="L120", patient_id="P001")
    blind = Blinding(study=study, pseudonymous=True)
    assert blind.reader("R3") == pseudonym("s", "reader", "R3")
    assert blind.patient("P001") == pseudonym("s", "patient", "P001") and blind.patient("") == ""
    assert blind.real("reader", blind.reader("R3")) == "R3"
    assert blind.real("case", blind.case("L120")) == "L120"
    assert blind.real("reader", "R3") is None and blind.real("case", "L120") is None
    open_ = Blinding(study=study, pseudonymous=False)
    assert open_.reader("R3") == "R3" and open_.real("case", "L120") == "L120"


@pytest.mark.django_db
def test_the_database_sorts_by_the_same_order_key_as_python() -> None:
    study = StudyFactory(slug="s")
    codes = [f"L{i:03d}" for i in range(60)] + ["Ünïcode-1", "a b", "Z9"]
    for i, code in enumerate(codes):
        CaseFactory(study=study, code=code, position=i)
    expected = sorted(codes, key=lambda c: order_key("s", "case", c))
    assert expected != codes
    blind = Blinding(study=study, pseudonymous=True)
    ordered = Case.objects.filter(study=study).order_by(blind.case_order("code"))
    assert list(ordered.values_list("code", flat=True)) == expected
    key, params = order_key_sql("s", "case", "code")
    table = connection.ops.quote_name(Case._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT code FROM {table} WHERE study_id = %s ORDER BY {key}", [study.pk, *params]
        )
        assert [r[0] for r in cursor.fetchall()] == expected
    # the key depends on the secret: without it the order cannot be recomputed
    salt = pseudonyms.order_salt("s", "case")
    assert salt not in settings.SECRET_KEY and len(salt) == 64


@pytest.mark.django_db
def test_redaction_replaces_codes_that_stand_alone() -> None:
    study = StudyFactory(slug="s")
    for code in ("A1", "A1-live", "B"):
        ReaderFactory(study=study, code=code)
    blind = Blinding(study=study, pseudonymous=True)
    text = "analyze s --readers A1,A1-live,B BI-RADS AB1"
    a1, live, b = (pseudonym("s", "reader", c) for c in ("A1", "A1-live", "B"))
    assert blind.redact(text) == f"analyze s --readers {a1},{live},{b} BI-RADS AB1"
    assert Blinding(study=study, pseudonymous=False).redact(text) == text


@pytest.mark.django_db
def test_the_study_hub_lists_pseudonyms_without_labels_until_unblinding() -> None:
    study = StudyFactory(slug="hub")
    ReaderFactory(study=study, code="R3", label="Senior radiologist", position=1)
    ReaderFactory(study=study, code="M1", label="GPT-4o", kind="model", position=2)
    study.reference_reader = study.readers.get(code="R3")
    study.save()
    user = UserFactory()
    user.groups.add(Group.objects.get_or_create(name=roles.STATISTICIAN)[0])
    StudyMember.objects.create(study=study, user=user, role=roles.STATISTICIAN)
    client = Client()
    client.force_login(user)
    page = client.get("/studies/hub/").content.decode()
    shown = sorted(pseudonym("hub", "reader", c) for c in ("R3", "M1"))
    assert page.index(shown[0]) < page.index(shown[1])
    assert f"{pseudonym('hub', 'reader', 'R3')} (reference)" in page
    for secret in (">R3<", "Senior radiologist", "GPT-4o", ">M1<"):
        assert secret not in page
    study.unblinded_at = timezone.now()
    study.save()
    page = client.get("/studies/hub/").content.decode()
    assert "R3 (reference)" in page and "Senior radiologist" in page
