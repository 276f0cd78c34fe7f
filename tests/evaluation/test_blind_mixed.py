"""A session mixing model and human outputs, crawled as a rater: pages, JSON and images.

The test study's stored image carries a text chunk ("M1 run 2") and a source-revealing file
name on purpose; the leaking output is redacted first, as a coordinator would.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.test import Client

from evaluation.models import RatingTask
from evaluation.services import rating_item_redact, rating_session_open
from tests.evaluation.blinding_checks import API_SKIP, crawl, forbidden_patterns
from tests.evaluation.conftest import SessionMaker, World

pytestmark = pytest.mark.django_db


def fetcher(client: Client) -> Any:
    def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
        response = client.get(url)
        return (
            response.status_code,
            {k.lower(): v for k, v in response.headers.items()},
            response.content,
        )

    return fetch


def test_every_page_json_and_image_of_a_mixed_session_is_blind(
    world: World, make_session: SessionMaker
) -> None:
    session = make_session(raters_per_item=2, allow_amend=True, start=False)
    leaked = session.items.exclude(leak_flags=[]).get()
    rating_item_redact(item=leaked, text="Images reviewed. BI-RADS 4.", actor=world.coordinator)
    rating_session_open(session=session, actor=world.coordinator)
    user = world.raters[0]
    client = Client()
    client.force_login(user)
    own = list(
        RatingTask.objects.filter(assignment__session=session, assignment__rater__user=user)
        .order_by("position")
        .select_related("item")
    )
    scores = {d.key: 3 for d in world.domains}
    response = client.post(
        f"/rating/items/{own[0].item.public_id}/submit.json",
        data=json.dumps({"token": str(uuid.uuid4()), "version": 0, "scores": scores}),
        content_type="application/json",
    )
    assert response.status_code == 200
    forbidden = forbidden_patterns(
        world.study, other_usernames=["rater2", "rater3", "reader1", "coord", "stats"]
    )
    assert "M1_run2_C1.png" in forbidden.patterns["image name"].pattern.replace("\\", "")
    reviews = [f"/rating/items/{t.item.public_id}/review/" for t in own]
    result = crawl(fetcher(client), ["/rating/", "/", *reviews], forbidden)
    assert not result.problems, "\n".join(result.problems[:40])
    assert result.n_images == len(own) and result.n_json == len(own)
    codes = set(session.items.values_list("reading__reader__code", flat=True))
    assert codes == {"R1", "M1", "M2"}
    # The same through the API: every list, item, draft and image URL found in its answers.
    api = crawl(
        fetcher(client), ["/api/rating/sessions/", "/api/rating/items/"], forbidden, skip=API_SKIP
    )
    assert not api.problems, "\n".join(api.problems[:40])
    assert api.n_images == len(own)
    assert api.visited[f"/api/rating/items/{own[0].item.public_id}/images/1/"] == 200
