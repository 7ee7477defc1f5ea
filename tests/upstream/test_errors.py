"""The upstream error family: each class's API status, envelope code and retry policy, and lookup by name."""
from __future__ import annotations

import pytest

from sessions_app.exceptions import PortalError, StartFailed, StartOutcomeUnknown
from sessions_app.upstream import errors


@pytest.mark.parametrize(("error_class", "http_status", "code", "retryable"), [
    (errors.UpstreamUnavailable, 503, "upstream_unavailable", True),
    (errors.UpstreamTimeout, 504, "upstream_timeout", True),
    (errors.UpstreamBadResponse, 502, "upstream_bad_response", True),
    (errors.UpstreamAuthError, 502, "upstream_auth", True),
    (errors.UpstreamRejected, 502, "upstream_rejected", False),
    (errors.UpstreamNotFound, 404, "upstream_not_found", False),
    (errors.UpstreamError, 502, "upstream_error", False),
])
def test_each_error_carries_its_status_code_and_retry_policy(error_class: type[errors.UpstreamError],
                                                              http_status: int, code: str, retryable: bool) -> None:
    raised = error_class("Something went wrong.", status_code=500)

    assert (raised.http_status, raised.code, raised.retryable) == (http_status, code, retryable)


def test_portal_refusals_are_never_retried() -> None:
    assert PortalError.retryable is False
    assert StartOutcomeUnknown("lost", candidate_sessions=[]).retryable is False


@pytest.mark.parametrize("name", ["UpstreamError", "UpstreamUnavailable", "UpstreamTimeout", "UpstreamAuthError",
                                  "UpstreamNotFound", "UpstreamRejected", "UpstreamBadResponse"])
def test_a_recorded_error_name_finds_its_class(name: str) -> None:
    found = errors.error_class_named(name)

    assert found is not None and found.__name__ == name and found is getattr(errors, name)


@pytest.mark.parametrize("name", ["", "StartOutcomeUnknown", StartFailed.__name__, "ValueError", "upstreamtimeout"])
def test_a_name_outside_the_family_finds_nothing(name: str) -> None:
    assert errors.error_class_named(name) is None
