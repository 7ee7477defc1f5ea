"""services.refusals: the first refusal of a kind is written at once, repeats are counted and summarised once
the window closes, so probes cannot flood the chain and no count is lost."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sessions_app.exceptions import Refusal
from sessions_app.models import AuditAction, AuditEvent, AuditOutcome, RefusalTally
from sessions_app.services import refusals

WINDOW = timedelta(seconds=600)


@pytest.fixture
def foreign(other_org):
    return Refusal(operation="organization.view", target=str(other_org.upstream_id), organization=other_org,
                   why="organization outside the user's grants")


def denials():
    return list(AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED).order_by("sequence"))


def test_the_first_refusal_is_written_at_once(operator, foreign, other_org):
    event = refusals.access_refused(actor=operator, refusal=foreign, client_address="192.0.2.7")
    assert event is not None and denials() == [event]
    assert event.actor_username == "olivia" and event.outcome == AuditOutcome.DENIED
    assert event.organization_id == str(other_org.upstream_id) and event.client_address == "192.0.2.7"
    assert event.details == {"operation": "organization.view", "target": str(other_org.upstream_id),
                             "why": "organization outside the user's grants"}


def test_a_hundred_probes_write_two_events_and_keep_the_count(operator, foreign, other_org):
    start = timezone.now()
    written = [refusals.access_refused(actor=operator, refusal=foreign, client_address="192.0.2.7",
                                       now=start + timedelta(seconds=second)) for second in range(100)]
    assert sum(event is not None for event in written) == 1
    assert refusals.refusals_flush(now=start + WINDOW + timedelta(seconds=100)) == 1
    first, summary = denials()
    assert 1 + summary.details["repeats"] == 100
    assert summary.details["last_repeat_at"] == (start + timedelta(seconds=99)).isoformat()
    assert summary.actor_username == "olivia" and summary.organization_id == str(other_org.upstream_id)
    assert not RefusalTally.objects.exists()


def test_the_next_refusal_after_the_window_writes_the_count_and_itself(operator, foreign):
    start = timezone.now()
    for second in range(3):
        refusals.access_refused(actor=operator, refusal=foreign, now=start + timedelta(seconds=second))
    later = start + WINDOW + timedelta(minutes=1)
    assert refusals.access_refused(actor=operator, refusal=foreign, now=later) is not None
    assert [event.details.get("repeats") for event in denials()] == [None, 2, None]


def test_a_window_without_repeats_leaves_no_summary(operator, foreign):
    start = timezone.now()
    refusals.access_refused(actor=operator, refusal=foreign, now=start)
    assert refusals.refusals_flush(now=start + WINDOW) == 0
    assert len(denials()) == 1 and not RefusalTally.objects.exists()


def test_other_people_operations_and_targets_are_counted_apart(operator, exchange_operator, foreign, backed_up_org):
    refusals.access_refused(actor=operator, refusal=foreign)
    refusals.access_refused(actor=exchange_operator, refusal=foreign)
    refusals.access_refused(actor=operator, refusal=Refusal(operation="restore_points.list", target=foreign.target))
    refusals.access_refused(actor=operator, refusal=Refusal(operation="organization.view",
                                                            target=str(backed_up_org.upstream_id)))
    assert len(denials()) == 4


def test_many_targets_are_counted_under_one_star(operator, settings):
    settings.AUDIT_REFUSAL_TARGETS_PER_WINDOW = 3
    start = timezone.now()
    for n in range(10):
        refusals.access_refused(actor=operator, refusal=Refusal(operation="session.view", target=f"guess-{n}"),
                                now=start)
    targets = [event.details["target"] for event in denials()]
    assert targets == ["guess-0", "guess-1", "guess-2", "*"]
    refusals.refusals_flush(now=start + WINDOW)
    assert denials()[-1].details["target"] == "*" and denials()[-1].details["repeats"] == 6


def test_signed_out_refusals_are_counted_by_address(foreign):
    refusals.access_refused(actor=None, refusal=foreign, client_address="192.0.2.7")
    refusals.access_refused(actor=None, refusal=foreign, client_address="192.0.2.7")
    refusals.access_refused(actor=None, refusal=foreign, client_address="198.51.100.1")
    assert [event.client_address for event in denials()] == ["192.0.2.7", "198.51.100.1"]
