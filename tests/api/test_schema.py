from __future__ import annotations

import re
from typing import Any

from django.core.management import call_command
from rest_framework.test import APIClient

EXPECTED_OPERATIONS = {
    ("/api/auth/token/", "post"),
    ("/api/auth/token/", "delete"),
    ("/api/organizations/", "get"),
    ("/api/organizations/{upstream_id}/restore-points/", "get"),
    ("/api/sessions/", "get"),
    ("/api/sessions/", "post"),
    ("/api/sessions/{upstream_id}/", "get"),
    ("/api/sessions/{upstream_id}/stop/", "post"),
    ("/api/sessions/{upstream_id}/events/", "get"),
    ("/api/auth/tenant-token/", "post"),
    ("/api/sessions/{upstream_id}/browse/", "get"),
    ("/api/sessions/{upstream_id}/browse/search/", "get"),
    ("/api/sessions/{upstream_id}/browse/node/", "get"),
    ("/api/sessions/{upstream_id}/jobs/", "post"),
    ("/api/sessions/{upstream_id}/device-code/", "post"),
    ("/api/jobs/", "get"),
    ("/api/jobs/{job_id}/", "get"),
    ("/api/jobs/{job_id}/download/", "get"),
}


def schema(client: APIClient) -> dict[str, Any]:
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def test_schema_is_openapi_3_with_every_operation(api_client: APIClient, db: Any) -> None:
    document = schema(api_client)

    assert document["openapi"].startswith("3.")
    operations = {(path, method) for path, item in document["paths"].items() for method in item}
    assert operations == EXPECTED_OPERATIONS


def test_schema_validates(db: Any, tmp_path: Any) -> None:
    call_command("spectacular", "--validate", "--file", str(tmp_path / "schema.yaml"))


def test_every_error_status_uses_the_envelope(api_client: APIClient, db: Any) -> None:
    document = schema(api_client)

    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref == "#/components/schemas/Error", (path, method, status)
    assert set(document["components"]["schemas"]["Error"]["required"]) == {"message", "code", "extra"}


def test_session_schema_is_truthful_about_nulls_and_formats(api_client: APIClient, db: Any) -> None:
    properties = schema(api_client)["components"]["schemas"]["RestoreSessionOutput"]["properties"]

    assert properties["id"]["format"] == "uuid"
    assert properties["created_at"]["format"] == "date-time"
    assert properties["ended_at"]["nullable"] is True
    assert properties["point_in_time"]["nullable"] is True
    assert properties["requested_by"]["nullable"] is True
    assert any(option.get("$ref", "").endswith("NullEnum") for option in properties["result"]["oneOf"])


def test_session_list_documents_its_filters(api_client: APIClient, db: Any) -> None:
    parameters = {parameter["name"] for parameter in schema(api_client)["paths"]["/api/sessions/"]["get"]["parameters"]}

    assert parameters == {"organization", "workload", "state", "result", "requested_by", "started_after",
                          "started_before", "search", "ordering", "limit", "offset"}


def test_idempotency_key_header_is_documented(api_client: APIClient, db: Any) -> None:
    parameters = schema(api_client)["paths"]["/api/sessions/"]["post"]["parameters"]

    assert [(parameter["name"], parameter["in"]) for parameter in parameters] == [("Idempotency-Key", "header")]


def test_docs_page_works_offline(api_client: APIClient, db: Any) -> None:
    response = api_client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert not re.search(r"""(src|href)=["']https?://""", html)


def test_token_operations_describe_the_expiry_and_the_revocation(api_client: APIClient, db: Any) -> None:
    document = schema(api_client)
    token = document["paths"]["/api/auth/token/"]

    for name in ("AuthToken", "TenantAuthToken"):
        component = document["components"]["schemas"][name]
        assert {"token", "expires_at"} <= set(component["required"])
        assert component["properties"]["expires_at"]["format"] == "date-time"
    assert "security" in token["delete"] and {"tokenAuth": []} in token["delete"]["security"]
    assert set(token["delete"]["responses"]) == {"204", "401"}
