"""manage.py dashboard_stats: formats, flags, exit statuses, agreement with the endpoint."""

import csv
import io
import json
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from asteragents.models import User
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
    flags += ["--tz", "--interval", "--group-by", "--group-key", "--limit", "--compare"]
    help_lines = result.out.split("options:")[1]
    for flag in [*flags, "--output"]:
        assert f"\n  {flag} " in help_lines
    assert "e.g." in help_lines.split("--org")[1].split("--from")[0]
    assert "examples:\n  manage.py dashboard_stats --org org_2abc --from 2024-03-01" in result.out
    assert "--format {csv,json,table}" in result.out
    # The CSV rule for --interval with --group-by is written down where operators look.
    assert "--interval with --group-by, or --compare with either, has no single table" in (
        " ".join(result.out.split())
    )


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


# --- tz, interval, group-by, compare (issue 7) ------------------------------------------------

VOLATILE = ("generatedAt", "dataThrough")
CONVERSATION_FIELDS = [name for name in FIELD_ORDER if not name.startswith("kb")]


def stable(body: dict) -> dict:
    """The body without the two instants that differ between any two answers."""
    return {name: value for name, value in body.items() if name not in VOLATILE}


def conversation_figures(**values: int) -> dict[str, int]:
    return {name: values.get(name, 0) for name in CONVERSATION_FIELDS}


def test_tz_alone_adds_the_instants_and_moves_date_only_bounds_to_local_days(dataset):
    body = json.loads(output_of(*MARCH_FLAGS, "--tz", "Europe/Berlin"))

    # Berlin's March is 2024-02-29T23:00Z .. 2024-03-31T21:59:59.999999Z: kf3_feb (Feb 29,
    # 23:59:59.999999Z) is inside and kf5_last (Mar 31, 23:59:59.999999Z) is not.
    assert list(body) == [*FIELD_ORDER, "generatedAt", "dataThrough"]
    assert stable(body) == {
        **MARCH_ALL,
        "kbFileCount": 3,  # kf3_feb, kf1, kf2
        "kbCount": 1,  # only the handbook
        "kbExtractInputTokens": 7 + 15_000 + 2_000,
        "kbExtractOutputTokens": 7 + 900 + 100,
        "kbExtractTotalTokens": 14 + 15_900 + 2_100,
    }
    for name in VOLATILE:
        assert body[name].endswith("Z")


def test_weekly_series_in_utc_has_iso_weeks_from_monday(dataset):
    body = json.loads(output_of(*MARCH_FLAGS, "--interval", "week"))

    series = body["series"]
    assert [(bucket["start"], bucket["end"]) for bucket in series] == [
        ("2024-02-26T00:00:00+00:00", "2024-03-04T00:00:00+00:00"),
        ("2024-03-04T00:00:00+00:00", "2024-03-11T00:00:00+00:00"),
        ("2024-03-11T00:00:00+00:00", "2024-03-18T00:00:00+00:00"),
        ("2024-03-18T00:00:00+00:00", "2024-03-25T00:00:00+00:00"),
        ("2024-03-25T00:00:00+00:00", "2024-04-01T00:00:00+00:00"),
    ]
    # m1, m2 | m3 | - | m4 | -   and   kf1 | - | kf2 | - | kf5_last
    assert [bucket["messageCount"] for bucket in series] == [2, 1, 0, 1, 0]
    assert [bucket["kbFileCount"] for bucket in series] == [1, 0, 1, 0, 1]
    assert [bucket["totalFeedback"] for bucket in series] == [1, 1, 0, 0, 0]
    assert [list(bucket)[2:] for bucket in series] == [FIELD_ORDER] * 5


def test_daily_series_across_berlins_spring_change_has_a_23_hour_day(dataset):
    flags = ["--org", ORG, "--from", "2024-03-30", "--to", "2024-04-01"]

    body = json.loads(output_of(*flags, "--tz", "Europe/Berlin", "--interval", "day"))

    # m5_april, f3_april (00:00Z) and kf5_last (23:59:59.999999Z the day before) all fall on
    # Berlin's April 1 (02:00 and 01:59 local).
    assert body["series"] == [
        {"start": "2024-03-30T00:00:00+01:00", "end": "2024-03-31T00:00:00+01:00", **figures()},
        {"start": "2024-03-31T00:00:00+01:00", "end": "2024-04-01T00:00:00+02:00", **figures()},
        {
            "start": "2024-04-01T00:00:00+02:00",
            "end": "2024-04-02T00:00:00+02:00",
            **figures(
                conversationCount=1,
                messageCount=1,
                toolCalls=1,
                totalTokens=10,
                inputTokens=5,
                outputTokens=5,
                uniqueUsers=1,
                uniqueAgents=1,
                totalFeedback=1,
                totalHelpful=1,
                kbFileCount=1,
                kbCount=1,
                kbExtractTotalTokens=110,
                kbExtractInputTokens=100,
                kbExtractOutputTokens=10,
            ),
        },
    ]


def test_agent_breakdown_with_limit_1_puts_the_rest_in_others(dataset):
    body = json.loads(output_of(*MARCH_FLAGS, "--group-by", "agent", "--limit", "1"))

    # Sales (8): m3, m4 (2 messages); Support (7): m1, m2 (2 messages): a tie, so key order.
    assert body["breakdown"] == {
        "by": "agent",
        "rows": [
            {
                "key": 7,
                "label": "Support",
                **conversation_figures(
                    conversationCount=1,
                    messageCount=2,
                    toolCalls=2,
                    totalTokens=860,
                    inputTokens=800,
                    outputTokens=60,
                    uniqueUsers=1,
                    uniqueAgents=1,
                    totalFeedback=1,
                    totalHelpful=1,
                ),
            }
        ],
        "others": {key: MARCH_AGENT_8[key] for key in CONVERSATION_FIELDS},
        "truncated": True,
    }


def test_compare_previous_gives_the_month_before_and_the_change(dataset):
    body = json.loads(output_of(*MARCH_FLAGS, "--compare", "previous"))

    # The 31 days before March 1: Jan 30 .. Feb 29; only kf3_feb lies there.
    assert body["previous"] == figures(
        kbFileCount=1,
        kbCount=1,
        kbExtractTotalTokens=14,
        kbExtractInputTokens=7,
        kbExtractOutputTokens=7,
    )
    assert body["change"]["messageCount"] == {"delta": 4, "percent": None}
    assert body["change"]["kbFileCount"] == {"delta": 2, "percent": 200}
    assert body["change"]["kbExtractInputTokens"] == {"delta": 17_093, "percent": 244_185.71}


# --- CSV shapes ---------------------------------------------------------------------------------


def full_name(user_id: str) -> str:
    user = User.objects.get(pk=user_id)
    return f"{user.first_name} {user.last_name}"


def csv_of(*flags: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(output_of(*MARCH_FLAGS, "--format", "csv", *flags))))


def test_csv_series_rows(dataset):
    rows = csv_of("--interval", "week")

    assert rows[0] == ["start", "end", *FIELD_ORDER]
    assert [row[:4] for row in rows[1:]] == [
        ["2024-02-26T00:00:00+00:00", "2024-03-04T00:00:00+00:00", "1", "2"],
        ["2024-03-04T00:00:00+00:00", "2024-03-11T00:00:00+00:00", "1", "1"],
        ["2024-03-11T00:00:00+00:00", "2024-03-18T00:00:00+00:00", "0", "0"],
        ["2024-03-18T00:00:00+00:00", "2024-03-25T00:00:00+00:00", "1", "1"],
        ["2024-03-25T00:00:00+00:00", "2024-04-01T00:00:00+00:00", "0", "0"],
    ]
    assert all(len(row) == 18 for row in rows)


# Conversation figures as CSV cells, in CONVERSATION_FIELDS order.
ANN_CELLS = "2 3 2 2360 1800 560 1 2 1 1 0".split()  # m1, m2, m4 (conv_1, conv_3; 7, 8); f1
BOB_CELLS = "1 1 1 1500 1200 300 1 1 1 0 1".split()  # m3 (conv_2, agent 8); f2


def test_csv_breakdown_is_a_row_per_group_then_others(dataset):
    rows = csv_of("--group-by", "user")

    # The factories give each user a random last name: the label is the full name.
    assert rows == [
        ["rank", "key", "label", *CONVERSATION_FIELDS],
        ["1", "user_ann", full_name("user_ann"), *ANN_CELLS],
        ["2", "user_bob", full_name("user_bob"), *BOB_CELLS],
        ["others", "", "", *["0"] * 11],
    ]


def test_csv_metadata_breakdown_truncated(dataset):
    rows = csv_of("--group-by", "metadata", "--group-key", "plan", "--limit", "1")

    # Ann is on "beta", Bob on "pro": the same figures as the user breakdown.
    assert rows == [
        ["rank", "key", "label", *CONVERSATION_FIELDS],
        ["1", "beta", "beta", *ANN_CELLS],
        ["others", "", "", *BOB_CELLS],
    ]


def test_csv_compare_is_a_row_per_period(dataset):
    rows = csv_of("--compare", "previous")

    assert rows[0] == ["period", *FIELD_ORDER]
    assert [row[0] for row in rows[1:]] == ["current", "previous", "delta", "percent"]
    assert rows[1][1:] == [str(MARCH_ALL[name]) for name in FIELD_ORDER]
    percent = dict(zip(FIELD_ORDER, rows[4][1:], strict=True))
    assert percent["messageCount"] == ""  # no messages before March: no percentage
    assert float(percent["kbFileCount"]) == 200


def test_csv_with_tz_alone_keeps_the_one_row_shape(dataset):
    rows = csv_of("--tz", "Asia/Kolkata")

    assert rows[0] == FIELD_ORDER
    assert len(rows) == 2


# --- bad option values and combinations: exit 2 ---------------------------------------------------


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--tz", "Mars/Olympus"], "argument --tz: 'Mars/Olympus' is not an IANA time zone"),
        (["--tz", "+05:30"], "argument --tz: '+05:30' is not an IANA time zone"),
        (
            ["--interval", "year"],
            "argument --interval: 'year' is not one of hour, day, week, month",
        ),
        (["--interval", "Day"], "argument --interval: 'Day' is not one of hour, day, week, month"),
        (["--group-by", "team"], "argument --group-by: 'team' is not one of agent, user, metadata"),
        (["--limit", "0"], "argument --limit: '0' is not a whole number from 1 to 100"),
        (["--limit", "101"], "argument --limit: '101' is not a whole number from 1 to 100"),
        (["--limit", "-1"], "argument --limit: '-1' is not a whole number from 1 to 100"),
        (["--limit", "x"], "argument --limit: 'x' is not a whole number from 1 to 100"),
        (["--compare", "next"], "argument --compare: 'next' is not one of previous"),
        (["--group-by", "metadata"], "error: --group-by metadata needs --group-key"),
        (["--group-key", "plan"], "error: --group-key is only for --group-by metadata"),
        (["--group-by", "agent", "--group-key", "plan"], "--group-key is only for --group-by"),
        (
            ["--format", "csv", "--interval", "day", "--group-by", "agent"],
            "error: --format csv writes one table: give --interval or --group-by, not both",
        ),
        (
            ["--format", "csv", "--interval", "day", "--compare", "previous"],
            "error: --format csv writes one table: --compare applies to the totals",
        ),
        (
            ["--format", "csv", "--group-by", "user", "--compare", "previous"],
            "error: --format csv writes one table: --compare applies to the totals",
        ),
    ],
)
def test_bad_new_flags_exit_2_before_any_query(capsys, argv, message):
    # No database marker: all of these are refused before anything is read.
    result = run(capsys, "--org", ORG, "--from", "2024-03-01", *argv)

    assert result.status == 2
    assert result.out == ""
    assert result.err.startswith("usage: manage.py dashboard_stats")
    assert message in result.err


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "start, end",
    [
        ("2024-03-01", "2024-04-11"),  # 42 days of hours: plainly too many
        # 00:00 on Mar 1 to 16:00 on Apr 11: 41 x 24 + 17 = 1,001 hour buckets, one too many.
        ("2024-03-01T00:30:00Z", "2024-04-11T16:29:59Z"),
    ],
)
def test_more_than_1000_buckets_exits_2_saying_so(capsys, start, end):
    create_dataset()

    result = run(capsys, "--org", ORG, "--from", start, "--to", end, "--interval", "hour")

    assert result.status == 2
    assert result.out == ""
    assert "error: --interval hour gives more than 1,000 buckets from " in result.err
    assert ": choose a longer interval or a shorter range\n" in result.err


@pytest.mark.django_db(transaction=True)
def test_exactly_1000_buckets_is_fine(capsys):
    create_dataset()

    # 2024-03-01T00:00Z .. 2024-04-11T15:59:59Z: 41 days x 24 + 16 hours = 1,000 buckets.
    result = run(
        capsys,
        "--org",
        ORG,
        "--from",
        "2024-03-01",
        "--to",
        "2024-04-11T15:59:59Z",
        "--interval",
        "hour",
        "--format",
        "json",
    )

    assert (result.status, result.err) == (0, "")
    assert len(json.loads(result.out)["series"]) == 1_000


# --- tables --------------------------------------------------------------------------------------


def test_table_shows_totals_with_change_then_series_then_breakdown(dataset):
    text = output_of(
        *MARCH_FLAGS,
        "--format",
        "table",
        "--tz",
        "Europe/Berlin",
        "--interval",
        "week",
        "--group-by",
        "agent",
        "--limit",
        "1",
        "--compare",
        "previous",
    )
    lines = text.splitlines()

    assert lines[:8] == [
        "organization  org_acme",
        "from          2024-03-01T00:00:00+01:00",
        "to            2024-03-31T23:59:59.999999+02:00",
        "time zone     Europe/Berlin",
        "interval      week",
        "group by      agent, top 1",
        "compare       previous period of the same length",
        lines[7],
    ]
    assert lines[7].startswith("generated at  ")
    assert lines[8].startswith("data through  ")
    header = lines[lines.index("") + 1].split()
    assert header == ["figure", "value", "previous", "delta", "change"]
    totals = {line.split()[0]: line.split()[1:] for line in lines[12:28]}
    assert totals["messageCount"] == ["4", "0", "+4", "n/a"]
    # Berlin's March holds kf3_feb, kf1 and kf2; the period before it ends at Feb 29,
    # 22:59:59.999999Z, just before kf3_feb, so it has no file at all.
    assert totals["kbFileCount"] == ["3", "0", "+3", "n/a"]
    assert "series: 5 buckets" in lines
    series_header = lines[lines.index("series: 5 buckets") + 1].split()
    assert series_header == ["start", "end", *FIELD_ORDER]
    assert "breakdown by agent" in lines
    breakdown = lines[lines.index("breakdown by agent") :]
    assert breakdown[1].split() == ["key", "label", *CONVERSATION_FIELDS]
    assert breakdown[3].split()[:4] == ["7", "Support", "1", "2"]
    assert breakdown[4].split()[:3] == ["(others)", "2", "2"]
    assert breakdown[5] == "truncated: only the top 1 group is listed; (others) sums the rest"


# --- the same body as the endpoint -----------------------------------------------------------


FLAG_OF_PARAMETER |= {
    "tz": "--tz",
    "interval": "--interval",
    "groupBy": "--group-by",
    "groupKey": "--group-key",
    "limit": "--limit",
    "compare": "--compare",
}


@pytest.mark.parametrize(
    "params",
    [
        {"tz": "Europe/Berlin"},
        {"interval": "day"},
        {"tz": "Asia/Kathmandu", "interval": "hour", "from": "2024-03-01", "to": "2024-03-02"},
        {"tz": "America/Sao_Paulo", "interval": "month", "from": "2024-01-15", "to": "2024-04-02"},
        {"groupBy": "agent"},
        {"groupBy": "user", "limit": "1", "agentId": "8"},
        {"groupBy": "metadata", "groupKey": "plan", "tz": "Asia/Kolkata"},
        {"compare": "previous", "metadataValue": "beta"},
        {"interval": "week", "groupBy": "agent", "compare": "previous", "tz": "Europe/Berlin"},
    ],
)
def test_json_is_the_endpoints_body_for_the_new_options(dataset, client, bearer, params):
    query = {**MARCH, **params}
    response = client.get(
        "/api/dashboard/getStats",
        {**query, "allInOrg": "true"},
        **bearer(user_id="user_ann", org_id=ORG, role="org:admin"),
    )
    assert response.status_code == 200, response.content
    flags = [part for name, value in query.items() for part in (FLAG_OF_PARAMETER[name], value)]

    printed = json.loads(output_of("--org", ORG, *flags))

    assert stable(printed) == stable(response.json())
    assert list(printed) == list(response.json())
    assert set(VOLATILE) <= set(printed)
