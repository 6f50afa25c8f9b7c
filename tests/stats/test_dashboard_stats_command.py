"""manage.py dashboard_stats: formats, flags, exit statuses, agreement with the endpoint."""

import csv
import io
import json
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from conversations.factories import ConversationFactory, MessageFactory, OrganizationFactory
from stats.management.commands.dashboard_stats import Command
from tests.admin.dataset import (
    MARCH,
    MARCH_AGENT_8,
    MARCH_ALL,
    MARCH_BETA,
    MARCH_BOB,
    ORG,
    create_dataset,
    figures,
    refresh_rollups,
)

MARCH_FLAGS = ["--org", ORG, "--from", MARCH["from"], "--to", MARCH["to"]]
FIELD_ORDER = list(figures())


@dataclass
class Run:
    status: int
    out: str
    err: str


def run(capsys, *argv: str) -> Run:
    """The command as `manage.py` runs it: exit status, stdout and stderr.

    run_from_argv closes the database connections when it ends, so a test that gets past
    the argument parser needs transaction=True (no test transaction to lose).
    """
    try:
        Command().run_from_argv(["manage.py", "dashboard_stats", *argv])
        status = 0
    except SystemExit as exit_:
        status = exit_.code
    captured = capsys.readouterr()
    return Run(status, captured.out, captured.err)


def output_of(*argv: str, stdout=None) -> str:
    stdout = stdout or io.StringIO()
    call_command("dashboard_stats", *argv, stdout=stdout)
    return stdout.getvalue()


class Terminal(io.StringIO):
    """Standard output that says it is a terminal, as an operator's shell is."""

    def isatty(self):
        return True


def table_rows(text: str) -> dict[str, str]:
    """The figure lines of the table: name -> value as printed."""
    lines = text.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("figure"))) + 2
    return dict(line.split() for line in lines[start:])


@pytest.fixture
def dataset(db):
    create_dataset()


# --- formats --------------------------------------------------------------------------------


def test_json_is_the_endpoint_object_in_contract_order(dataset):
    printed = output_of(*MARCH_FLAGS, "--format", "json")

    assert json.loads(printed) == MARCH_ALL
    assert list(json.loads(printed)) == FIELD_ORDER
    assert printed.endswith("}\n")


def test_csv_is_a_header_and_one_row(dataset):
    rows = list(csv.reader(io.StringIO(output_of(*MARCH_FLAGS, "--format", "csv"))))

    assert rows == [FIELD_ORDER, [str(MARCH_ALL[name]) for name in FIELD_ORDER]]


def test_table_has_the_scope_and_aligned_values_with_thousands_separators(dataset):
    text = output_of(*MARCH_FLAGS, "--format", "table", "--agent", "8")

    assert text.splitlines()[:5] == [
        "organization  org_acme",
        "from          2024-03-01T00:00:00Z",
        "to            2024-03-31T23:59:59.999999Z",
        "agent         8",
        "",
    ]
    rows = table_rows(text)
    assert list(rows) == FIELD_ORDER
    assert rows["inputTokens"] == "2,200"
    assert rows["kbExtractInputTokens"] == "17,100"
    assert rows["totalTokens"] == "3,000"
    assert rows["messageCount"] == "2"
    assert {name: int(value.replace(",", "")) for name, value in rows.items()} == MARCH_AGENT_8
    # Right-aligned: every figure line ends in the same column.
    figure_lines = text.splitlines()[text.splitlines().index("") + 1 :]
    assert len({len(line) for line in figure_lines}) == 1


def test_default_format_is_table_on_a_terminal_and_json_otherwise(dataset):
    assert table_rows(output_of(*MARCH_FLAGS, stdout=Terminal()))["totalTokens"] == "3,860"
    assert json.loads(output_of(*MARCH_FLAGS)) == MARCH_ALL


# --- filters --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "flags, expected",
    [
        ([], MARCH_ALL),
        (["--agent", "8"], MARCH_AGENT_8),
        (["--user", "user_bob"], MARCH_BOB),
        (["--metadata-key", "plan", "--metadata-value", "beta"], MARCH_BETA),
        (["--metadata-value", "beta"], MARCH_BETA),
        (["--metadata-key", "seats"], MARCH_BETA),  # only Ann's metadata has "seats"
        # Empty flags are filters left out, as empty parameters are for the endpoint.
        (["--user", "", "--metadata-key", ""], MARCH_ALL),
        # Another organization's agent or user: zeros, except the org-wide KB figures.
        (["--agent", "9"], figures(**{k: v for k, v in MARCH_ALL.items() if k.startswith("kb")})),
        (["--user", "user_eve"], figures(**{k: v for k, v in MARCH_ALL.items() if k[:2] == "kb"})),
    ],
)
def test_filters_narrow_the_organization_wide_scope(dataset, flags, expected):
    assert json.loads(output_of(*MARCH_FLAGS, *flags)) == expected


def test_datetime_bounds_are_inclusive(dataset):
    # Only m2 (09:00:30) is inside; m1 at 09:00:00 and f1 at 09:01:00 are not.
    printed = output_of(
        "--org", ORG, "--from", "2024-03-01T09:00:01Z", "--to", "2024-03-01T09:00:59"
    )

    assert json.loads(printed) == figures(
        conversationCount=1,
        messageCount=1,
        toolCalls=2,
        inputTokens=800,
        outputTokens=60,
        totalTokens=860,
        uniqueUsers=1,
        uniqueAgents=1,
    )


def test_default_range_is_the_last_30_days_ending_now(db):
    org = OrganizationFactory(id="org_recent")
    conversation = ConversationFactory(organization=org, created_at=timezone.now())
    now = timezone.now()
    for message_id, age in [
        ("inside", timedelta(days=29, hours=23)),
        ("outside", timedelta(days=30, minutes=1)),
    ]:
        MessageFactory(
            id=message_id, conversation=conversation, created_at=now - age, tool_call_count=1
        )
    refresh_rollups()

    result = json.loads(output_of("--org", "org_recent"))

    assert (result["messageCount"], result["toolCalls"]) == (1, 1)


def test_to_alone_reaches_back_30_days(dataset):
    result = json.loads(output_of("--org", ORG, "--to", "2024-03-30T08:00:00Z"))

    # 2024-02-29T08:00Z .. 2024-03-30T08:00Z: m1..m4; kf1, kf2 and kf3_feb, not kf5_last.
    assert result["messageCount"] == 4
    assert result["kbFileCount"] == 3
    assert result["kbExtractInputTokens"] == 15_000 + 2_000 + 7


# --- --output ---------------------------------------------------------------------------------


def test_output_writes_the_file_and_nothing_to_stdout(dataset, tmp_path):
    target = tmp_path / "march.csv"

    printed = output_of(*MARCH_FLAGS, "--format", "csv", "--output", str(target))

    assert printed == ""
    with target.open(newline="", encoding="utf-8") as file:
        assert list(csv.reader(file)) == [FIELD_ORDER, [str(MARCH_ALL[n]) for n in FIELD_ORDER]]


def test_output_defaults_to_json_even_from_a_terminal(dataset, tmp_path):
    target = tmp_path / "march.json"

    output_of(*MARCH_FLAGS, "--output", str(target), stdout=Terminal())

    assert json.loads(target.read_text(encoding="utf-8")) == MARCH_ALL


# --- exit statuses, as manage.py reports them -----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_success_exits_0_with_the_figures_on_stdout(capsys):
    create_dataset()

    result = run(capsys, *MARCH_FLAGS, "--format", "json")

    assert (result.status, result.err) == (0, "")
    assert json.loads(result.out) == MARCH_ALL


@pytest.mark.django_db(transaction=True)
def test_unknown_organization_exits_1_naming_it(capsys):
    create_dataset()

    result = run(capsys, "--org", "org_nope", "--from", "2024-03-01")

    assert result.status == 1
    assert result.out == ""
    assert result.err == "CommandError: Unknown organization 'org_nope'.\n"


@pytest.mark.django_db(transaction=True)
def test_unwritable_output_exits_1(capsys, tmp_path):
    create_dataset()

    result = run(capsys, *MARCH_FLAGS, "--output", str(tmp_path / "missing-dir" / "x.json"))

    assert result.status == 1
    assert result.err.startswith("CommandError: Cannot write ")
    assert "missing-dir" in result.err


def test_from_after_to_is_a_usage_error(capsys):
    # No database marker: the range is checked before anything is read.
    result = run(capsys, "--org", ORG, "--from", "2024-03-02", "--to", "2024-03-01")

    assert result.status == 2
    assert result.out == ""
    assert result.err.startswith("usage: manage.py dashboard_stats")
    assert result.err.endswith(
        "error: --from 2024-03-02T00:00:00Z is later than --to 2024-03-01T23:59:59.999999Z\n"
    )


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--from", "2024-03-01"], "the following arguments are required: --org"),
        (
            ["--org", ORG, "--from", "March 1st"],
            "argument --from: 'March 1st' is not an ISO 8601 date or datetime",
        ),
        (["--org", ORG, "--to", "2024-02-30"], "argument --to: '2024-02-30' is not an ISO 8601"),
        (["--org", ORG, "--from", "2024-03-01T25:00"], "argument --from: '2024-03-01T25:00'"),
        (["--org", ORG, "--agent", "seven"], "argument --agent: 'seven' is not an integer"),
        (["--org", ORG, "--agent", "7.5"], "argument --agent: '7.5' is not an integer"),
        (["--org", ORG, "--format", "xml"], "argument --format: invalid choice: 'xml'"),
        (["--org", ORG, "--colour"], "unrecognized arguments: --colour"),
    ],
)
def test_bad_flags_exit_2_with_usage_before_any_query(capsys, argv, message):
    # No database marker: the parser refuses these before anything is read.
    result = run(capsys, *argv)

    assert result.status == 2
    assert result.out == ""
    assert result.err.startswith("usage: manage.py dashboard_stats")
    assert message in result.err


def test_help_documents_every_flag_with_an_example(capsys):
    result = run(capsys, "--help")

    assert result.status == 0
    flags = ["--org", "--from", "--to", "--user", "--agent", "--metadata-key", "--metadata-value"]
    help_lines = result.out.split("options:")[1]
    for flag in [*flags, "--output"]:
        assert f"\n  {flag} " in help_lines
    assert "e.g." in help_lines.split("--org")[1].split("--from")[0]
    assert "examples:\n  manage.py dashboard_stats --org org_2abc --from 2024-03-01" in result.out
    assert "--format {csv,json,table}" in result.out


# --- the same figures as the endpoint --------------------------------------------------------


FLAG_OF_PARAMETER = {
    "from": "--from",
    "to": "--to",
    "agentId": "--agent",
    "userId": "--user",
    "metadataKey": "--metadata-key",
    "metadataValue": "--metadata-value",
}


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"agentId": "8"},
        {"userId": "user_bob"},
        {"metadataKey": "plan", "metadataValue": "beta"},
        {"metadataValue": "pro"},
        {"metadataKey": "seats", "agentId": "8"},
        {"from": "2024-03-01T09:00:30+00:00", "to": "2024-03-10T12:05:00Z"},
        {"from": "2024-02-29T23:59:59.999999Z", "to": "2024-03-02T10:00"},
    ],
)
def test_agrees_with_the_endpoint_for_an_admin_in_org(dataset, client, bearer, params):
    query = {**MARCH, **params}
    response = client.get(
        "/api/dashboard/getStats",
        {**query, "allInOrg": "true"},
        **bearer(user_id="user_ann", org_id=ORG, role="org:admin"),
    )
    assert response.status_code == 200, response.content
    flags = [part for name, value in query.items() for part in (FLAG_OF_PARAMETER[name], value)]

    printed = output_of("--org", ORG, *flags)

    assert json.loads(printed) == response.json()
    assert list(json.loads(printed)) == list(response.json())
