"""The jobs API: ask for an item action in a session, follow it, download what it produced.

Who may do what, the catalog's rules and the credentials' hand-off are the job services'; these views translate
HTTP (STYLE §31), as sessions_app/api/views.py does, with the same base (PortalApi: roles, UTC, audited
refusals) and the same error envelope.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from restores import selectors as job_selectors
from restores import serializers as job_serializers
from restores import storage
from restores.actions import ACTIONS
from restores.models import JobState, RestoreJob
from restores.services import downloads, jobs
from sessions_app.api import pagination, permissions
from sessions_app.api.views import (
    AUTHENTICATED,
    E400,
    E404,
    E409,
    E_UPSTREAM,
    IDEMPOTENCY_KEY_HEADER,
    IDEMPOTENCY_KEY_MAX_LENGTH,
    UPSTREAM_ID,
    PortalApi,
    _error,
    _idempotency_key,
    _session_or_404,
)
from sessions_app.http import client_address

if TYPE_CHECKING:
    from sessions_app.api.views import AuthenticatedRequest
else:
    AuthenticatedRequest = Request

JOB_ID = OpenApiParameter("job_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The job's `id`.")
E410 = {410: _error("The file was removed: its retention (`EXPORT_RETENTION_HOURS`) ended (`gone`).")}
E409_NOT_READY = {409: _error("The file is not ready: the job is still working, failed, or produced no file "
                              "(`not_ready`).")}


class JobOperation:
    """What a refusal of each job operation is recorded as in the audit trail."""

    CREATE = "job.create"
    VIEW = "job.view"
    LIST = "job.list"
    DOWNLOAD = "job.download"
    DEVICE_CODE = "job.device_code"


def _job_or_404(request: AuthenticatedRequest, job_id: str) -> RestoreJob:
    """Raises NotVisible (404, audited by PortalApi) for a job the user may not see, or a malformed id."""
    return job_selectors.job_for(request.user, job_id)


class JobCreateApi(PortalApi):
    """Ask for an item action (restore, save or export) on entries of a working session."""

    permission_classes = [IsAuthenticated, permissions.HasPortalRole, permissions.CanStartSessions]
    refused_operations = {"POST": JobOperation.CREATE}

    @extend_schema(
        operation_id="sessions_jobs_create",
        summary="Restore, save or export entries of a session (a tracked job)",
        description=(
            "Queues one job and answers 202 with it; follow it at its `url` until `state` is finished, then fetch "
            "`download_url` for saves and exports. Which actions a session allows depends on its workload, the "
            "VB365 API version and the kinds of the chosen entries: anything else is 400 with the reason. "
            "Restores need `credentials`; saves and exports take none. Send an `Idempotency-Key` header to make "
            "retries safe: the same key with the same body answers with the first job again; with another body, "
            "409."),
        request=job_serializers.JobCreateSerializer,
        parameters=[UPSTREAM_ID, OpenApiParameter(
            IDEMPOTENCY_KEY_HEADER, {"type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH},
            OpenApiParameter.HEADER, required=False,
            description="Any unique string (a UUID is a good choice), at most 128 characters.")],
        responses={202: job_serializers.JobOutputSerializer, **E400, **AUTHENTICATED, **E404, **E409, **E_UPSTREAM},
        examples=[OpenApiExample("Three messages to another mailbox", request_only=True, value={
            "action": "exchange.restore_to_mailbox", "nodes": ["<id from the browse API>"],
            "reason": "INC-1234: j.doe's deleted mail", "target": {"mailbox": "adele@contoso.com",
                                                                   "folder": "Restored"},
            "options": {"mark_restored_as_unread": True},
            "credentials": {"kind": "device_code", "user_code": "ABCD12345"}})],
        tags=["jobs"],
    )
    def post(self, request: AuthenticatedRequest, upstream_id: str) -> Response:
        key = _idempotency_key(request) if IDEMPOTENCY_KEY_HEADER in request.headers else ""
        session = _session_or_404(request, upstream_id)
        serializer = job_serializers.JobCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = jobs.job_create(actor=request.user, session=session, spec=serializer.spec(idempotency_key=key),
                              client_address=client_address(request))
        return Response(job_serializers.JobOutputSerializer(job, context={"request": request}).data,
                        status=status.HTTP_202_ACCEPTED)


class DeviceCodeCreateApi(PortalApi):
    """A Microsoft 365 device code for a restore in this session (the device code flow)."""

    permission_classes = [IsAuthenticated, permissions.HasPortalRole, permissions.CanStartSessions]
    refused_operations = {"POST": JobOperation.DEVICE_CODE}

    @extend_schema(
        operation_id="sessions_device_code_create",
        summary="Get a device code for a restore's credentials",
        description=("Open `verification_url`, type `user_code` and sign in with a Microsoft 365 account that may "
                     "restore; then send the code as `credentials: {kind: device_code, user_code}` with the job. "
                     "The code is VB365's: Restore Desk keeps nothing of it."),
        parameters=[UPSTREAM_ID],
        request=None,
        responses={200: job_serializers.DeviceCodeSerializer, **AUTHENTICATED, **E404, **E409, **E_UPSTREAM},
        tags=["jobs"],
    )
    def post(self, request: AuthenticatedRequest, upstream_id: str) -> Response:
        session = _session_or_404(request, upstream_id)
        code = jobs.device_code_request(actor=request.user, session=session)
        return Response(job_serializers.DeviceCodeSerializer(code).data)


class JobListApi(PortalApi):
    """The jobs the user may see, newest first: their own; helpdesk and auditors everybody's."""

    pagination_class = pagination.LimitOffsetPagination
    refused_operations = {"GET": JobOperation.LIST}

    @extend_schema_serializer(component_name="JobListFilter")
    class FilterSerializer(serializers.Serializer[Any]):
        state = serializers.ChoiceField(choices=JobState.choices, required=False)
        action = serializers.ChoiceField(choices=sorted(ACTIONS), required=False)
        user = serializers.CharField(max_length=150, required=False,
                                     help_text="Username of who asked for the job, or for whom it was done.")
        organization = serializers.UUIDField(required=False, help_text="Upstream id of the organization.")
        session = serializers.UUIDField(required=False, help_text="Upstream id of the restore session.")
        mine = serializers.BooleanField(required=False, default=False,
                                        help_text="Only the jobs you asked for, or that were done for you.")

    @extend_schema(
        operation_id="jobs_list",
        summary="List jobs",
        parameters=[FilterSerializer],
        responses={200: job_serializers.JobOutputSerializer(many=True), **E400, **AUTHENTICATED},
        tags=["jobs"],
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        query = dict(filters.validated_data)
        visible = job_selectors.job_list(user=request.user, person=query.pop("user", None), **query)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(visible, request, view=self)
        # With the request in the context: the jobs' `url` and `download_url` are absolute, as in the detail.
        return paginator.get_paginated_response(
            job_serializers.JobOutputSerializer(page, many=True, context={"request": request}).data)


class JobDetailApi(PortalApi):
    refused_operations = {"GET": JobOperation.VIEW}

    @extend_schema(
        operation_id="jobs_retrieve",
        summary="Get a job: its state, counts, per-item outcomes and download link",
        parameters=[JOB_ID],
        responses={200: job_serializers.JobOutputSerializer, **AUTHENTICATED, **E404},
        tags=["jobs"],
    )
    def get(self, request: AuthenticatedRequest, job_id: str) -> Response:
        job = _job_or_404(request, job_id)
        return Response(job_serializers.JobOutputSerializer(job, context={"request": request}).data)


class _AnyContent(BaseContentNegotiation):
    """The download answers a file whatever the client accepts; its errors are JSON (the one envelope)."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return next(iter(parsers), None)

    def select_renderer(self, request: Request, renderers: Iterable[BaseRenderer],
                        format_suffix: str | None = None) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class JobDownloadApi(PortalApi):
    refused_operations = {"GET": JobOperation.DOWNLOAD}
    content_negotiation_class = _AnyContent

    @extend_schema(
        operation_id="jobs_download",
        summary="Download the file a save or export produced",
        description=("Streams the file under its own name (`Content-Disposition`). Only the person who asked for "
                     "the job (and helpdesk acting for them) may download it; every download is audited."),
        parameters=[JOB_ID],
        responses={(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="The file."),
                   **AUTHENTICATED, **E404, **E409_NOT_READY, **E410},
        tags=["jobs"],
    )
    def get(self, request: AuthenticatedRequest, job_id: str) -> FileResponse:
        job = _job_or_404(request, job_id)
        opened = downloads.download_open(actor=request.user, job=job, client_address=client_address(request))
        return file_response(opened)


def file_response(opened: downloads.JobDownload) -> FileResponse:
    """The file streamed in blocks (never read whole), saved by the browser under its name."""
    return storage.download_response(opened.file, file_name=opened.name, size=opened.size,
                                     content_type=opened.content_type)
