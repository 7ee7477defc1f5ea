"""services.refusals: the first refusal of a kind is written at once, repeats are counted and summarised once
the window closes, so probes cannot flood the chain and no count is lost."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from sessions_app import exceptions
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


def test_once_the_oldest_named_window_closes_a_new_target_is_named_again(operator, settings):
    """Repeats of a named target keep their own count while further targets go to "*"; the limit is of
    open windows, so it frees a place as soon as the oldest named one closes, whatever was counted before."""
    settings.AUDIT_REFUSAL_TARGETS_PER_WINDOW = 2
    start = timezone.now()

    def probe(target: str, seconds: float) -> AuditEvent | None:
        return refusals.access_refused(actor=operator, refusal=Refusal(operation="session.view", target=target),
                                       now=start + timedelta(seconds=seconds))

    for second, target in enumerate(["guess-0", "guess-1", "guess-2", "guess-3", "guess-0"]):
        probe(target, 10 * second)
    assert [event.details["target"] for event in denials()] == ["guess-0", "guess-1", "*"]
    assert probe("guess-4", WINDOW.total_seconds() + 5) is not None  # guess-0's window has closed
    refusals.refusals_flush(now=start + 2 * WINDOW)
    summaries = {event.details["target"]: event.details["repeats"] for event in denials() if "repeats" in event.details}
    assert summaries == {"guess-0": 1, "*": 1}


def test_signed_out_refusals_are_counted_by_address(foreign):
    refusals.access_refused(actor=None, refusal=foreign, client_address="192.0.2.7")
    refusals.access_refused(actor=None, refusal=foreign, client_address="192.0.2.7")
    refusals.access_refused(actor=None, refusal=foreign, client_address="198.51.100.1")
    assert [event.client_address for event in denials()] == ["192.0.2.7", "198.51.100.1"]


def test_a_refusal_carried_by_an_error_is_recorded_under_the_request_that_met_it(operator, other_org):
    carried = exceptions.NotVisible("No such organization.", refusal=Refusal(
        target=str(other_org.upstream_id), organization=other_org, why="organization outside the user's grants"))

    event = refusals.refusal_record(actor=operator, operation="session.start", refused=carried,
                                    client_address="192.0.2.7")

    assert event is not None and event.details == {"operation": "session.start", "target": str(other_org.upstream_id),
                                                   "why": "organization outside the user's grants"}


def test_a_plain_refusal_is_recorded_as_the_operation_on_its_target(operator):
    event = refusals.refusal_record(actor=operator, operation="audit.view", refused=PermissionDenied(), target="")

    assert event is not None and event.details == {"operation": "audit.view", "target": ""}


def test_a_refusal_that_names_its_operation_keeps_it(operator, foreign):
    event = refusals.refusal_record(actor=operator, operation="session.view", refused=foreign)

    assert event is not None and event.details["operation"] == "organization.view"
