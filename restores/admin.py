"""Django admin for restore jobs (read-only: jobs are written by their services and the worker) and for each
organization's application credentials (set and removed through restores.services.credentials, so the secret
is sealed and the change audited; the secret is write-only: never shown, never sent back to the browser)."""
from __future__ import annotations

import base64
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from restores.models import OrganizationAppCredential, RestoreJob
from restores.services import credentials
from sessions_app.admin import ReadOnlyAdmin
from sessions_app.exceptions import PortalError
from sessions_app.http import client_address


@admin.register(RestoreJob)
class RestoreJobAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "action", "state", "requested_by", "on_behalf_of", "organization", "created_at",
                    "finished_at", "succeeded_count", "failed_count")
    list_filter = ("state", "action", "workload", "credential_kind")
    search_fields = ("public_id", "reason", "ticket", "requested_by__username", "file_name")
    list_select_related = ("requested_by", "on_behalf_of", "organization")
    date_hierarchy = "created_at"


class AppCredentialForm(forms.ModelForm):  # type: ignore[type-arg]
    """The secret comes in (a .pfx upload or its base64 text, and its password) and is never shown again."""

    certificate_file = forms.FileField(required=False, help_text="The application's certificate (.pfx).")
    certificate_b64 = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}),
                                      label="Certificate (base64)", help_text="Or paste it base64-encoded.")
    certificate_password = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False))

    class Meta:
        model = OrganizationAppCredential
        fields = ("organization", "application_id", "impersonation_account")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        upload = cleaned.get("certificate_file")
        if upload:
            cleaned["certificate_b64"] = base64.b64encode(upload.read()).decode()
        if not cleaned.get("certificate_b64"):
            raise forms.ValidationError("Give the certificate: upload the .pfx file or paste it base64-encoded. "
                                        "(The stored one is never shown; setting credentials replaces it.)")
        try:
            credentials.app_credential_check(application_id=str(cleaned.get("application_id") or ""),
                                             certificate_b64=cleaned["certificate_b64"])
        except PortalError as exc:
            # Refused here, the admin shows the form again; refused in save_model, it would report a success.
            raise forms.ValidationError(exc.message) from None
        return cleaned


@admin.register(OrganizationAppCredential)
class OrganizationAppCredentialAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = AppCredentialForm
    list_display = ("organization", "application_id", "impersonation_account", "key_id", "updated_by", "updated_at")
    list_select_related = ("organization", "updated_by")
    readonly_fields = ("key_id", "updated_by", "updated_at")

    def save_model(self, request: HttpRequest, obj: OrganizationAppCredential, form: Any, change: bool) -> None:
        data = form.cleaned_data   # checked by AppCredentialForm.clean with the service's own rules
        saved = credentials.app_credential_set(
            actor=request.user, organization=data["organization"], application_id=str(data["application_id"]),
            certificate_b64=data["certificate_b64"], certificate_password=data.get("certificate_password", ""),
            impersonation_account=data.get("impersonation_account", ""), client_address=client_address(request))
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: OrganizationAppCredential) -> None:
        credentials.app_credential_remove(actor=request.user, organization=obj.organization,
                                          client_address=client_address(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[OrganizationAppCredential]) -> None:
        for credential in queryset.select_related("organization"):
            self.delete_model(request, credential)
