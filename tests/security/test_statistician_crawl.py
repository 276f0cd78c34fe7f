"""Statisticians and real identifiers (issue 11, finding 2; issue 12, "Blinding of statisticians").

The demo study (``manage.py demo``: readings, Likert scores, an open reading and rating
session, a model reader ready to generate) is loaded once for the module, and every real
identifier of it is disguised as a marker that cannot occur by accident: reader codes
``xqrd0001jz``…, case codes ``xqcs…``, patient ids ``xqpt…``, rater codes ``xqrt…``, reader
labels, groups and descriptions ``xqlb…`` / ``xqgr…`` / ``xqds…``, years of experience and
numbers of interpretations (numbers no statistic of the demo produces), the usernames of the
readers' and raters' accounts ``xqus…``; ``SECRET_KEY`` and the secrets of the keyed list
order are forbidden too.

The statistician then crawls everything (``tests/security/crawl.py``): every page reached
by following links from the home page, every URL pattern of the app that takes only the
study's slug (pages and API alike), every API list page by page and the detail of every
object it lists, every dataset export in every format from the pages and the API (also
asking ``?ids=real``), every table and figure download, ``results.json``; answers decoded
(headers, JSON, CSV, every part of the .xlsx, Parquet cells and metadata, SPSS values and
labels). Before unblinding no marker may appear anywhere; after unblinding the same crawl
finds every identifier (accounts and secrets stay hidden). Negative controls prove the crawl can
fail: with the pseudonymisation layer switched off, and with one real id planted in one
API field, one file name and one compressed Parquet cell, it reports each leak where it is.
Every URL pattern that the permissions matrix lets a statistician GET must be visited, so
a new channel cannot escape the crawl.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pandas as pd
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from analysis.exports import EXPORT_KINDS
from evaluation.models import LikertScore, Rater
from fixtures.demo import STUDY_SLUG
from readerstudy.studies import pseudonyms
from readerstudy.studies.models import Case, Reader, Study
from readerstudy.studies.pseudonyms import pseudonym
from tests.security.crawl import Crawler, CrawlResult, Markers, decode, with_query

pytestmark = pytest.mark.django_db

#: Years of experience and numbers of interpretations of the human readers: values no count,
#: time or statistic of the demo takes.
YEARS = ("31.4159", "27.1828", "16.1803")
INTERPRETATIONS = ("918273645", "827364519", "736451928")


@dataclass(frozen=True)
class Demo:
    study: Study
    statistician: Any
    token: str
    #: Every real identifier and detail that unblinding reveals to a statistician.
    identifiers: Markers
    #: Accounts of readers and raters, the secret key and the secrets derived from it for
    #: list order: never shown to a statistician, blinded or not.
    never: Markers
    #: Real codes by kind (reader, case, patient, rater).
    codes: dict[str, list[str]]

    @property
    def forbidden(self) -> Markers:
        return Markers({**self.identifiers.text, **self.never.text}, dict(self.identifiers.numbers))


#: The demo is cut to its first cases (by position) so that a crawl takes a minute, not ten:
#: every channel stays (readings of every reader and run, Likert scores, both splits).
KEEP_TEST_CASES, KEEP_TRAIN_CASES = 24, 6


def _trim(study: Study) -> None:
    keep: list[int] = []
    for split, n in (("test", KEEP_TEST_CASES), ("train", KEEP_TRAIN_CASES)):
        cases = Case.objects.filter(study=study, split=split).order_by("position")
        keep += list(cases.values_list("pk", flat=True)[:n])
    dropped = Case.objects.filter(study=study).exclude(pk__in=keep)
    LikertScore.objects.filter(reading__case__in=dropped).delete()
    dropped.delete()


def _disguise(study: Study) -> Demo:
    """Give every identifier of the demo study a marker (see the module docstring)."""
    text: dict[str, str] = {}
    numbers: dict[str, str] = {}
    accounts: dict[str, str] = {}
    codes: dict[str, list[str]] = {"reader": [], "case": [], "patient": [], "rater": []}
    users = get_user_model().objects
    humans = 0
    for i, reader in enumerate(Reader.objects.filter(study=study).order_by("position", "code"), 1):
        code = f"xqrd{i:04d}jz"
        text[code] = f"reader code {reader.code}"
        text[f"xqlb{i:04d}jz"] = f"label of {reader.code}"
        text[f"xqgr{i:04d}jz"] = f"group of {reader.code}"
        text[f"xqds{i:04d}jz"] = f"description of {reader.code}"
        update: dict[str, Any] = {
            "code": code,
            "label": f"xqlb{i:04d}jz {reader.label}",
            "group": f"xqgr{i:04d}jz",
            "description": f"xqds{i:04d}jz {reader.description}",
        }
        if reader.kind == Reader.Kind.HUMAN:
            update["years_experience"] = float(YEARS[humans])
            update["interpretations"] = int(INTERPRETATIONS[humans])
            numbers[YEARS[humans]] = f"years of experience of {reader.code}"
            numbers[INTERPRETATIONS[humans]] = f"interpretations of {reader.code}"
            humans += 1
        Reader.objects.filter(pk=reader.pk).update(**update)
        codes["reader"].append(code)
        if reader.user_id:
            name = f"xqus{len(accounts) + 1:04d}jz"
            users.filter(pk=reader.user_id).update(username=name)
            accounts[name] = f"account of reader {reader.code}"
    cases = list(Case.objects.filter(study=study).order_by("position", "code"))
    patients: dict[str, str] = {}
    for j, case in enumerate(cases, 1):
        text[f"xqcs{j:04d}jz"] = f"case code {case.code}"
        if case.patient_id not in patients:
            patients[case.patient_id] = f"xqpt{len(patients) + 1:04d}jz"
            text[patients[case.patient_id]] = f"patient id {case.patient_id}"
        case.code, case.patient_id = f"xqcs{j:04d}jz", patients[case.patient_id]
        codes["case"].append(case.code)
    Case.objects.bulk_update(cases, ["code", "patient_id"])
    codes["patient"] = list(patients.values())
    for k, rater in enumerate(Rater.objects.filter(study=study).order_by("code"), 1):
        code = f"xqrt{k:04d}jz"
        text[code] = f"rater code {rater.code}"
        Rater.objects.filter(pk=rater.pk).update(code=code)
        codes["rater"].append(code)
        if rater.user_id:
            name = f"xqus{len(accounts) + 1:04d}jz"
            users.filter(pk=rater.user_id).update(username=name)
            accounts[name] = f"account of rater {rater.code}"
    statistician = users.get(username="statistician")
    token, _ = Token.objects.get_or_create(user=statistician)
    study.refresh_from_db()
    never = {**accounts, settings.SECRET_KEY: "the SECRET_KEY"}
    for kind in pseudonyms.KINDS:
        never[pseudonyms.order_salt(study.slug, kind)] = f"the order secret of {kind}s"
    return Demo(study, statistician, token.key, Markers(text, numbers), Markers(never), codes)


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[Demo]:
    """The disguised demo, built once per module inside a transaction rolled back at its end."""
    with django_db_blocker.unblock(), transaction.atomic():
        try:
            if Study.objects.filter(slug=STUDY_SLUG).exists():
                raise RuntimeError("the demo study is already loaded in the test database")
            call_command("demo", "--no-images", stdout=io.StringIO())
            study = Study.objects.get(slug=STUDY_SLUG)
            _trim(study)
            yield _disguise(study)
        finally:
            transaction.set_rollback(True)


# ---------------------------------------------------------------------------------------
# The crawl
# ---------------------------------------------------------------------------------------


def _patterns(
    resolver: URLResolver | None = None, prefix: str = ""
) -> Iterator[tuple[str, URLPattern]]:
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue
            yield from _patterns(entry, prefix + str(entry.pattern))
        elif entry.name:
            yield prefix + str(entry.pattern), entry


def study_urls(slug: str) -> list[str]:
    """Every named URL pattern of the app that takes nothing or only a study slug."""
    out = []
    for _, pattern in _patterns():
        for kwargs in ({"slug": slug}, {}):
            try:
                out.append(reverse(pattern.name, kwargs=kwargs))
                break
            except NoReverseMatch:
                continue
    return sorted(set(out))


def seeds(study: Study) -> list[str]:
    """Where the crawl starts: the home page, the admin, the API, every slug-only URL, every
    export of the API, and real ids asked for (dashboard, every export of the pages, the API
    lists and results). The dashboard links the rest."""
    slug = study.slug
    out = ["/", "/admin/", "/api/", "/api/me/", "/api/studies/", *study_urls(slug)]
    dashboard = reverse("analysis-dashboard", kwargs={"slug": slug})
    out.append(with_query(dashboard, ids="real"))
    for kind in EXPORT_KINDS:
        page = reverse("analysis-export", kwargs={"slug": slug, "kind": kind})
        out += [
            with_query(page, ids="real"),
            reverse("api-export", kwargs={"slug": slug, "name": kind}),
        ]
    for name in ("api-case-list", "api-reader-list", "api-reading-list", "api-analysis-results"):
        out.append(with_query(reverse(name, kwargs={"slug": slug}), ids="real"))
    return out


#: PNG figures are pixels (their text is in the HTML and SVG of the same figure): one is
#: fetched, for its headers and metadata; rendering every one would double the crawl's time.
PNG_FIGURE = "roc_curves.png"
#: EPS figures are the PDF converted (fetched for every figure): one is fetched too.
EPS_FIGURE = "roc_curves.eps"


def skip(path: str) -> bool:
    name = urlsplit(path).path.rsplit("/", 1)[-1]
    if "/analysis/figures/" not in path:
        return False
    return (name.endswith(".png") and name != PNG_FIGURE) or (
        name.endswith(".eps") and name != EPS_FIGURE
    )


def expand(route: str, path: str, doc: Any) -> Iterator[str]:
    """URLs an API answer implies: the detail of every case, reader and study it lists."""
    if not isinstance(doc, dict):
        return
    rows = doc.get("results", [])
    if route in ("api-case-list", "api-reader-list"):
        for row in rows:
            yield f"{urlsplit(path).path}{quote(row['code'], safe='')}/"
    elif route == "api-study-list":
        for row in rows:
            yield reverse("api-study-detail", kwargs={"slug": row["slug"]})


def crawl(demo: Demo, markers: Markers) -> CrawlResult:
    html = Client()
    html.force_login(demo.statistician)
    api = Client(headers={"Authorization": f"Token {demo.token}"})
    crawler = Crawler(html=html, api=api, markers=markers, expand=expand, skip=skip)
    return crawler.run(seeds(demo.study))


def statistician_routes() -> set[str]:
    """Routes the permissions matrix lets a statistician GET (study and account pages)."""
    from tests.security.conftest import STATS
    from tests.security.test_permissions_matrix import ROUTES

    wanted = set()
    for route in ROUTES:
        if route.method == "GET" and route.expect.get(STATS) == 200 and route.name:
            wanted.add(route.name)
    return wanted


#: Routes a statistician may GET that carry no study data and need arguments the crawl has
#: no source for (a password-reset link's token).
UNREACHABLE = {"password_reset_confirm"}


@pytest.mark.slow
def test_a_blinded_statistician_finds_no_real_identifier_anywhere(demo: Demo) -> None:
    result = crawl(demo, demo.forbidden)
    assert not result.findings, "real identifiers reached the statistician:\n" + result.report()
    # The crawl reached everything a statistician may read.
    missing = statistician_routes() - UNREACHABLE - result.routes
    assert not missing, f"routes a statistician may GET that the crawl never read: {missing}"
    for route in ("api-case-detail", "api-reader-detail", "api-export", "analysis-export"):
        assert result.urls(route), route
    exports = {urlsplit(u).path.rstrip("/").rsplit("/", 1)[-1] for u in result.urls("api-export")}
    assert exports == set(EXPORT_KINDS)
    assert len(result.urls("api-case-detail")) == Case.objects.filter(study=demo.study).count()
    assert len(result.urls("analysis-figure")) >= 8 and len(result.urls("analysis-table")) >= 8
    # Pages of the readings list were followed to the end.
    assert len(result.urls("api-reading-list")) >= 2


@pytest.mark.slow
def test_after_unblinding_the_same_crawl_finds_every_real_identifier(demo: Demo) -> None:
    Study.objects.filter(pk=demo.study.pk).update(unblinded_at=timezone.now())
    result = crawl(demo, demo.forbidden)
    found = result.found
    missing = sorted(set(demo.identifiers.every) - found)
    assert not missing, f"identifiers the unblinded crawl did not find: {missing[:20]}"
    # Accounts and secrets are never a statistician's business, blinded or not.
    assert not found & set(demo.never.text), result.report()


@pytest.mark.slow
def test_the_crawl_fails_when_the_pseudonymisation_layer_is_off(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pseudonyms, "real_ids_allowed", lambda **kwargs: True)
    monkeypatch.setattr("analysis.views.real_ids_allowed", lambda **kwargs: True)
    result = crawl(demo, demo.forbidden)
    kinds = {m[:4] for m in result.found}
    assert {"xqrd", "xqcs", "xqpt", "xqrt", "xqlb", "xqgr", "xqds"} <= kinds, result.report()
    # Every kind of answer was decoded and searched: pages, API JSON, and each file format.
    channels = {_channel(f.url) for f in result.findings}
    assert {"page", "api", "json", "csv", "md", "parquet", "sav", "xlsx", "html", "svg"} <= channels
    assert not result.found & set(demo.never.text)  # accounts and secrets stay hidden even then


def _channel(url: str) -> str:
    path = urlsplit(url).path.rstrip("/")
    name = path.rsplit("/", 1)[-1]
    if "." in name:
        return name.rsplit(".", 1)[-1]
    return "api" if path.startswith("/api/") else "page"


@pytest.mark.slow
def test_the_crawl_finds_one_planted_field_file_name_and_parquet_cell(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three single leaks at once, each in a different channel, each reported there."""
    import analysis.exports
    import analysis.views
    from readerstudy.bundles.api.serializers import ReaderSerializer

    reader = Reader.objects.filter(study=demo.study).order_by("position").first()
    case = Case.objects.filter(study=demo.study).order_by("position").last()
    assert reader is not None and case is not None
    shown = ReaderSerializer.to_representation

    def with_label(self: Any, instance: Reader) -> dict[str, Any]:
        data = shown(self, instance)
        if instance.pk == reader.pk:
            data["note"] = instance.label
        return data

    monkeypatch.setattr(ReaderSerializer, "to_representation", with_label)
    filename = analysis.views.export_filename
    monkeypatch.setattr(
        analysis.views,
        "export_filename",
        lambda study, kind, pseudonymous: filename(study, kind, pseudonymous=pseudonymous).replace(
            "-likert", f"-{reader.code}-likert"
        ),
    )
    arrow_table = analysis.exports._arrow_table

    def planted(chunk: pd.DataFrame, schema: Any) -> Any:
        chunk = chunk.copy()
        if "impression" in chunk and len(chunk):
            chunk.loc[chunk.index[0], "impression"] = f"compare {case.code}"
        return arrow_table(chunk, schema)

    monkeypatch.setattr(analysis.exports, "_arrow_table", planted)
    slug = demo.study.slug
    start = [reverse("api-reader-list", kwargs={"slug": slug})]
    for kind in ("likert.csv", "likert.sav", "readings.parquet", "readings.csv", "wide.parquet"):
        start += [
            reverse("analysis-export", kwargs={"slug": slug, "kind": kind}),
            reverse("api-export", kwargs={"slug": slug, "name": kind}),
        ]
    html = Client()
    html.force_login(demo.statistician)
    api = Client(headers={"Authorization": f"Token {demo.token}"})
    result = Crawler(html=html, api=api, markers=demo.forbidden, expand=expand).run(start)
    assert len(result.visits) == len(start) + Reader.objects.filter(study=demo.study).count()
    label = "xqlb" + reader.code[4:]  # the marker in the label of that reader
    assert {label, reader.code, case.code} == result.found, result.report()
    for finding in result.findings:
        route = urlsplit(finding.url).path
        if finding.marker == label:
            assert "/api/" in route and "/readers/" in route, finding
        elif finding.marker == reader.code:
            assert finding.where == "headers" and "likert" in route, finding
        else:
            assert "readings.parquet" in route and "column impression" in finding.where, finding


def test_real_codes_sent_by_a_blinded_statistician_find_nothing(demo: Demo) -> None:
    """Probing: a real code in a URL or a filter is not found; a hidden detail cannot be
    filtered by; the answer names nothing."""
    api = Client(headers={"Authorization": f"Token {demo.token}"})
    slug = demo.study.slug
    reader, case, patient = demo.codes["reader"][0], demo.codes["case"][0], demo.codes["patient"][0]
    find = demo.forbidden.finder()
    for url in (f"/api/studies/{slug}/readers/{reader}/", f"/api/studies/{slug}/cases/{case}/"):
        response = api.get(url)
        assert response.status_code == 404
        assert not find(response.content.decode()), url
    readings = f"/api/studies/{slug}/readings/"
    assert api.get(readings, {"reader": reader}).json()["count"] == 0
    assert api.get(readings, {"case": case}).json()["count"] == 0
    cases = f"/api/studies/{slug}/cases/"
    assert api.get(cases, {"patient_id": patient}).json()["count"] == 0
    assert api.get(f"/api/studies/{slug}/readers/", {"group": "xqgr0001jz"}).status_code == 403
    # The same questions by pseudonym are answered.
    shown = pseudonym(slug, "reader", reader)
    assert api.get(f"/api/studies/{slug}/readers/{shown}/").json() == {
        "code": shown,
        "kind": "human",
    }
    assert api.get(readings, {"reader": shown}).json()["count"] > 0
    assert api.get(cases, {"patient_id": pseudonym(slug, "patient", patient)}).json()["count"]


def test_the_api_and_the_exports_join_on_the_same_pseudonyms(demo: Demo) -> None:
    """The README notebook's tables join: API readings with results.json on the reader, and
    with the readings export on reader, case, run and modality (every row, same category)."""
    api = Client(headers={"Authorization": f"Token {demo.token}"})
    slug = demo.study.slug
    rows: list[dict[str, Any]] = []
    url: str | None = f"/api/studies/{slug}/readings/?page_size=1000"
    while url:
        page = api.get(url).json()
        rows += page["results"]
        url = page["next"]
    readings = pd.DataFrame(rows)
    export = pd.read_csv(
        io.BytesIO(
            b"".join(api.get(f"/api/studies/{slug}/exports/readings.csv/").streaming_content)
        )
    )
    keys = ["reader", "case", "run", "modality"]
    joined = readings.merge(
        export.rename(columns={"reader_id": "reader", "case_id": "case"}),
        on=keys,
        how="outer",
        indicator=True,
        suffixes=("", "_export"),
    )
    assert (joined["_merge"] == "both").all() and len(joined) == len(export)
    assert (joined["category"] == joined["category_export"]).all()
    results = api.get(f"/api/studies/{slug}/analysis/results/").json()
    test = readings[readings["split"] == "test"]
    assert set(results["readers"]) <= set(test["reader"])
    per_reader = (
        test.groupby("reader")["category"]
        .size()
        .to_frame("n")
        .join(pd.DataFrame(results["readers"]).T[["auc"]], how="inner")
    )
    assert len(per_reader) == len(results["readers"]) >= 9


def _real_order(demo: Demo, kind: str) -> list[str]:
    model = {"reader": Reader, "case": Case}[kind]
    codes = model.objects.filter(study=demo.study).order_by("position", "code")
    return [pseudonym(demo.study.slug, kind, c) for c in codes.values_list("code", flat=True)]


def test_lists_are_never_in_the_order_of_import(demo: Demo) -> None:
    """The order of readers.csv and cases.csv (and of storage) would map pseudonyms back:
    blinded readers come in pseudonym order, cases in their keyed order, everywhere."""
    api = Client(headers={"Authorization": f"Token {demo.token}"})
    slug = demo.study.slug
    readers = [r["code"] for r in api.get(f"/api/studies/{slug}/readers/").json()["results"]]
    assert readers == sorted(readers) and readers != _real_order(demo, "reader")
    cases = [
        c["code"]
        for c in api.get(f"/api/studies/{slug}/cases/", {"page_size": 5000}).json()["results"]
    ]
    real = _real_order(demo, "case")
    assert sorted(cases) == sorted(real) and cases != real
    by_key = sorted(demo.codes["case"], key=lambda c: pseudonyms.order_key(slug, "case", c))
    assert cases == [pseudonym(slug, "case", c) for c in by_key]
    export = pd.read_csv(
        io.BytesIO(
            b"".join(api.get(f"/api/studies/{slug}/exports/readings.csv/").streaming_content)
        )
    )
    first = export[export["reader_id"] == export["reader_id"].iloc[0]]
    assert list(export["reader_id"].drop_duplicates()) == sorted(set(export["reader_id"]))
    assert list(first["case_id"].drop_duplicates()) == [
        c for c in cases if c in set(first["case_id"])
    ]
    # The API's readings come in the export's order, page after page.
    listed: list[tuple[str, str, int, int]] = []
    url: str | None = f"/api/studies/{slug}/readings/?page_size=100"
    while url:
        body = api.get(url).json()
        listed += [(r["reader"], r["case"], r["run"], r["modality"]) for r in body["results"]]
        url = body["next"]
    keys = ["reader_id", "case_id", "run", "modality"]
    assert listed == list(export[keys].itertuples(index=False, name=None))
    hub = Client()
    hub.force_login(demo.statistician)
    page = hub.get(f"/studies/{slug}/").content.decode()
    positions = [page.index(r) for r in readers]
    assert positions == sorted(positions)


@pytest.mark.slow
def test_the_pseudonymous_command_outputs_carry_no_real_identifier(
    demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What an operator hands a blinded statistician: ``analyze --pseudonymous`` (tables,
    figures, results.json, manifest.json with its command line, study.toml and seeds) and
    ``export_data --pseudonymous`` in every format."""
    slug = demo.study.slug
    chosen = ",".join(demo.codes["reader"][:4])
    argv = ["manage.py", "analyze", slug, "--readers", chosen, "--pseudonymous"]
    monkeypatch.setattr(sys, "argv", argv)
    out = tmp_path / "analysis"
    call_command(
        "analyze", slug, "--out", str(out), "--readers", chosen, "--pseudonymous",
        "--formats", "html", "--no-progress", "--fleiss-boot", "0", stdout=io.StringIO(),
    )  # fmt: skip
    for kind in EXPORT_KINDS:
        call_command(
            "export_data", slug, "--format", kind, "--out", str(tmp_path / "exports" / kind),
            "--pseudonymous", stdout=io.StringIO(),
        )  # fmt: skip
    crawler = Crawler(html=Client(), api=Client(), markers=demo.forbidden)
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert len(files) > 30 and (out / "manifest.json").exists()
    findings = [
        f
        for path in files
        for f in crawler.search(str(path), decode(path.read_bytes(), f"file {path.name}", ""))
    ]
    assert not findings, "\n".join(map(str, findings[:20]))
    manifest = json.loads((out / "manifest.json").read_text())
    shown = [pseudonym(slug, "reader", c) for c in demo.codes["reader"][:4]]
    assert manifest["command"].endswith(f"--readers {','.join(shown)} --pseudonymous")
    reference = demo.study.reference_reader.code  # type: ignore[union-attr]
    assert (
        f'reference_reader = "{pseudonym(slug, "reader", reference)}"'
        in (manifest["study"]["study_toml"])
    )
