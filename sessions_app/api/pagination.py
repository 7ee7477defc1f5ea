"""Limit/offset paging for list APIs: `{"count", "count_is_exact", "next", "previous", "results"}`.

`count` is exact up to selectors.COUNT_CAP; beyond it `count` is the cap and `count_is_exact` is false (a
history of a million sessions is not counted on every page). `next` is exact either way: one row more than
the page is read to know whether another page follows.
"""
from __future__ import annotations

import re
from typing import Any

from rest_framework import pagination, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from sessions_app import selectors

# The largest number a query parameter may carry: far beyond any history Restore Desk pages through, and well
# inside every database's integer range (a larger offset reached the database and failed there as a 500).
QUERY_INTEGER_MAX = 1_000_000_000
_DIGITS = re.compile(r"[0-9]+")
OUT_OF_RANGE = "Give a whole number from {minimum} to {maximum}."


def query_integer(request: Request, name: str, *, default: int, minimum: int, maximum: int = QUERY_INTEGER_MAX) -> int:
    """The query parameter `name` as an int (`default` when absent or empty). Raises ValidationError (400 in the
    error envelope, under extra.fields[name]) for anything but plain digits within minimum..maximum."""
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return default
    if _DIGITS.fullmatch(raw) and len(raw) <= len(str(maximum)) and minimum <= int(raw) <= maximum:
        return int(raw)
    raise ValidationError({name: [OUT_OF_RANGE.format(minimum=minimum, maximum=maximum)]})


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """DRF's limit/offset with strict numbers: a limit above max_limit gives max_limit rows (as in DRF), but a
    limit or offset that is not a whole number in range is refused with 400 instead of being guessed at."""

    default_limit = 25
    max_limit = 100
    # Set by paginate_queryset before any link is built (DRF's own declarations allow None).
    limit: int
    offset: int
    request: Request
    count: int
    count_is_exact: bool
    has_next: bool

    def get_limit(self, request: Request) -> int:
        return min(query_integer(request, self.limit_query_param, default=self.default_limit, minimum=1),
                   self.max_limit)

    def get_offset(self, request: Request) -> int:
        return query_integer(request, self.offset_query_param, default=0, minimum=0)

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            minimum = 1 if parameter["name"] == self.limit_query_param else 0
            parameter["schema"].update({"minimum": minimum, "maximum": QUERY_INTEGER_MAX})
            if parameter["name"] == self.limit_query_param:
                parameter["description"] = (f"Rows per page, {self.default_limit} when absent; "
                                            f"more than {self.max_limit} gives {self.max_limit}.")
        return parameters

    def paginate_queryset(self, queryset: Any, request: Request, view: APIView | None = None) -> list[Any]:
        self.request = request
        self.limit = self.get_limit(request)
        self.offset = self.get_offset(request)
        if hasattr(queryset, "order_by"):
            self.count, self.count_is_exact = selectors.capped_count(queryset)
        else:
            self.count, self.count_is_exact = len(queryset), True
        rows = (selectors.page_rows(queryset, offset=self.offset, limit=self.limit + 1)
                if hasattr(queryset, "values_list") else list(queryset[self.offset:self.offset + self.limit + 1]))
        self.has_next = len(rows) > self.limit
        return rows[:self.limit]

    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        url = self.request.build_absolute_uri()
        url = replace_query_param(url, self.limit_query_param, self.limit)
        return str(replace_query_param(url, self.offset_query_param, self.offset + self.limit))

    def get_previous_link(self) -> str | None:
        if self.offset <= 0:
            return None
        url = replace_query_param(self.request.build_absolute_uri(), self.limit_query_param, self.limit)
        if self.offset - self.limit <= 0:
            return str(remove_query_param(url, self.offset_query_param))
        return str(replace_query_param(url, self.offset_query_param, self.offset - self.limit))

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"count": self.count, "count_is_exact": self.count_is_exact, "next": self.get_next_link(),
                         "previous": self.get_previous_link(), "results": data})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        response = super().get_paginated_response_schema(schema)
        response["properties"]["count_is_exact"] = {
            "type": "boolean", "example": True,
            "description": f"False when more than {selectors.COUNT_CAP} rows match; `count` is then that cap."}
        response["required"] = ["count", "count_is_exact", "results"]
        return response


def get_paginated_response(*, pagination_class: type[pagination.BasePagination],
                           serializer_class: type[serializers.BaseSerializer], queryset: Any, request: Request,
                           view: APIView) -> Response:
    """One page of `queryset`, serialized with `serializer_class`, in the paginator's envelope."""
    paginator = pagination_class()
    page: list[Any] | None = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)
