from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from sessions_app import views

urlpatterns = [
    path("signin/", views.SignInView.as_view(), name="login"),
    path("healthz", views.healthz, name="healthz"),
    path("signout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include("sessions_app.api.urls")),
    path("", include("sessions_app.urls")),
]
