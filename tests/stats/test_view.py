"""GET /api/dashboard/getStats over HTTP: order of checks, error shape, query count."""

from datetime import UTC, datetime

import pytest

from asteragents.models import Membership, Organization, User
from conversations.models import Agent, Conversation, Message
from stats.metrics import METRIC_NAMES
from stats.rollups import rebuild_all
from tests.clerk import session_claims, sign

pytestmark = pytest.mark.django_db

URL = "/api/dashboard/getStats"
RANGE = {"from": "2024-03-01", "to": "2024-03-31"}


def get(client, params=None, **headers):
    return client.get(URL, params if params is not None else RANGE, **headers)


def assert_error(response, status, code, parameter=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert body.get("parameter") == parameter


def test_admin_gets_sixteen_integer_zeros(client, bearer):
    response = get(client, **bearer(user_id="user_ann", org_id="org_acme"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == dict.fromkeys(METRIC_NAMES, 0)


def test_no_token_is_401_with_www_authenticate(client, clerk_key):
    response = get(client)
    assert_error(response, 401, "missing_token")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_token_is_checked_before_organization_and_parameters(client, clerk_key):
    bad = {"HTTP_AUTHORIZATION": "Bearer not.a.token"}
    response = get(client, {"from": "nonsense"}, **bad)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "claims",
    [
        {"org_id": None},
        {"org_id": None, "version": 1},
        {"org_id": "org_acme", "sts": "pending"},
    ],
    ids=["v2-no-org", "v1-no-org", "pending"],
)
def test_no_active_organization_is_403_before_parameters(client, clerk_key, claims):
    # Claims are made here, not at collection: a token made then could expire before use.
    token = {"HTTP_AUTHORIZATION": f"Bearer {sign(session_claims(user_id='user_ann', **claims))}"}
    assert_error(get(client, {"from": "nonsense"}, **token), 403, "no_active_organization")


def test_parameters_are_checked_before_role(client, bearer):
    member = bearer(user_id="user_bob", org_id="org_acme", role="org:member")
    response = get(client, RANGE | {"allInOrg": "true", "agentId": "seven"}, **member)
    assert_error(response, 400, "invalid_parameter", "agentId")


@pytest.mark.parametrize(
    ("params", "status", "code", "parameter"),
    [
        ({"allInOrg": "true"}, 403, "admin_required", "allInOrg"),
        ({"userId": "user_ann"}, 403, "forbidden_user", "userId"),
        ({"userId": "user_bob"}, 200, None, None),
        ({"allInOrg": "false", "userId": "user_bob"}, 200, None, None),
    ],
)
def test_member_scope_rules(client, bearer, params, status, code, parameter):
    member = bearer(user_id="user_bob", org_id="org_acme", role="org:member")
    response = get(client, RANGE | params, **member)
    if status == 200:
        assert response.status_code == 200
    else:
        assert_error(response, status, code, parameter)


@pytest.mark.parametrize(
    ("role", "version"), [("org:admin", 2), ("admin", 2), ("admin", 1), ("org:admin", 1)]
)
def test_admin_roles_in_every_claim_format(client, bearer, role, version):
    admin = bearer(user_id="user_ann", org_id="org_acme", role=role, version=version)
    response = get(client, RANGE | {"allInOrg": "true", "userId": "user_bob"}, **admin)
    assert response.status_code == 200, response.content


def test_repeated_parameter_is_400(client, bearer):
    admin = bearer(user_id="user_ann", org_id="org_acme")
    response = client.get(f"{URL}?from=2024-03-01&to=2024-03-02&to=2024-03-03", **admin)
    assert_error(response, 400, "duplicate_parameter", "to")


def test_trailing_slash_is_not_redirected(client, bearer):
    response = client.get(URL + "/", RANGE, **bearer(user_id="user_ann", org_id="org_acme"))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_one_request_makes_three_queries(client, bearer, django_assert_num_queries):
    """Knowledge-base files, usage cells with the raw edges, and the conversation count,
    in one snapshot: here a savepoint and its release (in production, SET TRANSACTION)."""
    org = Organization.objects.create(id="org_acme")
    user = User.objects.create(id="user_ann")
    Membership.objects.create(organization=org, user=user, public_metadata={"k": "v"})
    Agent.objects.create(id=7, organization=org)
    conversation = Conversation.objects.create(
        id="c1",
        organization=org,
        user=user,
        agent_id=7,
        created_at=datetime(2024, 3, 5, tzinfo=UTC),
    )
    Message.objects.create(
        id="m1",
        organization=org,
        conversation=conversation,
        owner=user,
        agent_id=7,
        role="user",
        created_at=datetime(2024, 3, 5, 10, 30, tzinfo=UTC),
    )
    rebuild_all()
    admin = bearer(user_id="user_ann", org_id="org_acme")
    params = RANGE | {"allInOrg": "true", "agentId": "7", "metadataKey": "k", "metadataValue": "v"}
    with django_assert_num_queries(3 + 2):
        response = get(client, params, **admin)
    assert (response.json()["messageCount"], response.json()["conversationCount"]) == (1, 1)
    # With no message in the range, the conversation count is known without asking.
    with django_assert_num_queries(2 + 2):
        assert get(client, {"from": "2024-04-01", "to": "2024-04-30"}, **admin).status_code == 200


def test_openapi_schema_describes_the_endpoint(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    operation = response.json()["paths"][URL]["get"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert names == {
        "from", "to", "allInOrg", "agentId", "userId", "metadataKey", "metadataValue",
        "tz", "interval", "groupBy", "groupKey", "limit", "compare",
    }  # fmt: skip
    assert set(operation["responses"]) >= {"200", "400", "401", "403"}


def test_docs_page_serves_swagger_ui_from_this_app(client):
    """No CDN: the page's scripts are the app's own static files."""
    page = client.get("/api/docs/").content.decode()
    assert "swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
