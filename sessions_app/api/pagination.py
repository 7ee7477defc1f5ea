"""Limit/offset paging for list APIs: `{"count", "next", "previous", "results"}` (HackSoft's helper)."""
from __future__ import annotations

from typing import Any

from rest_framework import pagination, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    default_limit = 25
    max_limit = 100


def get_paginated_response(*, pagination_class: type[pagination.BasePagination],
                           serializer_class: type[serializers.BaseSerializer], queryset: Any, request: Request,
                           view: APIView) -> Response:
    """One page of `queryset`, serialized with `serializer_class`, in the paginator's envelope."""
    paginator = pagination_class()
    page = paginator.paginate_queryset(queryset, request, view=view)
    if page is None:  # the paginator declined (no limit); never the case with a default limit
        return Response(serializer_class(queryset, many=True).data)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)
