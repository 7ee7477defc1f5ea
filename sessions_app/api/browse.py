"""The browse API: a working session's backup contents, one level (or one search, or one entry) per call.

Who may browse, node ids, the cache and the audit are services.browse's; these views translate HTTP.
"""
from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from sessions_app.api.views import AUTHENTICATED, E400, E_UPSTREAM, UPSTREAM_ID, PortalApi, _error
from sessions_app.http import client_address
from sessions_app.services import browse, tenants

KINDS = ("mailbox", "folder", "item", "drive", "document", "site", "library", "list", "team", "channel", "post",
         "file", "tab", "attachment", "version")
NODE_DESCRIPTION = "An entry's `id` from an earlier answer."
NODE = OpenApiParameter("node", OpenApiTypes.STR, OpenApiParameter.QUERY, required=False,
                        description=f"{NODE_DESCRIPTION} Absent for the session's top level.")
NODE_REQUIRED = OpenApiParameter("node", OpenApiTypes.STR, OpenApiParameter.QUERY, required=True,
                                 description=NODE_DESCRIPTION)
LIMIT = OpenApiParameter("limit", OpenApiTypes.INT, OpenApiParameter.QUERY, required=False,
                         description=f"Entries per page, 1 to {browse.MAX_LIMIT} (default {browse.DEFAULT_LIMIT}).")
CURSOR = OpenApiParameter("cursor", OpenApiTypes.STR, OpenApiParameter.QUERY, required=False,
                          description="Opaque position; follow `next` and `previous` rather than building it.")
E403_BROWSE = {403: _error("Signed in, but the role may not browse this session (auditors; helpdesk in others' "
                           "sessions; tenants in the provider's).")}
E409_STOPPED = {409: _error("The session has stopped (`session_stopped`): its contents are gone.")}
E404_NODE = {404: _error("No such session among those you may see, or a node id not of this session.")}


@extend_schema_serializer(component_name="BrowseEntry")
class BrowseEntrySerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Opaque node id: pass it back as `node`.")
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=KINDS)
    has_children = serializers.BooleanField()
    size_bytes = serializers.IntegerField(required=False, allow_null=True)
    modified = serializers.CharField(required=False, allow_null=True, help_text="As VB365 states it (ISO 8601).")
    details = serializers.DictField(child=serializers.JSONField(), required=False,
                                    help_text="The kind's own fields (mail: subject, from, to, dates, attachments; "
                                              "documents: size, created_by, modified_by, version; ...).")


@extend_schema_serializer(component_name="BrowsePage")
class BrowsePageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = BrowseEntrySerializer(many=True)


class _PageQuery(serializers.Serializer):
    node = serializers.CharField(required=False, allow_blank=True, max_length=8000, default="")
    cursor = serializers.CharField(required=False, allow_blank=True, max_length=8000, default="")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=browse.MAX_LIMIT,
                                     default=browse.DEFAULT_LIMIT)


class _SearchQuery(_PageQuery):
    q = serializers.CharField(max_length=browse.MAX_QUERY_CHARS)


def _entry(entry: browse.BrowseEntry) -> dict[str, Any]:
    data = {"id": entry.id, "name": entry.name, "kind": entry.kind, "has_children": entry.has_children}
    for key in ("size_bytes", "modified"):
        if getattr(entry, key) is not None:
            data[key] = getattr(entry, key)
    if entry.details:
        data["details"] = entry.details
    return data


def _page(request: Request, result: browse.BrowseResult) -> Response:
    here = request.build_absolute_uri()

    def link(cursor: str | None) -> str | None:
        return None if cursor is None else replace_query_param(here, "cursor", cursor)

    return Response({"next": link(result.next_cursor), "previous": link(result.previous_cursor),
                     "results": [_entry(each) for each in result.results]})


class _BrowseApi(PortalApi):
    refused_operations = {"GET": browse.OPERATION}

    def _query(self, request: Request, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        serializer = serializer_class(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def _common(self, request: Request, upstream_id: str) -> dict[str, Any]:
        session = browse.browse_session_for(actor=request.user, upstream_id=upstream_id)
        return {"actor": request.user, "session": session, "client": tenants.client_for(user=request.user),
                "client_address": client_address(request)}


class BrowseListApi(_BrowseApi):
    @extend_schema(
        operation_id="sessions_browse_list",
        summary="List a session's backup contents",
        description="Without `node`: the top level for the session's workload (mailboxes, drives, sites or "
                    "teams). With `node`: that entry's children. Pages come from VB365 once and are then served "
                    "from the cache while the session lives.",
        parameters=[UPSTREAM_ID, NODE, LIMIT, CURSOR],
        responses={200: BrowsePageSerializer, **E400, **AUTHENTICATED, **E403_BROWSE, **E404_NODE, **E409_STOPPED,
                   **E_UPSTREAM},
        tags=["browse"],
    )
    def get(self, request: Request, upstream_id: str) -> Response:
        common = self._common(request, upstream_id)
        query = self._query(request, _PageQuery)
        result = browse.browse_children(node_id=query["node"], cursor=query["cursor"], limit=query["limit"], **common)
        return _page(request, result)


class BrowseSearchApi(_BrowseApi):
    @extend_schema(
        operation_id="sessions_browse_search",
        summary="Search under an entry of a session's backup",
        description="Searches a mailbox, drive, site, team or one of their folders (VB365 API v6 or later).",
        parameters=[UPSTREAM_ID, NODE_REQUIRED,
                    OpenApiParameter("q", OpenApiTypes.STR, OpenApiParameter.QUERY, required=True,
                                     description="The text to look for."), LIMIT, CURSOR],
        responses={200: BrowsePageSerializer, **E400, **AUTHENTICATED, **E403_BROWSE, **E404_NODE, **E409_STOPPED,
                   **E_UPSTREAM},
        tags=["browse"],
    )
    def get(self, request: Request, upstream_id: str) -> Response:
        common = self._common(request, upstream_id)
        query = self._query(request, _SearchQuery)
        result = browse.browse_search(node_id=query["node"], query=query["q"], cursor=query["cursor"],
                                      limit=query["limit"], **common)
        return _page(request, result)


class BrowseNodeApi(_BrowseApi):
    @extend_schema(
        operation_id="sessions_browse_node",
        summary="Get one entry of a session's backup, with its full details",
        parameters=[UPSTREAM_ID, NODE_REQUIRED],
        responses={200: BrowseEntrySerializer, **E400, **AUTHENTICATED, **E403_BROWSE, **E404_NODE, **E409_STOPPED,
                   **E_UPSTREAM},
        tags=["browse"],
    )
    def get(self, request: Request, upstream_id: str) -> Response:
        common = self._common(request, upstream_id)
        node = request.query_params.get("node", "")
        if not node:
            raise serializers.ValidationError({"node": ["Give the entry's id."]})
        return Response(_entry(browse.browse_node(node_id=node, **common)))

