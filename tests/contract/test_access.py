"""Who sees what: token, organization, role, userId, and nothing crossing organizations."""

import pytest

from tests.contract.activity import (
    conversation,
    knowledge_base,
    knowledge_base_file,
    message,
    org_with_members,
)
from tests.contract.conftest import ZERO, assert_error, figures

pytestmark = pytest.mark.django_db

ACME, GLOBEX = "org_acc_acme", "org_acc_globex"
ANN, BOB, CARL, DAVE = "user_acc_ann", "user_acc_bob", "user_acc_carl", "user_acc_dave"
A1, A2, G1 = 701, 702, 703

# (organization, owner, agent, inputTokens): one conversation with one message each, on
# April 2nd. Ann is a member of both organizations; her Globex activity must never show
# in Acme and the other way round.
ACTIVITY = [
    (ACME, ANN, A1, 1),
    (ACME, BOB, A2, 10),
    (ACME, CARL, A1, 100),
    (GLOBEX, ANN, G1, 1000),
    (GLOBEX, DAVE, G1, 10000),
]
RANGE = {"from": "2024-04-01", "to": "2024-04-10"}
# Knowledge-base files are processed on April 20th, outside RANGE, so "zeros" above means
# all sixteen zeros; KB_RANGE checks their organization-wide figures separately.
KB_RANGE = {"from": "2024-04-20", "to": "2024-04-20"}
KB_TOKENS = {ACME: 5, GLOBEX: 50}


def expected(org: str, *, users=None, agent=None) -> dict:
    """The figures of ACTIVITY for `org`, narrowed to `users` and `agent` (independent)."""
    rows = [
        (owner, agent_id, tokens)
        for o, owner, agent_id, tokens in ACTIVITY
        if o == org and (users is None or owner in users) and (agent is None or agent_id == agent)
    ]
    if not rows:
        return dict(ZERO)
    tokens = sum(t for _, _, t in rows)
    return figures(
        conversationCount=len(rows),
        messageCount=len(rows),
        inputTokens=tokens,
        totalTokens=tokens,
        uniqueUsers=len({owner for owner, _, _ in rows}),
        uniqueAgents=len({agent_id for _, agent_id, _ in rows}),
    )


@pytest.fixture(autouse=True)
def two_orgs(load):
    records = org_with_members(
        ACME,
        {ANN: {"role": "org:admin"}, BOB: {"role": "org:member"}, CARL: {"role": "org:member"}},
        agents=[A1, A2],
    )
    records += org_with_members(
        GLOBEX, {ANN: {"role": "org:member"}, DAVE: {"role": "org:admin"}}, agents=[G1]
    )
    for n, (org, owner, agent_id, tokens) in enumerate(ACTIVITY):
        records.append(conversation(f"conv-acc-{n}", org, owner, agent_id, "2024-04-02T00:00:00Z"))
        records.append(
            message(
                f"m-acc-{n}", f"conv-acc-{n}", "2024-04-02T12:00:00Z", usage={"inputTokens": tokens}
            )
        )
    for org, tokens in KB_TOKENS.items():
        records.append(knowledge_base(f"kb-{org}", org))
        records.append(
            knowledge_base_file(
                f"kbf-{org}",
                f"kb-{org}",
                processed_at="2024-04-20T08:00:00Z",
                extraction={"inputTokens": tokens, "outputTokens": 0},
            )
        )
    load(records)


# --- members -----------------------------------------------------------------------------


def test_member_default_scope_is_own_conversations(bearer, stats):
    bob = bearer(user_id=BOB, org_id=ACME, role="org:member")
    assert stats(bob, RANGE) == expected(ACME, users={BOB})


def test_member_may_name_own_user_id(bearer, stats):
    bob = bearer(user_id=BOB, org_id=ACME, role="org:member")
    assert stats(bob, {**RANGE, "userId": BOB}) == expected(ACME, users={BOB})


@pytest.mark.parametrize("other", [ANN, CARL, DAVE, "user_nobody"])
def test_member_naming_another_user_is_403(bearer, get_stats, other):
    bob = bearer(user_id=BOB, org_id=ACME, role="org:member")
    assert_error(get_stats(bob, {**RANGE, "userId": other}), 403)


@pytest.mark.parametrize("extra", [{}, {"userId": BOB}, {"agentId": str(A2)}])
def test_member_all_in_org_is_403(bearer, get_stats, extra):
    bob = bearer(user_id=BOB, org_id=ACME, role="org:member")
    assert_error(get_stats(bob, {**RANGE, "allInOrg": "true", **extra}), 403)


def test_member_agent_filter_within_own_conversations(bearer, stats):
    carl = bearer(user_id=CARL, org_id=ACME, role="org:member")
    assert stats(carl, {**RANGE, "agentId": str(A1)}) == expected(ACME, users={CARL})
    assert stats(carl, {**RANGE, "agentId": str(A2)}) == ZERO


# --- admins ------------------------------------------------------------------------------


def test_admin_all_in_org_sees_every_user(bearer, stats):
    ann = bearer(user_id=ANN, org_id=ACME, role="org:admin")
    assert stats(ann, {**RANGE, "allInOrg": "true"}) == expected(ACME)


@pytest.mark.parametrize("user_id", [ANN, BOB, CARL])
def test_admin_all_in_org_narrowed_to_user_id(bearer, stats, user_id):
    ann = bearer(user_id=ANN, org_id=ACME, role="org:admin")
    assert stats(ann, {**RANGE, "allInOrg": "true", "userId": user_id}) == expected(
        ACME, users={user_id}
    )


def test_admin_without_all_in_org_sees_only_own(bearer, stats):
    ann = bearer(user_id=ANN, org_id=ACME, role="org:admin")
    assert stats(ann, RANGE) == expected(ACME, users={ANN})
    assert stats(ann, {**RANGE, "allInOrg": "false"}) == expected(ACME, users={ANN})


def test_admin_without_all_in_org_naming_another_user_is_403(bearer, get_stats):
    # STATS.md: "allInOrg false: ... A userId other than the caller's own is 403" -- the
    # rule does not depend on the role; an admin asks with allInOrg=true.
    ann = bearer(user_id=ANN, org_id=ACME, role="org:admin")
    assert_error(get_stats(ann, {**RANGE, "userId": BOB}), 403)


@pytest.mark.parametrize(
    ("version", "role"),
    [(2, "org:admin"), (2, "admin"), (1, "org:admin"), (1, "admin")],
    ids=["v2-org:admin", "v2-admin", "v1-org:admin", "v1-admin"],
)
def test_every_spelling_of_admin_may_ask_all_in_org(bearer, stats, version, role):
    ann = bearer(user_id=ANN, org_id=ACME, role=role, version=version)
    assert stats(ann, {**RANGE, "allInOrg": "true"}) == expected(ACME)


@pytest.mark.parametrize(
    ("version", "role"),
    [(2, "org:member"), (1, "org:member"), (1, "member"), (2, "org:billing"), (1, "org:viewer")],
)
def test_non_admin_roles_may_not_ask_all_in_org(bearer, get_stats, stats, version, role):
    bob = bearer(user_id=BOB, org_id=ACME, role=role, version=version)
    assert_error(get_stats(bob, {**RANGE, "allInOrg": "true"}), 403)
    assert stats(bob, RANGE) == expected(ACME, users={BOB})


def test_role_comes_from_the_token_not_the_imported_membership(bearer, get_stats, stats):
    # STATS.md: "its role is v1 org_role or v2 o.rol". Carl is org:member in the import
    # but Clerk says admin now; Ann is admin in the import but Clerk says member now.
    carl = bearer(user_id=CARL, org_id=ACME, role="org:admin")
    assert stats(carl, {**RANGE, "allInOrg": "true"}) == expected(ACME)
    ann = bearer(user_id=ANN, org_id=ACME, role="org:member")
    assert_error(get_stats(ann, {**RANGE, "allInOrg": "true"}), 403)


# --- no active organization, no token ----------------------------------------------------


@pytest.mark.parametrize("version", [1, 2])
def test_token_without_organization_is_403(bearer, get_stats, version):
    assert_error(get_stats(bearer(user_id=ANN, org_id=None, version=version), RANGE), 403)


@pytest.mark.parametrize("version", [1, 2])
def test_pending_session_is_403(raw_bearer, get_stats, version):
    from tests.clerk import session_claims

    claims = session_claims(user_id=ANN, org_id=ACME, role="org:admin", version=version)
    claims["sts"] = "pending"
    assert_error(get_stats(raw_bearer(claims), RANGE), 403)


def test_no_token_is_401_with_bearer_challenge(get_stats):
    response = get_stats(None, RANGE)
    assert_error(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer ", "Bearer not.a.jwt", "Basic dXNlcjpwYXNz", "bearer", "Token abc"],
)
def test_malformed_authorization_is_401(get_stats, header):
    response = get_stats({"HTTP_AUTHORIZATION": header}, RANGE)
    assert_error(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_token_signed_by_another_key_is_401(clerk_key, get_stats):
    from tests.clerk import make_token

    token = make_token(user_id=ANN, org_id=ACME, key_name="stranger")
    response = get_stats({"HTTP_AUTHORIZATION": f"Bearer {token}"}, RANGE)
    assert_error(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_expired_token_is_401(raw_bearer, get_stats):
    from tests.clerk import session_claims

    claims = session_claims(user_id=ANN, org_id=ACME)
    claims.update(iat=claims["iat"] - 7200, nbf=claims["nbf"] - 7200, exp=claims["exp"] - 7200)
    response = get_stats(raw_bearer(claims), RANGE)
    assert_error(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


# --- nothing crosses organizations -------------------------------------------------------


def test_same_user_sees_only_the_tokens_organization(bearer, stats):
    assert stats(bearer(user_id=ANN, org_id=ACME, role="org:admin"), RANGE) == expected(
        ACME, users={ANN}
    )
    assert stats(bearer(user_id=ANN, org_id=GLOBEX, role="org:member"), RANGE) == expected(
        GLOBEX, users={ANN}
    )


def test_admin_all_in_org_of_each_organization(bearer, stats):
    dave = bearer(user_id=DAVE, org_id=GLOBEX, role="org:admin")
    assert stats(dave, {**RANGE, "allInOrg": "true"}) == expected(GLOBEX)


def test_user_id_of_another_organization_gives_zeros(bearer, stats):
    ann = bearer(user_id=ANN, org_id=ACME, role="org:admin")
    assert stats(ann, {**RANGE, "allInOrg": "true", "userId": DAVE}) == ZERO


def test_agent_id_of_another_organization_gives_zeros(bearer, stats):
    ann = bearer(user_id=ANN, org_id=ACME, role="org:admin")
    assert stats(ann, {**RANGE, "allInOrg": "true", "agentId": str(G1)}) == ZERO
    # Her own Globex conversation is with G1, but the token's organization is Acme.
    assert stats(ann, {**RANGE, "agentId": str(G1)}) == ZERO


def test_agent_id_narrows_all_in_org(bearer, stats):
    ann = bearer(user_id=ANN, org_id=ACME, role="org:admin")
    assert stats(ann, {**RANGE, "allInOrg": "true", "agentId": str(A1)}) == expected(ACME, agent=A1)
    assert stats(ann, {**RANGE, "allInOrg": "true", "agentId": str(A2), "userId": BOB}) == expected(
        ACME, users={BOB}, agent=A2
    )
    assert stats(ann, {**RANGE, "allInOrg": "true", "agentId": str(A2), "userId": CARL}) == ZERO


def test_kb_figures_are_the_tokens_organization_only(bearer, stats):
    for org, user_id, role in [(ACME, BOB, "org:member"), (GLOBEX, DAVE, "org:admin")]:
        auth = bearer(user_id=user_id, org_id=org, role=role)
        tokens = KB_TOKENS[org]
        assert stats(auth, KB_RANGE) == figures(
            kbFileCount=1, kbCount=1, kbExtractInputTokens=tokens, kbExtractTotalTokens=tokens
        )


# --- what the database does not know yet -------------------------------------------------


@pytest.mark.parametrize("all_in_org", ["false", "true"])
def test_unknown_organization_gives_zeros(bearer, stats, all_in_org):
    auth = bearer(user_id=ANN, org_id="org_acc_unknown", role="org:admin")
    assert stats(auth, {**RANGE, "allInOrg": all_in_org}) == ZERO
    assert stats(auth, {**KB_RANGE, "allInOrg": all_in_org}) == ZERO


def test_unknown_caller_gives_zeros(bearer, stats):
    auth = bearer(user_id="user_acc_new", org_id=ACME, role="org:member")
    assert stats(auth, RANGE) == ZERO
    assert stats(auth, {**RANGE, "userId": "user_acc_new"}) == ZERO


def test_unknown_caller_who_is_admin_sees_the_organization(bearer, stats):
    # Clerk knows this admin before our import does; the token is the authority on roles.
    auth = bearer(user_id="user_acc_new", org_id=ACME, role="org:admin")
    assert stats(auth, {**RANGE, "allInOrg": "true"}) == expected(ACME)


@pytest.mark.parametrize(
    "extra",
    [{"userId": "user_acc_nobody"}, {"agentId": "999999"}, {"agentId": "0"}],
)
def test_unknown_user_or_agent_gives_zeros(bearer, stats, extra):
    ann = bearer(user_id=ANN, org_id=ACME, role="org:admin")
    assert stats(ann, {**RANGE, "allInOrg": "true", **extra}) == ZERO
