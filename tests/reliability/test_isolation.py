"""Isolation as properties: what lies outside the caller's scope never changes the answer.

Each example writes a random world, asks getStats, then replaces or deletes everything
outside the scope and asks again: the answers (status and body) must be identical.
"""

from contextlib import contextmanager

import pytest
from django.core.cache import cache
from django.db import transaction
from hypothesis import HealthCheck, event, example, given, settings, target
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from tests.reliability import worlds
from tests.reliability.worlds import (
    HOME,
    TIMES,
    USERS,
    ChatData,
    FeedbackData,
    FileData,
    MessageData,
    OrgData,
)

pytestmark = pytest.mark.django_db

URL = "/api/dashboard/getStats"
PROPERTY_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ROLES = st.sampled_from(["org:admin", "org:member", "admin"])
NOON = TIMES[3]


@contextmanager
def rolled_back():
    """Each example starts from an empty database: its rows go with a savepoint."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def ask(client, bearer, params: dict, *, user_id: str, role: str) -> tuple[int, dict]:
    worlds.refresh_rollups()
    cache.clear()  # the per-caller throttle must not answer for the database
    response = client.get(URL, params, **bearer(user_id=user_id, org_id=HOME, role=role))
    assert response.status_code in (200, 400, 403), response.content
    if response.status_code == 200 and currently_in_test_context():
        event(f"messageCount > 0: {response.json()['messageCount'] > 0}")
    return response.status_code, response.json()


def chat(owner: str, agent: int, *messages: MessageData) -> ChatData:
    return ChatData(owner=owner, agent=agent, messages=messages)


def message(tokens: int, *feedback: FeedbackData, at=NOON) -> MessageData:
    return MessageData(
        at=at,
        input_tokens=tokens,
        output_tokens=1,
        total_tokens=tokens + 1,
        tool_calls=1,
        feedback=feedback,
    )


# Explicit examples that are never all zeros: the same users, metadata and agents' roles
# on both sides of the organization boundary.
HOME_EXAMPLE = OrgData(
    org=HOME,
    tag="home",
    members={"user_1": ("org:admin", {"dept": "sales"}), "user_2": ("org:member", {"dept": "eng"})},
    chats=(
        chat("user_1", 1, message(10, FeedbackData(NOON, True, "user_2")), message(20)),
        chat("user_2", 2, message(30, FeedbackData(NOON, False, "user_1"))),
    ),
    files=(FileData(0, NOON, 100, 10),),
)
OUTSIDE_EXAMPLE = OrgData(
    org="org_b",
    tag="o1",
    members={"user_1": ("org:member", {"dept": "eng"}), "user_2": ("org:admin", {"dept": "sales"})},
    chats=(
        chat("user_1", 11, message(1_000, FeedbackData(NOON, False, "user_2"))),
        chat("user_2", 12, message(2_000)),
    ),
    files=(FileData(0, NOON, 5_000, 50),),
)
OTHER_ORG_EXAMPLE = OrgData(
    org="org_c",
    tag="o2",
    members={"user_1": ("org:admin", {"dept": "sales", "tags": ["beta"]})},
    chats=(chat("user_1", 21, message(4_000, FeedbackData(NOON, True, "user_1"))),),
    files=(FileData(1, NOON, 7_000, 70),),
)
WHOLE_DAY = {"from": "2024-03-01", "to": "2024-03-01"}
# The caller's own side of the member examples, and another member's conversation on the
# same agent, with the same metadata, carrying feedback the caller gave.
OWN_EXAMPLE = OrgData(
    org=HOME,
    tag="home",
    members={"user_1": ("org:member", {"dept": "sales"})},
    chats=(chat("user_1", 1, message(10, FeedbackData(NOON, True, "user_2")), message(20)),),
    files=(FileData(0, NOON, 100, 10),),
)
OTHERS_EXAMPLE = OrgData(
    org=HOME,
    tag="o1",
    members={"user_2": ("org:admin", {"dept": "sales"})},
    chats=(chat("user_2", 1, message(30, FeedbackData(NOON, False, "user_1"))),),
    files=(),
)
# user_1's figures in the examples above, by hand: two messages of 10 and 20 input tokens
# and one output token each, one tool call each, one helpful feedback; one file.
USER_1_FIGURES = {
    "conversationCount": 1,
    "messageCount": 2,
    "toolCalls": 2,
    "totalTokens": 32,
    "inputTokens": 30,
    "outputTokens": 2,
    "uniqueUsers": 1,
    "uniqueAgents": 1,
    "totalFeedback": 1,
    "totalHelpful": 1,
    "totalNotHelpful": 0,
    "kbFileCount": 1,
    "kbCount": 1,
    "kbExtractTotalTokens": 110,
    "kbExtractInputTokens": 100,
    "kbExtractOutputTokens": 10,
}


def test_the_explicit_examples_count_something(client, bearer):
    """The examples below are no all-zero answers that would make the properties vacuous."""
    worlds.build(HOME_EXAMPLE, OUTSIDE_EXAMPLE, OTHER_ORG_EXAMPLE)
    admin_view = WHOLE_DAY | {"allInOrg": "true", "metadataValue": "sales"}
    assert ask(client, bearer, admin_view, user_id="user_1", role="org:admin") == (
        200,
        USER_1_FIGURES,
    )
    assert ask(client, bearer, WHOLE_DAY, user_id="user_1", role="org:member") == (
        200,
        USER_1_FIGURES,
    )


def test_the_member_example_counts_something(client, bearer):
    worlds.build(OWN_EXAMPLE, OTHERS_EXAMPLE, OUTSIDE_EXAMPLE)
    params = WHOLE_DAY | {"agentId": "1", "metadataValue": "sales"}
    assert ask(client, bearer, params, user_id="user_1", role="org:member") == (
        200,
        USER_1_FIGURES,
    )


@PROPERTY_SETTINGS
@given(
    home_and_caller=worlds.home_and_caller(),
    first_outside=worlds.outside_world("o1"),
    second_outside=worlds.outside_world("o2"),
    params=worlds.stats_request(),
    role=ROLES,
)
@example(
    home_and_caller=(HOME_EXAMPLE, "user_1"),
    first_outside=(OUTSIDE_EXAMPLE,),
    second_outside=(OTHER_ORG_EXAMPLE,),
    params=WHOLE_DAY | {"allInOrg": "true", "metadataValue": "sales"},
    role="org:admin",
)
@example(
    home_and_caller=(HOME_EXAMPLE, "user_1"),
    first_outside=(OUTSIDE_EXAMPLE, OTHER_ORG_EXAMPLE),
    second_outside=(),
    params=WHOLE_DAY,
    role="org:member",
)
def test_other_organizations_never_change_the_answer(
    client, bearer, home_and_caller, first_outside, second_outside, params, role
):
    home, caller = home_and_caller
    with rolled_back():
        worlds.build(home, *first_outside)
        before = ask(client, bearer, params, user_id=caller, role=role)

        worlds.delete_outside(HOME)
        worlds.build(*second_outside)
        changed = ask(client, bearer, params, user_id=caller, role=role)

        worlds.delete_outside(HOME)
        alone = ask(client, bearer, params, user_id=caller, role=role)

    # Steer generation towards worlds that count something for the caller.
    target(before[1].get("messageCount", 0), label="messageCount")
    assert changed == before
    assert alone == before


CALLER = USERS[0]
OTHER_MEMBERS = USERS[1:]


@PROPERTY_SETTINGS
@given(
    own=worlds.org_data(HOME, tag="home", users=(CALLER,)),
    first_others=worlds.org_data(HOME, tag="o1", users=OTHER_MEMBERS, with_files=False),
    second_others=worlds.org_data(HOME, tag="o2", users=OTHER_MEMBERS, with_files=False),
    first_outside=worlds.outside_world("o1"),
    second_outside=worlds.outside_world("o2"),
    params=worlds.stats_request(own_scope_only=True),
    role=ROLES,
)
@example(
    own=OWN_EXAMPLE,
    first_others=OTHERS_EXAMPLE,
    second_others=OrgData(HOME, "o2", {"user_3": ("org:member", {})}, (), ()),
    first_outside=(OUTSIDE_EXAMPLE,),
    second_outside=(),
    params=WHOLE_DAY | {"agentId": "1", "metadataValue": "sales"},
    role="org:member",
)
def test_other_members_never_change_a_members_own_answer(
    client, bearer, own, first_others, second_others, first_outside, second_outside, params, role
):
    # `own` is the caller's membership and conversations (feedback on them may come from
    # anyone) and the organization's knowledge bases; the others' conversations may carry
    # feedback the caller gave, which is theirs, not the caller's.
    with rolled_back():
        worlds.build(own, first_others, *first_outside)
        before = ask(client, bearer, params, user_id=CALLER, role=role)

        worlds.delete_others_in(HOME, keep_user=CALLER)
        worlds.delete_outside(HOME)
        worlds.build(second_others, *second_outside)
        changed = ask(client, bearer, params, user_id=CALLER, role=role)

        worlds.delete_others_in(HOME, keep_user=CALLER)
        worlds.delete_outside(HOME)
        alone = ask(client, bearer, params, user_id=CALLER, role=role)

    # Steer generation towards worlds that count something for the caller.
    target(before[1].get("messageCount", 0), label="messageCount")
    assert changed == before
    assert alone == before
