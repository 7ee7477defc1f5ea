from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from sessions_app import views

urlpatterns = [
    path("signin/", views.SignInView.as_view(), name="login"),
    path("healthz", views.healthz, name="healthz"),
    # Browsers ask for /favicon.ico on pages without a <link rel="icon"> (admin, API docs): the static file.
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("sessions_app/favicon.ico")), name="favicon"),
    path("signout/", auth_views.LogoutView.as_view(), name="logout"),
    # Before the admin's own URLs: its sign-in page is throttled like the portal's.
    path("admin/login/", views.admin_sign_in),
    path("admin/", admin.site.urls),
    path("api/", include("sessions_app.api.urls")),
    path("api/", include("restores.api_urls")),
    path("operations/", include("background.urls")),
    path("", include("restores.urls")),
    path("", include("sessions_app.urls")),
]
