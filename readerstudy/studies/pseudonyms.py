"""Pseudonymisation: the one layer that decides which identifiers an actor sees.

Until a study is unblinded (``Study.unblinded_at``), its statisticians see **pseudonyms**
instead of reader, case, patient and rater codes, on every channel: pages, the API, the
dashboard, tables, figures, notes, dataset exports, file names, ``results.json`` and the
``analyze`` outputs. Coordinators always see real ids; after unblinding everyone with
access does. Anyone who may see real ids can still ask for pseudonyms (``?ids=pseudonymous``,
``--pseudonymous``), e.g. to share a blinded dataset.

* :func:`pseudonym` is the pseudonym of one code: ``RD-`` / ``CS-`` / ``PT-`` / ``RT-`` and
  the first 12 hex digits of HMAC-SHA256(``SECRET_KEY``, study slug, kind, code). The same
  object gets the same pseudonym on every channel, so an API list joins with an export.
* :class:`Pseudonyms` maps many codes of a study at once (one-to-one even if 12 digits
  collide), for the analysis and the exports.
* :class:`Blinding` is the decision for one actor and one study, and what follows from it:
  the id shown for each object, the object behind an id the actor sent (URLs, filters),
  which details are hidden, and the order in which lists are given.

What a blinded statistician gets (docs/analysis.md, "Pseudonymisation"): pseudonyms for
codes; of a reader only its kind (human or model), no label, group, description, years of
experience, number of interpretations, account or position; no position of a case and no
storage id or timestamp of a reading. Lists are never in import order (which would map
pseudonyms back to the order of readers.csv and cases.csv): readers come in pseudonym order,
cases in a keyed order (:func:`order_key`), readings by reader, then case in that order.
Free text (impressions, clinical history, findings, names of sessions) is data and is passed
through as written.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import Case as SqlCase
from django.db.models import CharField, F, Func, IntegerField, Value, When
from django.db.models.functions import Concat

from readerstudy.core import roles as role_names

if TYPE_CHECKING:
    from readerstudy.core.users import Visitor
    from readerstudy.studies.models import Study

Kind = Literal["reader", "case", "patient", "rater"]
KINDS: tuple[Kind, ...] = ("reader", "case", "patient", "rater")

#: Prefix of each kind of pseudonym.
PSEUDONYM_PREFIX: dict[str, str] = {
    "reader": "RD-",
    "case": "CS-",
    "patient": "PT-",
    "rater": "RT-",
}
PSEUDONYM_LENGTH = 12

#: Where the codes of a kind owned by a part above this one come from: ``{kind: codes of a
#: study}``, filled by :func:`register_codes` (evaluation registers ``"rater"`` when ready).
CODE_SOURCES: dict[str, Callable[[Study], Iterable[str]]] = {}


def register_codes(kind: Kind, source: Callable[[Study], Iterable[str]]) -> None:
    """Make ``source(study)`` the codes of ``kind`` (a kind whose model lives in another part)."""
    _check_kind(kind)
    CODE_SOURCES[kind] = source


#: What ``?ids=`` may ask for (pages, downloads and the API alike).
IDS_CHOICES: tuple[str, ...] = ("real", "pseudonymous")

#: The only fields of a reader given to anyone who gets pseudonyms: every other one (label,
#: group, years of experience, interpretations, description, position, account, and any
#: field added later) tells who the reader is.
BLINDED_READER_FIELDS: tuple[str, ...] = ("code", "kind")
#: Fields of a case hidden from anyone who gets pseudonyms (its row in cases.csv).
HIDDEN_CASE_FIELDS: tuple[str, ...] = ("position",)
#: Fields of a reading hidden from anyone who gets pseudonyms (storage order and times).
HIDDEN_READING_FIELDS: tuple[str, ...] = ("id", "created_at", "updated_at")


# ---------------------------------------------------------------------------------------
# Pseudonyms of codes
# ---------------------------------------------------------------------------------------


def _secret() -> bytes:
    return settings.SECRET_KEY.encode()


def _check_kind(kind: str) -> None:
    if kind not in PSEUDONYM_PREFIX:
        raise ValueError(f"kind: expected one of {', '.join(KINDS)}, got {kind!r}")


def pseudonym(slug: str, kind: str, code: str, *, length: int = PSEUDONYM_LENGTH) -> str:
    """The pseudonym of ``code`` (a reader, case, patient or rater code) in study ``slug``.

    ``prefix + HMAC-SHA256(SECRET_KEY, slug, kind, code)`` truncated to ``length`` hex
    digits: stable for a study (the same code always gets the same pseudonym), different
    between studies and between kinds, and not reversible without the secret key.
    """
    _check_kind(kind)
    message = "\x1f".join(("readerstudy-pseudonym", slug, kind, code)).encode()
    digest = hmac.new(_secret(), message, hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX[kind] + digest[:length]


def pseudonym_map(slug: str, kind: str, codes: Iterable[str]) -> dict[str, str]:
    """``{code: pseudonym}`` for every code of ``codes`` ("" stays "").

    Pseudonyms have 12 hex digits; if two codes of one kind collide (about 1 in 500 for a
    million codes), that kind gets the full 64 digits instead, so the map is one-to-one.
    Pass *every* code of the kind in the study, so that each channel decides alike.
    """
    _check_kind(kind)
    unique = sorted({str(c) for c in codes})
    prefix = "\x1f".join(("readerstudy-pseudonym", slug, kind, "")).encode()
    base = hmac.new(_secret(), prefix, hashlib.sha256)

    def digest(code: str) -> str:
        h = base.copy()
        h.update(code.encode())
        return h.hexdigest()

    full = {c: digest(c) for c in unique if c != ""}
    short = {c: d[:PSEUDONYM_LENGTH] for c, d in full.items()}
    chosen = short if len(set(short.values())) == len(short) else full
    out = {c: PSEUDONYM_PREFIX[kind] + d for c, d in chosen.items()}
    if "" in unique:
        out[""] = ""
    return out


@dataclass(frozen=True)
class Pseudonyms:
    """Maps the real codes of a study to what an export or analysis shows.

    With ``enabled`` false every code maps to itself.
    """

    slug: str
    enabled: bool

    def mapping(self, kind: str, codes: Sequence[str]) -> dict[str, str]:
        if not self.enabled:
            _check_kind(kind)
            return {str(c): str(c) for c in codes}
        return pseudonym_map(self.slug, kind, codes)


# ---------------------------------------------------------------------------------------
# Order of lists
# ---------------------------------------------------------------------------------------


def order_salt(slug: str, kind: str) -> str:
    """The per-study, per-kind secret of :func:`order_key` (derived from ``SECRET_KEY``)."""
    _check_kind(kind)
    message = "\x1f".join(("readerstudy-order", slug, kind)).encode()
    return hmac.new(_secret(), message, hashlib.sha256).hexdigest()


def order_key(slug: str, kind: str, code: str) -> str:
    """The key blinded lists are sorted by: SHA-256 of :func:`order_salt` and the code.

    Unrelated to the order of import and not computable without the secret, so the position
    of an object in a list says nothing about who or which it is. The database computes the
    same value (:func:`order_key_expression`, :func:`order_key_sql`), so a paginated API list and a
    streamed export sort alike.
    """
    return hashlib.sha256((order_salt(slug, kind) + code).encode()).hexdigest()


def order_keys(slug: str, kind: str, codes: Iterable[str]) -> list[str]:
    """:func:`order_key` of many codes (the secret derived once)."""
    salt = order_salt(slug, kind)
    return [hashlib.sha256((salt + code).encode()).hexdigest() for code in codes]


class Sha256Hex(Func):
    """``SHA-256(text)`` as lowercase hex, in SQL (SQLite: Django's ``SHA256`` function;
    PostgreSQL: the built-in ``sha256``, compared byte-wise so that it sorts as Python)."""

    function = "SHA256"
    output_field = CharField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(
            compiler,
            connection,
            template="(encode(sha256(convert_to(%(expressions)s, 'UTF8')), 'hex') COLLATE \"C\")",
            **extra,
        )


def order_key_expression(slug: str, kind: str, field_name: str) -> Sha256Hex:
    """The ORM expression of :func:`order_key` for the code stored in ``field_name``."""
    return Sha256Hex(Concat(Value(order_salt(slug, kind)), F(field_name), output_field=CharField()))


def order_key_sql(slug: str, kind: str, column: str) -> tuple[str, list[str]]:
    """Raw SQL (and its parameter) of :func:`order_key` for the code in ``column``."""
    salt = order_salt(slug, kind)
    if connection.vendor == "postgresql":
        return f"encode(sha256(convert_to(%s || {column}, 'UTF8')), 'hex') COLLATE \"C\"", [salt]
    return f"SHA256(%s || {column})", [salt]


def rank_sql(column: str, ranks: Mapping[int, int]) -> str:
    """``CASE column WHEN pk THEN rank … END``: a list's order of a few objects (readers,
    raters) in raw SQL. Primary keys and ranks are integers, written as literals. With no
    objects it is a constant expression, never a bare integer (which ``ORDER BY`` would read as
    a column position)."""
    if not ranks:
        return "CAST(0 AS INTEGER)"
    whens = " ".join(f"WHEN {int(pk)} THEN {int(rank)}" for pk, rank in ranks.items())
    return f"CASE {column} {whens} ELSE {len(ranks)} END"


def rank_expression(field_name: str, ranks: Mapping[int, int]) -> SqlCase | Value:
    """The ORM form of :func:`rank_sql`."""
    if not ranks:
        return Value(0)
    return SqlCase(
        *(When(**{field_name: pk}, then=Value(rank)) for pk, rank in ranks.items()),
        default=Value(len(ranks)),
        output_field=IntegerField(),
    )


# ---------------------------------------------------------------------------------------
# The decision for one actor
# ---------------------------------------------------------------------------------------


def real_ids_allowed(*, roles: set[str], study: Study) -> bool:
    """Real ids: for the study's coordinators at any time, for everyone after unblinding."""
    return study.unblinded_at is not None or role_names.COORDINATOR in roles


def check_ids_request(requested: str | None) -> None:
    """``ValueError`` unless ``requested`` (a ``?ids=`` value) is empty, real or pseudonymous."""
    if requested not in (None, "", *IDS_CHOICES):
        raise ValueError("ids: expected 'real' or 'pseudonymous'")


_CODE_EDGE = r"[0-9A-Za-z_]"


@dataclass(frozen=True)
class Blinding:
    """Which identifiers one actor sees in one study, and everything that follows from it.

    Build it with :meth:`for_actor`; every channel that shows a reader, case, patient or
    rater to someone asks it (``blinding.reader(code)``, ``blinding.real("case", shown)``,
    ``blinding.hides_details``, …). Look-ups read each kind's codes once per instance.
    """

    study: Study
    pseudonymous: bool
    _maps: dict[str, dict[str, str]] = field(default_factory=dict, compare=False, repr=False)
    _reverse: dict[str, dict[str, str]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def for_actor(
        cls,
        *,
        actor: Visitor,
        study: Study,
        requested: str | None = None,
        roles: set[str] | None = None,
    ) -> Blinding:
        """The blinding of ``actor`` in ``study``: pseudonyms unless real ids are allowed
        (:func:`real_ids_allowed`) and not ``requested`` away (``"pseudonymous"``).

        ``roles`` are the actor's roles in the study when the caller already has them.
        ``ValueError`` for a ``requested`` value other than real or pseudonymous.
        """
        from readerstudy.studies.access import study_roles

        check_ids_request(requested)
        held = study_roles(actor, study) if roles is None else roles
        allowed = real_ids_allowed(roles=held, study=study)
        return cls(study=study, pseudonymous=not allowed or requested == "pseudonymous")

    @property
    def ids(self) -> Pseudonyms:
        """The same decision as a :class:`Pseudonyms` (for the analysis and the exports)."""
        return Pseudonyms(self.study.slug, self.pseudonymous)

    @property
    def hides_details(self) -> bool:
        """Whether labels, groups, experience, positions and storage ids are hidden."""
        return self.pseudonymous

    # -------------------------------------------------------------------- look-ups

    def _codes(self, kind: str) -> list[str]:
        from readerstudy.studies.models import Case, Reader

        if kind == "reader":
            rows = Reader.objects.filter(study=self.study).values_list("code", flat=True)
        elif kind == "case":
            rows = Case.objects.filter(study=self.study).values_list("code", flat=True)
        elif kind == "patient":
            rows = Case.objects.filter(study=self.study).values_list("patient_id", flat=True)
        elif kind in CODE_SOURCES:
            rows = CODE_SOURCES[kind](self.study)
        else:
            _check_kind(kind)
            raise ImproperlyConfigured(f"kind {kind!r}: no part registered its codes")
        return [str(c) for c in rows]

    def mapping(self, kind: Kind) -> dict[str, str]:
        """``{real code: id shown}`` for every object of ``kind`` in the study."""
        if kind not in self._maps:
            self._maps[kind] = self.ids.mapping(kind, self._codes(kind))
        return self._maps[kind]

    def shown(self, kind: Kind, code: str) -> str:
        """The id the actor sees for the real ``code`` of ``kind``."""
        if not self.pseudonymous or code == "":
            return code
        mapped = self.mapping(kind).get(code)
        # A code the study does not hold (yet): the same formula, so it still never shows.
        return mapped if mapped is not None else pseudonym(self.study.slug, kind, code)

    def reader(self, code: str) -> str:
        return self.shown("reader", code)

    def case(self, code: str) -> str:
        return self.shown("case", code)

    def patient(self, code: str) -> str:
        return self.shown("patient", code)

    def rater(self, code: str) -> str:
        return self.shown("rater", code)

    def real(self, kind: Kind, shown: str) -> str | None:
        """The real code behind an id the actor sent (a URL, a filter), or ``None``.

        A blinded actor names objects by pseudonym only: a real code is ``None`` (not
        found), so probing real codes reveals nothing.
        """
        if not self.pseudonymous:
            return shown
        if kind not in self._reverse:
            self._reverse[kind] = {v: k for k, v in self.mapping(kind).items() if v}
        return self._reverse[kind].get(shown)

    # -------------------------------------------------------------------- order

    def reader_ranks(self) -> dict[int, int]:
        """``{reader pk: position}``: pseudonym order when blinded, else readers.csv order."""
        from readerstudy.studies.models import Reader

        rows = list(
            Reader.objects.filter(study=self.study)
            .order_by("position", "code")
            .values_list("pk", "code")
        )
        if self.pseudonymous:
            rows.sort(key=lambda r: self.reader(r[1]))
        return {pk: i for i, (pk, _) in enumerate(rows)}

    def case_ranks(self) -> dict[int, int]:
        """``{case pk: position}``: keyed order (:func:`order_key`) when blinded, else
        cases.csv order; the order of the case list."""
        from readerstudy.studies.models import Case

        rows = list(
            Case.objects.filter(study=self.study)
            .order_by("position", "code")
            .values_list("pk", "code")
        )
        if self.pseudonymous:
            keys = order_keys(self.study.slug, "case", (code for _, code in rows))
            rows = [row for _, row in sorted(zip(keys, rows, strict=True))]
        return {pk: i for i, (pk, _) in enumerate(rows)}

    def case_order(self, field_name: str = "code") -> Sha256Hex:
        """The ORM expression blinded case lists are sorted by (:func:`order_key`)."""
        return order_key_expression(self.study.slug, "case", field_name)

    # -------------------------------------------------------------------- text

    def redact(self, text: str) -> str:
        """``text`` with every reader and rater code that stands alone replaced by its
        pseudonym (for text the platform writes itself, such as a command line)."""
        if not self.pseudonymous or not text:
            return text
        swaps = {**self.mapping("rater"), **self.mapping("reader")}
        codes = sorted((c for c in swaps if c), key=len, reverse=True)
        if not codes:
            return text
        pattern = re.compile(
            rf"(?<!{_CODE_EDGE})(?:{'|'.join(map(re.escape, codes))})(?!{_CODE_EDGE})"
        )
        return pattern.sub(lambda m: swaps[m.group(0)], text)
