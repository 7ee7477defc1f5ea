"""Every named URL reverses to its path and resolves back to the same name and view."""
from __future__ import annotations

import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse

from sessions_app import views

SESSION = uuid.UUID("11111111-2222-3333-4444-555555555555")
ORGANIZATION = uuid.UUID("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")


@pytest.mark.parametrize(("name", "args", "path", "view"), [
    ("sessions_app:dashboard", [], "/", views.dashboard),
    ("sessions_app:organization-list", [], "/organizations/", views.organization_list),
    ("sessions_app:organization-detail", [ORGANIZATION], f"/organizations/{ORGANIZATION}/", views.organization_detail),
    ("sessions_app:session-list", [], "/sessions/", views.session_list),
    ("sessions_app:session-start", [], "/sessions/new/", views.session_start),
    ("sessions_app:session-detail", [SESSION], f"/sessions/{SESSION}/", views.session_detail),
    ("sessions_app:session-status", [SESSION], f"/sessions/{SESSION}/status/", views.session_status),
    ("sessions_app:session-stop", [SESSION], f"/sessions/{SESSION}/stop/", views.session_stop),
    ("sessions_app:session-review", [], "/review/", views.session_review),
    ("sessions_app:audit-list", [], "/audit/", views.audit_list),
    ("sessions_app:audit-export", [], "/audit/export.csv", views.audit_export),
    ("sessions_app:audit-overview", [], "/audit/overview/", views.audit_overview),
    ("sessions_app:profile", [], "/profile/", views.profile),
])
def test_page_urls_round_trip(name, args, path, view):
    assert reverse(name, args=args) == path
    match = resolve(path)
    assert match.view_name == name
    assert match.func is view
    if args:
        assert match.kwargs == {"upstream_id": args[0]}


@pytest.mark.parametrize(("name", "path"), [("login", "/signin/"), ("logout", "/signout/")])
def test_sign_in_and_out_urls(name, path):
    assert reverse(name) == path and resolve(path).view_name == name


def test_session_ids_must_be_uuids():
    from django.urls import Resolver404

    with pytest.raises(Resolver404):
        resolve("/sessions/not-a-uuid/")


def _named_patterns(resolver: URLResolver, namespace: str = "", prefix: str = ""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _named_patterns(entry, inner, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}", prefix + str(entry.pattern), entry


def _sample_kwargs(pattern: URLPattern) -> dict[str, object]:
    converters = getattr(pattern.pattern, "converters", {})
    return {key: (SESSION if type(conv).__name__ == "UUIDConverter" else
                  "1" if type(conv).__name__ in ("IntConverter", "PathConverter") else
                  "x1") for key, conv in converters.items()}


ALL_NAMED = sorted({name: (route, entry) for name, route, entry in _named_patterns(get_resolver())}.items())


@pytest.mark.parametrize("name", [name for name, _ in ALL_NAMED if not name.startswith("admin:")])
def test_every_named_url_round_trips(name):
    _, entry = dict(ALL_NAMED)[name]
    kwargs = _sample_kwargs(entry)
    path = reverse(name, kwargs=kwargs)
    assert resolve(path).view_name == name


def test_admin_urls_round_trip():
    assert resolve(reverse("admin:index")).view_name == "admin:index"
    path = reverse("admin:sessions_app_restoresession_changelist")
    assert resolve(path).view_name == "admin:sessions_app_restoresession_changelist"
