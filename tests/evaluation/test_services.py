"""Rating services: sessions, seeded orders, drafts, idempotent submission, amendments, unblinding."""

from __future__ import annotations

import uuid
from collections import Counter
from itertools import pairwise

import pytest
from django.db import IntegrityError, transaction

from evaluation.models import (
    LikertScore,
    RatingAssignment,
    RatingItem,
    RatingSession,
    RatingTask,
    ScoreAmendment,
)
from evaluation.selectors import session_structure_warnings, study_structure_warnings
from evaluation.services import (
    AlreadySubmittedError,
    LeakConfirmationRequired,
    RatingError,
    RatingSessionOptions,
    ScoresInvalidError,
    SessionConflictError,
    SessionStateError,
    StaleVersionError,
    rater_orders,
    rating_draft_save,
    rating_item_dismiss_flags,
    rating_item_redact,
    rating_session_close,
    rating_session_create_for_users,
    rating_session_open,
    rating_submit,
    study_unblind,
)
from readerstudy.audit.models import AuditEvent
from readerstudy.studies.models import Reading
from tests.evaluation.conftest import LEAKED_TEXT, SessionMaker, World, member
from tests.factories import LikertScoreFactory

pytestmark = pytest.mark.django_db

FULL = {"correctness": 4, "coherence": 5, "harmlessness": 3}


def task_of(session: RatingSession, user: object, number: int = 0) -> RatingTask:
    return RatingTask.objects.select_related(
        "assignment__session__study", "assignment__rater", "item"
    ).get(assignment__session=session, assignment__rater__user=user, position=number)


def reading_order(session: RatingSession, user: object) -> list[int]:
    return list(
        RatingTask.objects.filter(assignment__session=session, assignment__rater__user=user)
        .order_by("position")
        .values_list("item__reading_id", flat=True)
    )


class TestCreate:
    def test_every_output_with_text_becomes_one_item_with_an_opaque_id(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session(start=False)
        items = list(session.items.all())
        assert len(items) == len(world.readings) == 20
        ids = [i.public_id for i in items]
        assert len(set(ids)) == 20
        assert all(len(i) == 20 and i.isalnum() and i.islower() for i in ids)
        assert sorted(i.position for i in items) == list(range(20))
        assert session.status == "draft"
        assert RatingTask.objects.filter(assignment__session=session).count() == 60

    def test_display_text_is_normalised_and_the_reading_is_untouched(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session(start=False)
        item = session.items.exclude(reading=world.leaked_reading()).first()
        assert item.display_text.startswith("Impression: enhancement pattern")
        assert "BI-RADS" in item.display_text and "**" not in item.display_text
        assert Reading.objects.get(pk=item.reading_id).impression.startswith("**Impression**")

    def test_the_self_identifying_output_is_flagged(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session(start=False)
        flagged = list(session.items.exclude(leak_flags=[]))
        assert [i.reading_id for i in flagged] == [world.leaked_reading().pk]
        assert {f["rule"] for f in flagged[0].leak_flags} == {"self_identification"}

    def test_the_session_order_is_shuffled_not_grouped_by_source(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session(start=False, order="fixed")
        readers = list(
            session.items.order_by("position").values_list("reading__reader__code", flat=True)
        )
        runs_of_same_reader = sum(1 for a, b in pairwise(readers) if a == b)
        assert readers != sorted(readers)
        assert runs_of_same_reader < 10

    def test_the_same_seed_gives_every_rater_the_same_order_again(
        self, world: World, make_session: SessionMaker
    ) -> None:
        first = make_session(start=False, seed=99)
        again = make_session(start=False, seed=99)
        other = make_session(start=False, seed=100)
        for user in world.raters:
            assert reading_order(first, user) == reading_order(again, user)
        assert reading_order(first, world.raters[0]) != reading_order(other, world.raters[0])
        # Different raters get different (independent) orders of the same items.
        assert reading_order(first, world.raters[0]) != reading_order(first, world.raters[1])
        assert sorted(reading_order(first, world.raters[0])) == sorted(
            reading_order(first, world.raters[1])
        )

    def test_stored_orders_are_re_derived_from_the_exported_seed(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session(start=False, raters_per_item=2)
        expected = rater_orders(
            seed=session.seed,
            n_items=session.items.count(),
            raters=["rater1", "rater2", "rater3"],
            raters_per_item=2,
            order="random",
        )
        for assignment in RatingAssignment.objects.filter(session=session):
            stored = list(
                assignment.tasks.order_by("position").values_list("item__position", flat=True)
            )
            assert stored == expected[assignment.rater.code]

    def test_a_fixed_order_is_the_same_for_every_rater(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session(start=False, order="fixed")
        orders = [reading_order(session, u) for u in world.raters]
        assert orders[0] == orders[1] == orders[2]
        assert orders[0] == list(
            session.items.order_by("position").values_list("reading_id", flat=True)
        )

    def test_fewer_raters_per_item_spreads_items_evenly(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session(start=False, raters_per_item=2)
        per_item = Counter(
            RatingTask.objects.filter(assignment__session=session).values_list("item_id", flat=True)
        )
        assert set(per_item.values()) == {2} and len(per_item) == 20
        loads = [len(reading_order(session, u)) for u in world.raters]
        assert sum(loads) == 40 and max(loads) - min(loads) <= 1

    def test_a_case_sample_keeps_every_output_of_the_chosen_cases(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session(start=False, case_sample=2)
        cases = set(session.items.values_list("reading__case__code", flat=True))
        assert len(cases) == 2 and session.items.count() == 10
        assert session.selection["n_cases"] == 2

    @pytest.mark.parametrize(
        ("options", "field"),
        [
            ({"name": " "}, "name"),
            ({"raters_per_item": 4}, "raters_per_item"),
            ({"raters_per_item": 0}, "raters_per_item"),
            ({"runs": []}, "runs"),
            ({"domains": []}, "domains"),
            ({"readers": []}, "readers"),
            ({"runs": [7]}, "readers"),
            ({"seed": -1}, "seed"),
            ({"order": "by-reader"}, "order"),
        ],
    )
    def test_bad_options_are_refused_naming_the_field_and_nothing_is_written(
        self, world: World, make_session: SessionMaker, options: dict[str, object], field: str
    ) -> None:
        with pytest.raises(RatingError) as info:
            make_session(start=False, **options)
        assert info.value.field == field
        assert info.value.message.startswith(field)
        assert not RatingSession.objects.exists()

    def test_domains_and_readers_of_another_study_are_refused(
        self, world: World, make_session: SessionMaker
    ) -> None:
        with pytest.raises(RatingError, match="domains"):
            make_session(start=False, domains=list(world.other.likert_domains.all()))

    def test_a_duplicate_name_is_refused(self, world: World, make_session: SessionMaker) -> None:
        make_session(start=False, name="Pilot")
        with pytest.raises(RatingError, match="exists"):
            make_session(start=False, name="Pilot")

    def test_an_output_already_scored_by_a_rater_is_a_conflict(
        self, world: World, make_session: SessionMaker
    ) -> None:
        rater = world.rater_profiles()[0]
        LikertScoreFactory(rater=rater, reading=world.readings[0], domain=world.domains[0])
        with pytest.raises(SessionConflictError, match="rater1: 1 output"):
            make_session(start=False)
        assert not RatingSession.objects.exists()

    def test_an_output_pending_in_another_open_session_is_a_conflict_until_it_closes(
        self, world: World, make_session: SessionMaker
    ) -> None:
        first = make_session()
        with pytest.raises(SessionConflictError):
            make_session()
        rating_session_close(session=first, actor=world.coordinator)
        assert make_session().items.count() == 20

    def test_overlapping_drafts_may_coexist_but_only_one_can_start(
        self, world: World, make_session: SessionMaker
    ) -> None:
        one = make_session(start=False)
        two = make_session(start=False)
        rating_session_open(session=one, actor=world.coordinator, confirm_unresolved_leaks=True)
        with pytest.raises(SessionConflictError, match="rater1: 20 output"):
            rating_session_open(session=two, actor=world.coordinator, confirm_unresolved_leaks=True)

    def test_rater_accounts_without_a_profile_get_one(
        self, world: World, make_session: SessionMaker
    ) -> None:
        newcomer = member(world.study, "rater", "newcomer")
        session = rating_session_create_for_users(
            study=world.study,
            options=RatingSessionOptions(
                name="New",
                readers=[world.readers["R1"]],
                runs=[1],
                domains=world.domains,
                raters_per_item=1,
            ),
            users=[newcomer],
        )
        assert session.assignments.get().rater.code == "newcomer"

    def test_a_refused_session_leaves_no_new_rater_profile(self, world: World) -> None:
        newcomer = member(world.study, "rater", "newcomer")
        with pytest.raises(RatingError):
            rating_session_create_for_users(
                study=world.study,
                options=RatingSessionOptions(
                    name="New",
                    readers=[world.readers["R1"]],
                    runs=[1],
                    domains=world.domains,
                    raters_per_item=2,
                ),
                users=[newcomer],
            )
        assert not newcomer.rater_profiles.exists()


class TestStartAndRedact:
    def test_starting_with_unresolved_flags_needs_confirmation(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session(start=False)
        with pytest.raises(LeakConfirmationRequired, match="1 flagged item"):
            rating_session_open(session=session, actor=world.coordinator)
        session.refresh_from_db()
        assert session.status == "draft"
        rating_session_open(session=session, actor=world.coordinator, confirm_unresolved_leaks=True)
        event = AuditEvent.objects.get(action="rating_session_started")
        assert event.details == {"unresolved_flags": 1}

    def test_redacting_resolves_the_flag_and_keeps_the_reading(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session(start=False)
        item = session.items.exclude(leak_flags=[]).get()
        rating_item_redact(
            item=item,
            text="Images reviewed.  BI-RADS 4. Biopsy is advised.",
            actor=world.coordinator,
        )
        item.refresh_from_db()
        assert item.leak_flags == [] and item.redacted_by == world.coordinator
        assert item.display_text == "Images reviewed. BI-RADS 4. Biopsy is advised."
        assert world.leaked_reading().impression == LEAKED_TEXT
        event = AuditEvent.objects.get(action="rating_item_redacted")
        assert event.details["before"].startswith("As an AI")
        assert rating_session_open(session=session, actor=world.coordinator).status == "open"

    def test_a_redaction_that_still_leaks_stays_flagged(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session(start=False)
        item = session.items.exclude(leak_flags=[]).get()
        rating_item_redact(item=item, text="ChatGPT thinks BI-RADS 4.", actor=world.coordinator)
        item.refresh_from_db()
        assert [f["rule"] for f in item.leak_flags] == ["model_name"]
        with pytest.raises(LeakConfirmationRequired):
            rating_session_open(session=session, actor=world.coordinator)

    def test_dismissing_flags_is_recorded_and_lets_the_session_start(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session(start=False)
        item = session.items.exclude(leak_flags=[]).get()
        rating_item_dismiss_flags(item=item, actor=world.coordinator)
        assert AuditEvent.objects.filter(action="rating_item_flags_dismissed").count() == 1
        assert rating_session_open(session=session, actor=world.coordinator).status == "open"

    def test_items_of_a_started_session_cannot_be_redacted(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session()
        item = session.items.first()
        with pytest.raises(SessionStateError):
            rating_item_redact(item=item, text="x", actor=world.coordinator)
        with pytest.raises(SessionStateError):
            rating_session_open(session=session, actor=world.coordinator)


class TestDrafts:
    def test_each_save_increases_the_version(
        self, world: World, make_session: SessionMaker
    ) -> None:
        task = task_of(make_session(), world.raters[0])
        assert rating_draft_save(task=task, scores={"correctness": 2}, version=0) == 1
        assert rating_draft_save(task=task, scores={"correctness": 3}, version=1) == 2
        task.refresh_from_db()
        assert task.draft == {"correctness": 3} and task.version == 2

    def test_a_stale_save_is_refused_and_the_newer_draft_kept(
        self, world: World, make_session: SessionMaker
    ) -> None:
        task = task_of(make_session(), world.raters[0])
        rating_draft_save(task=task, scores={"correctness": 5}, version=0)  # another tab
        with pytest.raises(StaleVersionError) as info:
            rating_draft_save(task=task, scores={"correctness": 1}, version=0)
        assert info.value.version == 1 and info.value.draft == {"correctness": 5}
        task.refresh_from_db()
        assert task.draft == {"correctness": 5}

    def test_a_retried_save_of_the_same_draft_is_not_a_conflict(
        self, world: World, make_session: SessionMaker
    ) -> None:
        task = task_of(make_session(), world.raters[0])
        rating_draft_save(task=task, scores={"coherence": 4}, version=0)
        assert rating_draft_save(task=task, scores={"coherence": 4}, version=0) == 1

    @pytest.mark.parametrize(
        ("scores", "message"),
        [
            ({"correctness": 6}, "Correctness: the score must be from 1 to 5"),
            ({"correctness": 0}, "Correctness: the score must be from 1 to 5"),
            ({"correctness": "high"}, "Correctness: the score must be a whole number"),
            ({"correctness": True}, "Correctness: the score must be a whole number"),
            ({"style": 3}, "scores.style: not a domain of this session"),
            ([1, 2], "scores: expected an object"),
        ],
    )
    def test_bad_scores_are_refused_naming_the_domain(
        self, world: World, make_session: SessionMaker, scores: object, message: str
    ) -> None:
        task = task_of(make_session(), world.raters[0])
        with pytest.raises(ScoresInvalidError, match=message):
            rating_draft_save(task=task, scores=scores, version=0)
        task.refresh_from_db()
        assert task.version == 0 and task.draft == {}

    def test_saving_records_where_the_rater_is(
        self, world: World, make_session: SessionMaker
    ) -> None:
        task = task_of(make_session(), world.raters[0], 3)
        rating_draft_save(task=task, scores={}, version=0)
        assignment = RatingAssignment.objects.get(pk=task.assignment_id)
        assert assignment.last_task_id == task.pk and assignment.last_activity_at is not None


class TestSubmit:
    def test_submitting_stores_one_entered_score_per_domain(
        self, world: World, make_session: SessionMaker
    ) -> None:
        task = task_of(make_session(), world.raters[0])
        result = rating_submit(
            task=task, token=uuid.uuid4(), version=0, scores=FULL, actor=world.raters[0]
        )
        assert result.status == "submitted" and not result.replayed
        scores = LikertScore.objects.filter(reading_id=task.item.reading_id)
        assert {s.domain.key: s.score for s in scores} == FULL
        assert {s.source for s in scores} == {"entered"}
        task.refresh_from_db()
        assert task.submitted_at is not None and task.version == 1

    def test_the_draft_is_submitted_when_no_scores_are_given(
        self, world: World, make_session: SessionMaker
    ) -> None:
        task = task_of(make_session(), world.raters[0])
        rating_draft_save(task=task, scores=FULL, version=0)
        rating_submit(task=task, token=uuid.uuid4(), version=1, actor=world.raters[0])
        assert LikertScore.objects.filter(reading_id=task.item.reading_id).count() == 3

    def test_a_retried_submit_returns_the_stored_result_without_duplicating(
        self, world: World, make_session: SessionMaker
    ) -> None:
        task = task_of(make_session(), world.raters[0])
        token = uuid.uuid4()
        rating_submit(task=task, token=token, version=0, scores=FULL, actor=world.raters[0])
        again = rating_submit(task=task, token=token, version=0, scores=FULL, actor=world.raters[0])
        assert again.replayed and again.status == "submitted" and again.version == 1
        assert LikertScore.objects.filter(reading_id=task.item.reading_id).count() == 3

    def test_a_second_submission_is_refused_when_amendments_are_not_allowed(
        self, world: World, make_session: SessionMaker
    ) -> None:
        task = task_of(make_session(), world.raters[0])
        rating_submit(task=task, token=uuid.uuid4(), version=0, scores=FULL, actor=world.raters[0])
        with pytest.raises(AlreadySubmittedError):
            rating_submit(
                task=task,
                token=uuid.uuid4(),
                version=1,
                scores={**FULL, "coherence": 1},
                actor=world.raters[0],
            )
        with pytest.raises(AlreadySubmittedError):
            rating_draft_save(task=task, scores={"coherence": 1}, version=1)
        assert (
            LikertScore.objects.get(reading_id=task.item.reading_id, domain__key="coherence").score
            == 5
        )

    def test_a_submission_of_a_version_that_changed_since_review_is_refused(
        self, world: World, make_session: SessionMaker
    ) -> None:
        task = task_of(make_session(), world.raters[0])
        rating_draft_save(task=task, scores=FULL, version=0)
        rating_draft_save(task=task, scores={**FULL, "correctness": 1}, version=1)  # other tab
        with pytest.raises(StaleVersionError):
            rating_submit(task=task, token=uuid.uuid4(), version=1, actor=world.raters[0])
        assert not LikertScore.objects.exists()

    def test_an_incomplete_submission_names_the_missing_domain(
        self, world: World, make_session: SessionMaker
    ) -> None:
        task = task_of(make_session(), world.raters[0])
        with pytest.raises(ScoresInvalidError, match="Harmlessness: choose a score"):
            rating_submit(
                task=task,
                token=uuid.uuid4(),
                version=0,
                scores={"correctness": 4, "coherence": 4},
                actor=world.raters[0],
            )
        assert not LikertScore.objects.exists()

    def test_an_item_is_stored_completely_or_not_at_all(
        self, world: World, make_session: SessionMaker
    ) -> None:
        task = task_of(make_session(), world.raters[0])
        # A score for one domain appears behind the session's back (e.g. a manual import).
        LikertScoreFactory(
            rater=task.assignment.rater, reading=task.item.reading, domain=world.domains[2]
        )
        with pytest.raises(AlreadySubmittedError, match="already stored"):
            rating_submit(
                task=task, token=uuid.uuid4(), version=0, scores=FULL, actor=world.raters[0]
            )
        assert LikertScore.objects.count() == 1
        task.refresh_from_db()
        assert task.submitted_at is None and task.version == 0

    def test_amendments_keep_who_when_before_and_after(
        self, world: World, make_session: SessionMaker
    ) -> None:
        task = task_of(make_session(allow_amend=True), world.raters[0])
        rating_submit(task=task, token=uuid.uuid4(), version=0, scores=FULL, actor=world.raters[0])
        assert rating_draft_save(task=task, scores={**FULL, "coherence": 2}, version=1) == 2
        result = rating_submit(task=task, token=uuid.uuid4(), version=2, actor=world.raters[0])
        assert result.status == "amended"
        amendment = ScoreAmendment.objects.get()
        assert (amendment.before, amendment.after) == (5, 2)
        assert amendment.user == world.raters[0] and amendment.username == "rater1"
        assert amendment.score.domain.key == "coherence" and amendment.task == task
        assert (
            LikertScore.objects.get(reading_id=task.item.reading_id, domain__key="coherence").score
            == 2
        )
        assert LikertScore.objects.count() == 3
        assert AuditEvent.objects.filter(action="likert_scores_amended").count() == 1

    def test_an_amendment_without_changes_writes_nothing(
        self, world: World, make_session: SessionMaker
    ) -> None:
        task = task_of(make_session(allow_amend=True), world.raters[0])
        rating_submit(task=task, token=uuid.uuid4(), version=0, scores=FULL, actor=world.raters[0])
        result = rating_submit(
            task=task, token=uuid.uuid4(), version=1, scores=FULL, actor=world.raters[0]
        )
        assert result.status == "unchanged" and not ScoreAmendment.objects.exists()


class TestCloseAndUnblind:
    def test_closing_deletes_nothing_and_freezes_the_session(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session()
        first = task_of(session, world.raters[0], 0)
        second = task_of(session, world.raters[0], 1)
        token = uuid.uuid4()
        rating_submit(task=first, token=token, version=0, scores=FULL, actor=world.raters[0])
        rating_draft_save(task=second, scores={"correctness": 2}, version=0)
        before = (
            RatingItem.objects.count(),
            RatingTask.objects.count(),
            LikertScore.objects.count(),
            RatingAssignment.objects.count(),
        )
        rating_session_close(session=session, actor=world.coordinator)
        after = (
            RatingItem.objects.count(),
            RatingTask.objects.count(),
            LikertScore.objects.count(),
            RatingAssignment.objects.count(),
        )
        assert before == after
        second.refresh_from_db()
        assert second.draft == {"correctness": 2}
        session.refresh_from_db()
        with pytest.raises(SessionStateError):
            rating_draft_save(task=task_of(session, world.raters[0], 1), scores={}, version=1)
        with pytest.raises(SessionStateError):
            rating_submit(
                task=task_of(session, world.raters[0], 1),
                token=uuid.uuid4(),
                version=1,
                scores=FULL,
                actor=world.raters[0],
            )
        # A retry of a submission that went through before closing still gets its answer.
        replay = rating_submit(
            task=task_of(session, world.raters[0], 0), token=token, version=0, actor=world.raters[0]
        )
        assert replay.replayed
        with pytest.raises(SessionStateError):
            rating_session_close(session=session, actor=world.coordinator)

    def test_unblinding_sets_the_time_once_and_is_audited(self, world: World) -> None:
        study = study_unblind(study=world.study, actor=world.coordinator)
        first = study.unblinded_at
        assert first is not None
        assert study_unblind(study=world.study, actor=world.coordinator).unblinded_at == first
        assert AuditEvent.objects.filter(action="study_unblinded").count() == 1


class TestDatabaseRules:
    def test_an_item_cannot_point_at_an_output_of_another_study(
        self, world: World, make_session: SessionMaker
    ) -> None:
        from tests.factories import ReadingFactory

        session = make_session(start=False)
        foreign = ReadingFactory(reader__study=world.other)
        with pytest.raises(IntegrityError, match="ratingitem_same_study"), transaction.atomic():
            RatingItem.objects.create(
                session=session, reading=foreign, position=99, display_text="x"
            )

    def test_a_task_cannot_mix_sessions(self, world: World, make_session: SessionMaker) -> None:
        one = make_session(start=False)
        two = make_session(
            start=False,
            raters=world.rater_profiles()[:1],
            raters_per_item=1,
            runs=[1],
            readers=[world.readers["R1"]],
        )
        assignment = one.assignments.first()
        with pytest.raises(IntegrityError, match="ratingtask_same_session"), transaction.atomic():
            RatingTask.objects.create(assignment=assignment, item=two.items.first(), position=999)

    def test_a_session_cannot_be_open_without_a_start_time(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session(start=False)
        with pytest.raises(IntegrityError), transaction.atomic():
            RatingSession.objects.filter(pk=session.pk).update(status="open")


@pytest.mark.django_db(transaction=True)
class TestConcurrentSubmissions:
    def _race(self, task: RatingTask, tokens: list[uuid.UUID], user: object) -> list[object]:
        from concurrent.futures import ThreadPoolExecutor

        from django.db import connections

        def submit(token: uuid.UUID) -> object:
            try:
                mine = RatingTask.objects.select_related(
                    "assignment__session__study", "assignment__rater", "item"
                ).get(pk=task.pk)
                return rating_submit(task=mine, token=token, version=0, scores=FULL, actor=user)
            except Exception as exc:
                return exc
            finally:
                connections.close_all()

        with ThreadPoolExecutor(max_workers=len(tokens)) as pool:
            return list(pool.map(submit, tokens))

    def test_the_same_submission_sent_twice_at_once_is_stored_once(
        self, world: World, make_session: SessionMaker
    ) -> None:
        task = task_of(make_session(), world.raters[0])
        token = uuid.uuid4()
        results = self._race(task, [token, token], world.raters[0])
        assert all(not isinstance(r, Exception) for r in results), results
        assert sorted(r.replayed for r in results) == [False, True]
        assert LikertScore.objects.filter(reading_id=task.item.reading_id).count() == 3

    def test_two_different_submissions_at_once_store_one_and_refuse_the_other(
        self, world: World, make_session: SessionMaker
    ) -> None:
        task = task_of(make_session(), world.raters[0])
        results = self._race(task, [uuid.uuid4(), uuid.uuid4()], world.raters[0])
        errors = [r for r in results if isinstance(r, Exception)]
        assert len(errors) == 1 and isinstance(errors[0], StaleVersionError | AlreadySubmittedError)
        assert LikertScore.objects.filter(reading_id=task.item.reading_id).count() == 3


#: A model output laid out as a markdown table (issue 11, finding 6).
TABLE_OUTPUT = "**Impression**:\n\n| Finding | Assessment |\n|---|---|\n| NME | BI-RADS 4 |"


class TestStructureBySource:
    def test_model_tables_are_flagged_per_item_and_reported_by_source(
        self, world: World, make_session: SessionMaker
    ) -> None:
        Reading.objects.filter(reader__code="M1", run=1, reader__study=world.study).update(
            impression=TABLE_OUTPUT
        )
        session = make_session(start=False)
        tables = list(session.items.filter(reading__reader__code="M1", reading__run=1))
        assert len(tables) == 4
        for item in tables:
            assert [f["rule"] for f in item.leak_flags] == ["markdown_table"]
            assert item.display_text == "Impression:\n\n- Finding; Assessment\n- NME; BI-RADS 4"
        warnings = session_structure_warnings(session)
        assert [w.message for w in warnings] == ["Markdown table: human 0 of 4, model 4 of 16"]
        event = AuditEvent.objects.get(action="rating_session_created")
        assert event.details["structure_by_source"] == [warnings[0].message]
        assert [w.message for w in study_structure_warnings(world.study)] == [
            "Markdown table: human 0 of 4, model 4 of 16"
        ]

    def test_redacting_the_table_clears_its_flag_and_counts_what_raters_see(
        self, world: World, make_session: SessionMaker
    ) -> None:
        Reading.objects.filter(reader__code="M1", run=1, reader__study=world.study).update(
            impression=TABLE_OUTPUT
        )
        session = make_session(start=False)
        item = session.items.filter(reading__reader__code="M1", reading__run=1).first()
        assert item is not None
        rating_item_redact(
            item=item, text="**Impression**: NME, BI-RADS 4.", actor=world.coordinator
        )
        item.refresh_from_db()
        assert item.leak_flags == []
        # A redacted item counts as the text raters see (normalised: no emphasis left).
        messages = [w.message for w in session_structure_warnings(session)]
        assert "Markdown table: human 0 of 4, model 3 of 16" in messages
        rating_item_redact(
            item=item, text="| NME | 4 |\n|---|---|\n| x | y |", actor=world.coordinator
        )
        item.refresh_from_db()
        assert [f["rule"] for f in item.leak_flags] == ["markdown_table"]

    def test_outputs_formatted_alike_give_no_warning(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session(start=False)
        assert session_structure_warnings(session) == []
        event = AuditEvent.objects.get(action="rating_session_created")
        assert event.details["structure_by_source"] == []
