"""The jobs API under /api/ (included from portal/urls.py beside sessions_app.api.urls)."""
from __future__ import annotations

from django.urls import URLPattern, path

from restores import api

app_name = "restores_api"

# Ids are matched as plain strings: a malformed id is answered by the API (404 in the error envelope).
urlpatterns: list[URLPattern] = [
    path("sessions/<str:upstream_id>/jobs/", api.JobCreateApi.as_view(), name="session-jobs"),
    path("sessions/<str:upstream_id>/device-code/", api.DeviceCodeCreateApi.as_view(), name="session-device-code"),
    path("jobs/", api.JobListApi.as_view(), name="job-list"),
    path("jobs/<str:job_id>/", api.JobDetailApi.as_view(), name="job-detail"),
    path("jobs/<str:job_id>/download/", api.JobDownloadApi.as_view(), name="job-download"),
]
