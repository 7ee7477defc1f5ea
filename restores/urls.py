"""The pages of item actions (included from portal/urls.py at the site's root, before sessions_app.urls)."""
from __future__ import annotations

from django.urls import URLPattern, path

from restores import views

app_name = "restores"

urlpatterns: list[URLPattern] = [
    path("sessions/<uuid:upstream_id>/jobs/new/", views.job_new, name="job-new"),
    path("jobs/", views.job_list, name="job-list"),
    path("jobs/all/", views.job_list_all, name="job-list-all"),
    path("jobs/<uuid:public_id>/", views.job_detail, name="job-detail"),
    path("jobs/<uuid:public_id>/status/", views.job_status, name="job-status"),
    path("jobs/<uuid:public_id>/download/", views.job_download, name="job-download"),
]
