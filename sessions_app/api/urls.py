from __future__ import annotations

from django.urls import URLPattern, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from sessions_app.api import browse, views

app_name = "api"

# Object ids are matched as plain strings: a malformed id is answered by the API (404 in the error envelope),
# not by Django's HTML 404 page.
urlpatterns: list[URLPattern] = [
    path("auth/token/", views.AuthTokenApi.as_view(), name="auth-token"),
    path("auth/tenant-token/", views.TenantAuthTokenCreateApi.as_view(), name="auth-tenant-token"),
    path("organizations/", views.OrganizationListApi.as_view(), name="organization-list"),
    path("organizations/<str:upstream_id>/restore-points/", views.OrganizationRestorePointListApi.as_view(),
         name="organization-restore-points"),
    path("sessions/", views.RestoreSessionListStartApi.as_view(), name="session-list"),
    path("sessions/<str:upstream_id>/", views.RestoreSessionDetailApi.as_view(), name="session-detail"),
    path("sessions/<str:upstream_id>/stop/", views.RestoreSessionStopApi.as_view(), name="session-stop"),
    path("sessions/<str:upstream_id>/events/", views.RestoreSessionEventListApi.as_view(), name="session-events"),
    path("sessions/<str:upstream_id>/browse/", browse.BrowseListApi.as_view(), name="session-browse"),
    path("sessions/<str:upstream_id>/browse/search/", browse.BrowseSearchApi.as_view(), name="session-browse-search"),
    path("sessions/<str:upstream_id>/browse/node/", browse.BrowseNodeApi.as_view(), name="session-browse-node"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
]
