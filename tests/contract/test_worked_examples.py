"""The three worked examples of STATS.md on the contract's own example.ndjson."""

from pathlib import Path

import pytest
from django.core.management import call_command

EXAMPLE = Path("/work/shared/contract/example.ndjson")
if not EXAMPLE.exists():  # the contract copied into the repository, if it ever is
    EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "contract" / "example.ndjson"

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(bearer):
    call_command("import_activity", str(EXAMPLE))
    return bearer(user_id="user_ann", org_id="org_acme", role="org:admin")


def test_march(ann, stats):
    assert stats(ann, {"from": "2024-03-01", "to": "2024-03-31"}) == {
        "conversationCount": 1,
        "messageCount": 2,
        "toolCalls": 1,
        "totalTokens": 876,
        "inputTokens": 812,
        "outputTokens": 64,
        "uniqueUsers": 1,
        "uniqueAgents": 1,
        "totalFeedback": 1,
        "totalHelpful": 1,
        "totalNotHelpful": 0,
        "kbFileCount": 1,
        "kbCount": 1,
        "kbExtractTotalTokens": 15900,
        "kbExtractInputTokens": 15000,
        "kbExtractOutputTokens": 900,
    }


def test_one_minute_holds_only_m2(ann, stats):
    # m1 (09:00:00) is before the range and the feedback (09:01:00) after it.
    assert stats(ann, {"from": "2024-03-01T09:00:01Z", "to": "2024-03-01T09:00:59Z"}) == {
        "conversationCount": 1,
        "messageCount": 1,
        "toolCalls": 1,
        "totalTokens": 876,
        "inputTokens": 812,
        "outputTokens": 64,
        "uniqueUsers": 1,
        "uniqueAgents": 1,
        "totalFeedback": 0,
        "totalHelpful": 0,
        "totalNotHelpful": 0,
        "kbFileCount": 0,
        "kbCount": 0,
        "kbExtractTotalTokens": 0,
        "kbExtractInputTokens": 0,
        "kbExtractOutputTokens": 0,
    }


def test_kb_figures_ignore_the_metadata_filter(ann, stats):
    params = {"from": "2024-03-02", "to": "2024-03-02", "allInOrg": "true", "metadataValue": "beta"}
    assert stats(ann, params) == {
        "conversationCount": 0,
        "messageCount": 0,
        "toolCalls": 0,
        "totalTokens": 0,
        "inputTokens": 0,
        "outputTokens": 0,
        "uniqueUsers": 0,
        "uniqueAgents": 0,
        "totalFeedback": 0,
        "totalHelpful": 0,
        "totalNotHelpful": 0,
        "kbFileCount": 1,
        "kbCount": 1,
        "kbExtractTotalTokens": 15900,
        "kbExtractInputTokens": 15000,
        "kbExtractOutputTokens": 900,
    }


def test_march_as_v1_token_with_unprefixed_admin_role(bearer, stats):
    """Pre-prefix v1 instances write `admin`; it is org:admin, so allInOrg is allowed."""
    call_command("import_activity", str(EXAMPLE))
    auth = bearer(user_id="user_ann", org_id="org_acme", role="admin", version=1)
    body = stats(auth, {"from": "2024-03-01", "to": "2024-03-31", "allInOrg": "true"})
    assert (body["messageCount"], body["totalTokens"], body["kbFileCount"]) == (2, 876, 1)


def test_metadata_tags_array_matches_beta_in_march(ann, stats):
    """Ann's tags are ["beta"]: metadataValue=beta keeps her; department=sales too."""
    both = {"from": "2024-03-01", "to": "2024-03-31", "allInOrg": "true"}
    assert stats(ann, {**both, "metadataValue": "beta"})["messageCount"] == 2
    assert (
        stats(ann, {**both, "metadataKey": "department", "metadataValue": "sales"})["messageCount"]
        == 2
    )
    assert stats(ann, {**both, "metadataKey": "tags", "metadataValue": "beta"})["messageCount"] == 2
    # "Sales" is not "sales" (case-sensitive), and "beta" is not at `department`.
    assert (
        stats(ann, {**both, "metadataKey": "department", "metadataValue": "Sales"})["messageCount"]
        == 0
    )
    assert (
        stats(ann, {**both, "metadataKey": "department", "metadataValue": "beta"})["messageCount"]
        == 0
    )
