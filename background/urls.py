from __future__ import annotations

from django.urls import path

from background import views

app_name = "background"

urlpatterns = [
    path("", views.operations, name="operations"),
    path("sync-progress/", views.sync_progress, name="sync-progress"),
]
