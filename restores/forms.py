"""The page forms of item actions: the explorer's action dialog (also a page of its own) and the jobs filters.

The dialog offers the catalog's actions for the session's workload and the server's API version; the fields
each action takes come from the catalog too. Whether the chosen entries suit the action is the job service's
decision (its refusal is shown on the form, with everything typed kept).
"""
from __future__ import annotations

import uuid
from typing import Any

from django import forms

from restores import serializers as job_serializers
from restores.actions import ACTIONS, Action, ActionKind
from restores.models import CredentialKind, JobState
from restores.services import credentials as sealed_credentials
from restores.services.jobs import JobSpec
from sessions_app import exceptions
from sessions_app.models import Organization, RestoreSession
from sessions_app.upstream import client as upstream

TARGET_LABELS = {"mailbox": "Target mailbox (e-mail address)", "folder": "Folder in the target",
                 "onedrive": "Target OneDrive (user or address)"}
OPTION_LABELS = {
    "changed_items": "Restore items that changed since the backup",
    "deleted_items": "Restore items deleted since the backup",
    "mark_restored_as_unread": "Mark restored items as unread",
    "pst_size_limit_bytes": "Split the PST above (GB, 1 to 49; empty: no split)",
    "document_action": "When a document exists",
    "document_version": "Versions",
    "restore_permissions": "Restore permissions",
    "restore_changed_items": "Restore items that changed since the backup",
    "restore_missing_items": "Restore items missing since the backup",
}
CHOICE_LABELS = {"Overwrite": "Overwrite it", "Keep": "Keep both (the restored one is renamed)",
                 "Last": "The last version only", "All": "All versions"}
# Options a person would expect switched on (VB365's own defaults for these restores).
OPTIONS_ON = ("restore_permissions", "restore_changed_items", "restore_missing_items")
CREDENTIAL_LABELS = {CredentialKind.DEVICE_CODE: "Device code (sign in to Microsoft 365 in another tab)",
                     CredentialKind.PASSWORD: "User name and password",
                     CredentialKind.APPLICATION: "The organization's application credentials"}

GB = 1_000_000_000


def actions_offered(*, workload: str, api_version: int) -> list[Action]:
    """The catalog's actions for a session of this workload on this API version, in catalog order."""
    return [action for action in ACTIONS.values() if action.workload == workload and api_version >= action.min_version]


class NodesField(forms.Field):
    """The selected entries' node ids (one hidden input each), in the order chosen."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[str]:
        return [str(node) for node in value or [] if node]

    def validate(self, value: list[str]) -> None:
        # How many entries an action takes, and which, is the job service's rule (it names this field).
        if len(value) > job_serializers.MAX_NODES:
            raise forms.ValidationError(f"Select at most {job_serializers.MAX_NODES} entries at once.")


class JobForm(forms.Form):
    """The action dialog: what to do with the selected entries, why, where to, and with which credentials."""

    submission_key = forms.CharField(widget=forms.HiddenInput, max_length=128)
    nodes = NodesField()
    action = forms.ChoiceField(widget=forms.RadioSelect, label="Action")
    reason = forms.CharField(label="Reason", max_length=job_serializers.REASON_MAX_LENGTH,
                             widget=forms.Textarea(attrs={"rows": 3}),
                             error_messages={"required": exceptions.REASON_REQUIRED},
                             help_text="Why this is restored, saved or exported: kept with the job and in the audit "
                                       "trail.")
    ticket = forms.CharField(label="Ticket", max_length=128, required=False)
    credential_kind = forms.ChoiceField(widget=forms.RadioSelect, label="Microsoft 365 credentials", required=False)
    user_code = forms.CharField(label="Device code", max_length=64, required=False)
    user_name = forms.CharField(label="User name", max_length=254, required=False,
                                widget=forms.TextInput(attrs={"autocomplete": "off"}))
    password = forms.CharField(label="Password", max_length=256, required=False, strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def __init__(self, *args: Any, actions: list[Action], app_credentials: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actions = {action.name: action for action in actions}
        self.fields["action"].choices = [(action.name, action.label) for action in actions]  # type: ignore[attr-defined]
        kinds = [CredentialKind.DEVICE_CODE, CredentialKind.PASSWORD]
        if app_credentials:
            kinds.append(CredentialKind.APPLICATION)
        self.fields["credential_kind"].choices = [  # type: ignore[attr-defined]
            (kind.value, CREDENTIAL_LABELS[kind]) for kind in kinds]
        for name in dict.fromkeys(field for action in actions for field in action.target_fields):
            self.fields[f"target_{name}"] = forms.CharField(label=TARGET_LABELS.get(name, name), max_length=1024,
                                                            required=False)
        for name in dict.fromkeys(field for action in actions for field in action.option_fields):
            self.fields[f"option_{name}"] = self._option_field(name)
        self.fields["reason"].widget.attrs["data-max-length"] = str(job_serializers.REASON_MAX_LENGTH)

    @staticmethod
    def _option_field(name: str) -> forms.Field:
        label = OPTION_LABELS.get(name, name.replace("_", " ").capitalize())
        if name in job_serializers.BOOLEAN_OPTIONS:
            return forms.BooleanField(label=label, required=False, initial=name in OPTIONS_ON)
        if name in job_serializers.OPTION_CHOICES:
            choices = [(value, CHOICE_LABELS.get(value, value)) for value in job_serializers.OPTION_CHOICES[name]]
            return forms.ChoiceField(label=label, choices=choices, required=False, initial=choices[0][0])
        # People think of the PST limit in gigabytes; VB365 (and the API) take bytes.
        return forms.IntegerField(label=label, required=False, min_value=job_serializers.PST_LIMIT_MIN // GB,
                                  max_value=job_serializers.PST_LIMIT_MAX // GB)

    def chosen_action(self) -> Action | None:
        return self.actions.get(self.cleaned_data.get("action", ""))

    def spec(self) -> JobSpec:
        """The request as the job service takes it (after is_valid). Only the chosen action's fields count;
        credentials only for restores."""
        data = self.cleaned_data
        action = self.actions[data["action"]]
        options = {}
        for name in action.option_fields:
            value = data.get(f"option_{name}")
            if value not in (None, ""):
                if name == "pst_size_limit_bytes":
                    value *= GB
                options[name] = job_serializers.option_value(name, value)
        restore = action.kind == ActionKind.RESTORE
        return job_serializers.job_spec(
            action=action.name, nodes=data["nodes"], reason=data["reason"],
            target={name: (data[f"target_{name}"] or "").strip() for name in action.target_fields}, options=options,
            credential_kind=(data["credential_kind"] or CredentialKind.NONE) if restore else CredentialKind.NONE,
            user_name=data["user_name"] if restore else "", password=data["password"] if restore else "",
            user_code=data["user_code"] if restore else "", ticket=data["ticket"],
            idempotency_key=data["submission_key"])

    def action_choices(self) -> list[tuple[Any, Action]]:
        """Each radio of the action field with its catalog entry (the dialog marks what each one accepts)."""
        return [(radio, self.actions[str(radio.data["value"])]) for radio in self["action"]]

    def target_fields(self) -> list[tuple[forms.BoundField, list[Action]]]:
        """Each target field with the actions that need it."""
        return [(self[f"target_{name}"], [a for a in self.actions.values() if name in a.target_fields])
                for name in dict.fromkeys(f for a in self.actions.values() for f in a.target_fields)]

    def option_fields(self) -> list[tuple[forms.BoundField, list[Action]]]:
        """Each option field with the actions that take it."""
        return [(self[f"option_{name}"], [a for a in self.actions.values() if name in a.option_fields])
                for name in dict.fromkeys(f for a in self.actions.values() for f in a.option_fields)]

    def restore_actions(self) -> list[Action]:
        """The actions that need credentials (they write into Microsoft 365)."""
        return [action for action in self.actions.values() if action.kind == ActionKind.RESTORE]


def job_form_for(session: RestoreSession, data: Any = None, *, initial: dict[str, Any] | None = None) -> JobForm:
    """The action form for `session`: the catalog's actions for its workload and the server's API version; the
    organization's application credentials offered when an administrator has set them."""
    actions = actions_offered(workload=session.workload, api_version=upstream.configured_dialect().version)
    app_credentials = sealed_credentials.app_credential_exists(organization=session.organization)
    return JobForm(data, actions=actions, app_credentials=app_credentials,
                   initial={"submission_key": str(uuid.uuid4()), **(initial or {})})


class JobFilterForm(forms.Form):
    """The all-jobs list's filters (helpdesk, auditors)."""

    state = forms.ChoiceField(label="State", required=False, choices=[("", "Any state"), *JobState.choices])
    action = forms.ChoiceField(label="Action", required=False,
                               choices=[("", "Any action"), *((name, f"{action.workload.capitalize()}: {action.label}")
                                                              for name, action in ACTIONS.items())])
    person = forms.CharField(label="Person", required=False, max_length=150,
                             help_text="Who asked for it, or for whom it was done.")
    organization = forms.ModelChoiceField(label="Organization", required=False, queryset=Organization.objects.none(),
                                          to_field_name="upstream_id", empty_label="Any organization")
    session = forms.UUIDField(label="Session id", required=False)

    def __init__(self, *args: Any, organizations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations  # type: ignore[attr-defined]

    def as_filters(self) -> dict[str, Any]:
        """Keyword arguments of restores.selectors.job_list."""
        data = self.cleaned_data
        return {"state": data["state"] or None, "action": data["action"] or None, "person": data["person"] or None,
                "organization": data["organization"].upstream_id if data["organization"] else None,
                "session": data["session"]}
