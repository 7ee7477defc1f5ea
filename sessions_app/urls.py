from __future__ import annotations

from django.urls import path

from sessions_app import views

app_name = "sessions_app"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("signin/organization/", views.tenant_sign_in, name="tenant-sign-in"),
    path("organizations/", views.organization_list, name="organization-list"),
    path("organizations/<uuid:upstream_id>/", views.organization_detail, name="organization-detail"),
    path("sessions/", views.session_list, name="session-list"),
    path("sessions/new/", views.session_start, name="session-start"),
    path("sessions/<uuid:upstream_id>/", views.session_detail, name="session-detail"),
    path("sessions/<uuid:upstream_id>/status/", views.session_status, name="session-status"),
    path("sessions/<uuid:upstream_id>/stop/", views.session_stop, name="session-stop"),
    path("review/", views.session_review, name="session-review"),
    path("audit/", views.audit_list, name="audit-list"),
    path("audit/export.csv", views.audit_export, name="audit-export"),
    path("audit/overview/", views.audit_overview, name="audit-overview"),
    path("profile/", views.profile, name="profile"),
]
