"""The JSON API: one APIView per operation, each translating HTTP to a selector or a service call.

Visibility and every business rule come from `sessions_app.selectors` and `sessions_app.services`, exactly as
for the HTML pages. Objects outside the user's grants answer 404, role refusals 403, and upstream failures
the 502/503/504 of `exception_handlers`.
"""
from __future__ import annotations

import logging
import uuid
from datetime import timezone as dt_timezone
from typing import TYPE_CHECKING, Any

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import exceptions as drf_exceptions
from rest_framework import serializers, status
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sessions_app import exceptions, selectors
from sessions_app.api import filters, pagination, permissions
from sessions_app.api import serializers as api_serializers
from sessions_app.api.authentication import PortalTokenAuthentication
from sessions_app.http import client_address
from sessions_app.models import ApiToken, Organization, RestoreSession, Workload
from sessions_app.services import accounts, api_tokens, refusals, restore_sessions, session_start, tenants
from sessions_app.services import organizations as organization_services
from sessions_app.specs import StartSpec
from sessions_app.upstream.errors import UpstreamAuthError, UpstreamError

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    class AuthenticatedRequest(Request):
        """The request of a view behind IsAuthenticated: its user is signed in (never AnonymousUser)."""

        @property
        def user(self) -> User: ...

        @user.setter
        def user(self, value: User) -> None: ...

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX_LENGTH = 128  # StartRequest.key


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(api_serializers.ErrorSerializer, description=description)


E400 = {400: _error("Bad input. Field errors are under `extra.fields`.")}
E401 = {401: _error("Not signed in: send `Authorization: Token <token>`.")}
E403 = {403: _error("Signed in, but the role may not do this.")}
E404 = {404: _error("No such object among those you may see.")}
E409 = {409: _error("Conflict with the current state.")}
E_UPSTREAM = {
    502: _error("VB365 rejected the request or answered with something unreadable."),
    503: _error("VB365 cannot be reached; the `Retry-After` header says when to try again."),
    504: _error("VB365 did not answer in time."),
}
AUTHENTICATED = {**E401, **E403}
UPSTREAM_ID = OpenApiParameter("upstream_id", OpenApiTypes.UUID, OpenApiParameter.PATH,
                               description="The upstream (VB365) id.")


REFUSALS = (exceptions.NotVisible, exceptions.NotAllowed, Http404, PermissionDenied, drf_exceptions.PermissionDenied,
            drf_exceptions.NotFound)


class PortalApi(APIView):
    """Defaults of every API view: a portal role is required, times are read and written in UTC, and every
    refusal (403, 404 for what the user may not see) is audited as one of the view's operations."""

    permission_classes = [IsAuthenticated, permissions.HasPortalRole]
    # What a refusal of each method is recorded as (services.refusals), e.g. {"POST": "session.stop"}.
    refused_operations: dict[str, str] = {}

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # UserTimeZoneMiddleware activates the user's page time zone; API clients get UTC whatever it is.
        timezone.activate(dt_timezone.utc)
        super().initial(request, *args, **kwargs)

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, UpstreamAuthError) and tenants.tenant_refused_by_upstream(user=self.request.user):
            exc = drf_exceptions.AuthenticationFailed(tenants.SIGN_IN_ENDED)
        refused = isinstance(exc, REFUSALS) or getattr(exc, "refusal", None) is not None
        if refused and getattr(self.request.user, "is_authenticated", False):
            operation = self.refused_operations.get(self.request.method or "", f"api:{type(self).__name__}")
            refusals.refusal_record(actor=self.request.user, operation=operation, refused=exc,
                                    target=str(self.kwargs.get("upstream_id", "")),
                                    client_address=client_address(self.request))
        return super().handle_exception(exc)


def _session_or_404(request: AuthenticatedRequest, upstream_id: str) -> RestoreSession:
    """Raises NotVisible (404, audited by PortalApi) for a session the user may not see."""
    return restore_sessions.restore_session_for_viewer(actor=request.user, upstream_id=upstream_id)


def _organization_or_404(request: AuthenticatedRequest, upstream_id: str) -> Organization:
    """Raises NotVisible (404, audited by PortalApi) for an organization the user may not see."""
    return organization_services.organization_for_viewer(actor=request.user, upstream_id=upstream_id)


def _refreshed(request: AuthenticatedRequest, session: RestoreSession, *, with_events: bool = False) -> RestoreSession:
    """The session as VB365 now describes it, or the stored record when VB365 cannot answer (see fetched_at).
    Events are re-read only for the events endpoint."""
    return restore_sessions.restore_session_current(session=session, client=tenants.client_for(user=request.user),
                                                    with_events=with_events)[0]


# -- authentication ---------------------------------------------------------------------------------------------


class AuthTokenApi(APIView):
    """POST: exchange a username and password for a new API token. DELETE: revoke the token the call carries."""

    @extend_schema_serializer(component_name="AuthToken")
    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField(help_text="Send it as `Authorization: Token <token>`. Shown only now.")
        expires_at = serializers.DateTimeField(help_text="The token stops working then (or when revoked).")

    authentication_classes = [PortalTokenAuthentication]

    def perform_authentication(self, request: Request) -> None:
        # Only revoking needs a token: a stale token sent along with a sign-in must not block getting a new one.
        if request.method != "POST":
            super().perform_authentication(request)

    def get_permissions(self) -> list[Any]:
        return [] if self.request.method == "POST" else [IsAuthenticated()]

    @extend_schema(
        operation_id="auth_token_create",
        summary="Get a new API token",
        description="Every call issues a new token, ending after the configured lifetime (`API_TOKEN_HOURS`).",
        request=inline_serializer("AuthTokenInput", fields={
            "username": serializers.CharField(), "password": serializers.CharField(),
        }),
        responses={200: OutputSerializer, **E400, 429: _error("Too many failed sign-ins; wait and try again.")},
        auth=[],
        tags=["auth"],
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        username = request.data.get("username", "") if hasattr(request.data, "get") else ""
        refusal = accounts.sign_in_throttled(username=str(username), address=client_address(request))
        if refusal:
            raise exceptions.TooManyAttempts(refusal)
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        issued = api_tokens.api_token_create(user=user, actor=user)
        # The sign-in audit (signals.py) and last_login follow Django's own signal, as for the sign-in page.
        user_logged_in.send(sender=user.__class__, request=request._request, user=user)
        return Response(self.OutputSerializer({"token": issued.key, "expires_at": issued.token.expires_at}).data)

    @extend_schema(
        operation_id="auth_token_revoke",
        summary="Revoke the API token of this call",
        description="Works for every kind of token. A tenant's token is its sign-out: the tenant's VB365 sign-in "
                    "ends, and with it every token and page session of that tenant.",
        request=None,
        responses={204: OpenApiResponse(description="Revoked; the token no longer works."), **E401},
        tags=["auth"],
    )
    def delete(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        token = request.auth
        assert isinstance(token, ApiToken)  # the only authentication here, PortalTokenAuthentication, puts it there
        api_tokens.api_token_revoke(token=token, actor=request.user, why="revoked by its holder")
        # The sign-out audit (signals.py) and a tenant's sign-out (tenants.tenant_sign_out) follow Django's signal.
        user_logged_out.send(sender=request.user.__class__, request=request._request, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TenantAuthTokenCreateApi(APIView):
    """Tenant self-service for scripts: VB365 checks the organization's own credentials (as on the page
    "Sign in with your Microsoft 365 organization"), and the answer is a new API token that ends with this
    VB365 sign-in (at most 8 hours; sooner at sign-out or when VB365 no longer accepts the tenant)."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=254)
        password = serializers.CharField(max_length=256, trim_whitespace=False)

    @extend_schema_serializer(component_name="TenantAuthToken")
    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField(help_text="Send it as `Authorization: Token <token>`. Shown only now.")
        expires_at = serializers.DateTimeField(help_text="The end of this VB365 sign-in, at the latest.")
        organization = api_serializers.OrganizationOutputSerializer()

    @extend_schema(
        operation_id="auth_tenant_token_create",
        summary="Get an API token with an organization's own Microsoft 365 credentials",
        request=InputSerializer,
        responses={200: OutputSerializer, **E400, 401: _error("VB365 refused the sign-in (the reason is the message)."),
                   429: _error("Too many failed sign-ins; wait and try again.")},
        auth=[],
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        signed_in = tenants.tenant_sign_in(client_address=client_address(request), **serializer.validated_data)
        user_logged_in.send(sender=signed_in.user.__class__, request=request._request, user=signed_in.user)
        issued = tenants.tenant_api_token_create(sign_in=signed_in)
        return Response(self.OutputSerializer({"token": issued.key, "expires_at": issued.token.expires_at,
                                               "organization": signed_in.organization}).data)


# -- organizations ----------------------------------------------------------------------------------------------


class OrganizationListApi(PortalApi):
    """The organizations the user may see, refreshed from VB365 unless the local copy is under a minute old."""

    pagination_class = pagination.LimitOffsetPagination
    refused_operations = {"GET": "organization.list"}

    @extend_schema_serializer(component_name="OrganizationListFilter")
    class FilterSerializer(serializers.Serializer):
        refresh = serializers.BooleanField(required=False, default=False,
                                           help_text="Re-read the list from VB365 even if the local copy is fresh.")

    @extend_schema(
        operation_id="organizations_list",
        summary="List organizations",
        parameters=[FilterSerializer],
        responses={200: api_serializers.OrganizationOutputSerializer(many=True), **E400, **AUTHENTICATED,
                   **E_UPSTREAM},
        tags=["organizations"],
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        filters_serializer = self.FilterSerializer(data=request.query_params)
        filters_serializer.is_valid(raise_exception=True)
        visible = selectors.organization_list(user=request.user)
        try:
            organization_services.organizations_refresh(client=tenants.client_for(user=request.user),
                                                        force=filters_serializer.validated_data["refresh"])
        except UpstreamError as exc:
            # As the organizations page: the last known list is still useful; with none, say why.
            if not visible.exists():
                raise
            logger.warning("API organization refresh failed, serving the cached list: %s", exc)
        return pagination.get_paginated_response(
            pagination_class=self.pagination_class, serializer_class=api_serializers.OrganizationOutputSerializer,
            queryset=visible, request=request, view=self,
        )


class OrganizationRestorePointListApi(PortalApi):
    """The organization's restore points, newest first (VB365 v6+)."""

    refused_operations = {"GET": "restore_points.list"}

    @extend_schema_serializer(component_name="RestorePointList")
    class OutputSerializer(serializers.Serializer):
        organization = api_serializers.OrganizationOutputSerializer()
        supported = serializers.BooleanField(help_text="False when the VB365 API version has no restore points.")
        note = serializers.CharField(allow_null=True, help_text="Why the list is empty, when it is by design.")
        count = serializers.IntegerField()
        results = api_serializers.RestorePointOutputSerializer(many=True)

    @extend_schema(
        operation_id="organizations_restore_points_list",
        summary="List an organization's restore points",
        parameters=[UPSTREAM_ID],
        responses={200: OutputSerializer, **AUTHENTICATED, **E404, **E_UPSTREAM},
        tags=["organizations"],
    )
    def get(self, request: AuthenticatedRequest, upstream_id: str) -> Response:
        organization = _organization_or_404(request, upstream_id)
        client = tenants.client_for(user=request.user)
        listed = session_start.restore_points_of(organization=organization, client=client)
        if listed.error is not None:
            raise listed.error
        return Response(self.OutputSerializer({
            "organization": organization, "supported": client.dialect.has_restore_points, "note": listed.note or None,
            "count": len(listed.points), "results": listed.points,
        }).data)


# -- restore sessions -------------------------------------------------------------------------------------------


class RestoreSessionListApi(PortalApi):
    """Cached sessions the user may see, filtered by selectors.restore_session_list."""

    pagination_class = pagination.LimitOffsetPagination
    # Read by drf-spectacular to document the query parameters; the view validates with the FilterSet and
    # lets the selector do the filtering.
    filter_backends = [DjangoFilterBackend]
    filterset_class = filters.RestoreSessionFilter
    queryset = RestoreSession.objects.none()
    refused_operations = {"GET": "session.list"}

    @extend_schema(
        operation_id="sessions_list",
        summary="List restore sessions",
        responses={200: api_serializers.RestoreSessionOutputSerializer(many=True), **E400, **AUTHENTICATED},
        tags=["sessions"],
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        filterset = filters.RestoreSessionFilter(request.query_params)
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        sessions = selectors.restore_session_list(user=request.user, query=filterset.query())
        return pagination.get_paginated_response(
            pagination_class=self.pagination_class,
            serializer_class=api_serializers.restore_session_serializer_for(request.user),
            queryset=sessions, request=request, view=self,
        )


class RestoreSessionStartApi(PortalApi):
    """Start a restore session (explore an organization as of a point in time)."""

    permission_classes = [IsAuthenticated, permissions.HasPortalRole, permissions.CanStartSessions]
    refused_operations = {"POST": "session.start"}

    @extend_schema_serializer(component_name="RestoreSessionStart")
    class InputSerializer(serializers.Serializer):
        organization = serializers.UUIDField(help_text="Upstream id of the organization.")
        point_in_time = api_serializers.PointInTimeField(required=False)
        workload = serializers.ChoiceField(choices=Workload.choices)
        show_deleted = serializers.BooleanField(required=False, default=False)
        show_all_versions = serializers.BooleanField(required=False, default=False)
        reason = serializers.CharField(max_length=2000, error_messages={
            "required": exceptions.REASON_REQUIRED, "blank": exceptions.REASON_REQUIRED})
        scope = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
        ticket = serializers.CharField(max_length=128, required=False, allow_blank=True, default="",
                                       help_text="Required with `on_behalf_of`.")
        on_behalf_of = api_serializers.ActiveUsernameField(
            required=False, allow_null=True, default=None,
            help_text="Username of the person the session is for (helpdesk).")

        def spec(self, *, organization: Organization) -> StartSpec:
            """What the body asks to start, in `organization` (its `organization`, looked up); call after
            is_valid()."""
            data = self.validated_data
            return StartSpec(
                organization=organization, workload=data["workload"], reason=data["reason"],
                point_in_time=data.get("point_in_time"), show_deleted=data["show_deleted"],
                show_all_versions=data["show_all_versions"], scope=data["scope"], ticket=data["ticket"],
                on_behalf_of=data["on_behalf_of"],
            )

    @extend_schema(
        operation_id="sessions_start",
        summary="Start a restore session",
        description=(
            "Starts one VB365 restore session. Send an `Idempotency-Key` header to make retries safe: the same "
            "key (from the same user) with the same body answers 201 with the first session again instead of "
            "starting another; the same key with a different body answers 409. Without the header every request "
            "starts a new session."
        ),
        request=InputSerializer,
        parameters=[OpenApiParameter(
            IDEMPOTENCY_KEY_HEADER, {"type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH},
            OpenApiParameter.HEADER, required=False,
            description="Any unique string (a UUID is a good choice), at most 128 characters.")],
        responses={201: api_serializers.RestoreSessionOutputSerializer, **E400, **AUTHENTICATED, **E404, **E409,
                   **E_UPSTREAM},
        examples=[OpenApiExample("Latest backup", request_only=True, value={
            "organization": "4b6f3a43-5f7e-4d4e-9a8e-2f0f2c7e9a11", "point_in_time": "latest",
            "workload": "exchange", "show_deleted": False, "show_all_versions": False,
            "reason": "INC-1234: restore j.doe's deleted folder", "scope": "mailbox of j.doe"})],
        tags=["sessions"],
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        key = _idempotency_key(request)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        organization = _organization_or_404(request, str(serializer.validated_data["organization"]))
        spec = serializer.spec(organization=organization)
        session = session_start.restore_session_start(actor=request.user, key=key, spec=spec,
                                                      client_address=client_address(request),
                                                      client=tenants.client_for(user=request.user))
        return Response(api_serializers.restore_session_data(request.user, session),
                        status=status.HTTP_201_CREATED)


def _idempotency_key(request: Request) -> str:
    """The client's Idempotency-Key, or a fresh one: without the header every request is a new start."""
    key = request.headers.get(IDEMPOTENCY_KEY_HEADER)
    if key is None:
        return str(uuid.uuid4())
    key = key.strip()
    if not key or len(key) > IDEMPOTENCY_KEY_MAX_LENGTH or not key.isprintable():
        raise ValidationError({IDEMPOTENCY_KEY_HEADER: [
            f"Give a non-empty key of at most {IDEMPOTENCY_KEY_MAX_LENGTH} printable characters."]})
    return key


class RestoreSessionListStartApi(RestoreSessionListApi, RestoreSessionStartApi):
    """`/api/sessions/`: GET is RestoreSessionListApi, POST is RestoreSessionStartApi."""

    permission_classes = RestoreSessionStartApi.permission_classes
    refused_operations = {**RestoreSessionListApi.refused_operations, **RestoreSessionStartApi.refused_operations}


class RestoreSessionDetailApi(PortalApi):
    """One session, re-read from VB365 while it works (the cached record when VB365 cannot answer)."""

    refused_operations = {"GET": "session.view"}

    @extend_schema(
        operation_id="sessions_retrieve",
        summary="Get a restore session",
        description=("A working session (or one whose events were never fetched) is re-read from VB365 first. "
                     "When VB365 cannot answer, the last known record is returned; `fetched_at` says how old it is."),
        parameters=[UPSTREAM_ID],
        responses={200: api_serializers.RestoreSessionOutputSerializer, **AUTHENTICATED, **E404},
        tags=["sessions"],
    )
    def get(self, request: AuthenticatedRequest, upstream_id: str) -> Response:
        session = _refreshed(request, _session_or_404(request, upstream_id))
        return Response(api_serializers.restore_session_data(request.user, session))


class RestoreSessionStopApi(PortalApi):
    refused_operations = {"POST": "session.stop"}

    @extend_schema(
        operation_id="sessions_stop",
        summary="Stop a restore session",
        parameters=[UPSTREAM_ID],
        request=None,
        responses={200: api_serializers.RestoreSessionOutputSerializer, **AUTHENTICATED, **E404, **E409,
                   **E_UPSTREAM},
        tags=["sessions"],
    )
    def post(self, request: AuthenticatedRequest, upstream_id: str) -> Response:
        session = _session_or_404(request, upstream_id)
        session = restore_sessions.restore_session_stop(actor=request.user, session=session,
                                                        client_address=client_address(request),
                                                        client=tenants.client_for(user=request.user))
        return Response(api_serializers.restore_session_data(request.user, session))


class RestoreSessionEventListApi(PortalApi):
    """The session's events in upstream order, after trying to refresh them as the detail does."""

    pagination_class = pagination.LimitOffsetPagination
    refused_operations = {"GET": "session.events"}

    @extend_schema(
        operation_id="sessions_events_list",
        summary="List a restore session's events",
        parameters=[UPSTREAM_ID],
        responses={200: api_serializers.RestoreSessionEventOutputSerializer(many=True), **E400, **AUTHENTICATED,
                   **E404},
        tags=["sessions"],
    )
    def get(self, request: AuthenticatedRequest, upstream_id: str) -> Response:
        session = _refreshed(request, _session_or_404(request, upstream_id), with_events=True)
        return pagination.get_paginated_response(
            pagination_class=self.pagination_class,
            serializer_class=api_serializers.RestoreSessionEventOutputSerializer,
            queryset=selectors.restore_session_events(session=session), request=request, view=self,
        )
