"""Issue 7's rows of `make bench`: series, breakdowns and compare on the largest organization.

Runs after bench_stats on the dataset it built (reused as is). Each case is timed through
stats_report alone and through HTTP (gunicorn, a token signed by a key made for the run),
warm-up first, then medians and p95. The compare case is timed side by side with the same
question without compare, in the same run, and reported as a ratio. Before timing, every
case's fast answer is checked against the raw definition (stats_report_raw).
"""

import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.db import connection

from asteragents.datetimes import isoformat_z
from bench import catalog
from bench.cases import PERIOD_END, STATS_PATH
from bench.dataset import END
from bench.server import SigningKey, StatsServer
from stats.report import ReportOptions, build_report
from stats.selectors import StatsQuery

WORK_DIR = Path(__file__).resolve().parent.parent / "bench-data"


@dataclass(frozen=True)
class DashboardCase:
    name: str
    days: int
    params: dict = field(default_factory=dict)  # the issue 7 parameters, as sent
    target_ms: float | None = None

    def options(self) -> ReportOptions:
        params = self.params
        return ReportOptions(
            zone=ZoneInfo(params["tz"]) if "tz" in params else None,
            interval=params.get("interval"),
            group_by=params.get("groupBy"),
            group_key=params.get("groupKey"),
            limit=int(params.get("limit", 10)),
            compare_previous=params.get("compare") == "previous",
        )

    def query(self, organization_id: str) -> StatsQuery:
        return StatsQuery(organization_id, END - timedelta(days=self.days), PERIOD_END)

    def path(self) -> str:
        start = END - timedelta(days=self.days)
        params = {"from": isoformat_z(start), "to": isoformat_z(PERIOD_END), "allInOrg": "true"}
        return f"{STATS_PATH}?{urlencode(params | self.params)}"


CASES = (
    DashboardCase("365 daily buckets UTC", 365, {"tz": "UTC", "interval": "day"}, 150),
    DashboardCase(
        "365 daily buckets Europe/Berlin", 365, {"tz": "Europe/Berlin", "interval": "day"}, 150
    ),
    DashboardCase("365 daily buckets Asia/Kolkata", 365, {"tz": "Asia/Kolkata", "interval": "day"}),
    DashboardCase(
        "365 daily buckets Asia/Kathmandu", 365, {"tz": "Asia/Kathmandu", "interval": "day"}
    ),
    DashboardCase("52 weekly buckets UTC", 364, {"tz": "UTC", "interval": "week"}),
    DashboardCase("52 weekly Europe/Berlin", 364, {"tz": "Europe/Berlin", "interval": "week"}),
    DashboardCase("720 hourly buckets UTC", 30, {"interval": "hour"}),
    DashboardCase("breakdown by agent 30 days", 30, {"groupBy": "agent"}, 100),
    DashboardCase("breakdown by user 30 days", 30, {"groupBy": "user"}, 100),
    DashboardCase("breakdown by user 1 year", 365, {"groupBy": "user"}, 100),
    DashboardCase(
        "breakdown by metadata 30 days", 30, {"groupBy": "metadata", "groupKey": "department"}
    ),
    DashboardCase("plain 30 days", 30, {}),
    DashboardCase("compare=previous 30 days", 30, {"compare": "previous"}),
    DashboardCase("plain 1 year", 365, {}),
    DashboardCase("compare=previous 1 year", 365, {"compare": "previous"}),
)
# Issue 7: compare costs at most twice the plain answer.
COMPARED = (
    ("compare=previous 30 days", "plain 30 days"),
    ("compare=previous 1 year", "plain 1 year"),
)


def _timed(call, runs: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _p50(samples):
    ordered = sorted(samples)
    return ordered[len(ordered) // 2]


def _p95(samples):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _time_case(case, organization, server, token, runs, warmup):
    query, options, path = case.query(organization), case.options(), case.path()

    def get():
        status, body = server.get(path, token=token)
        if status != 200:
            raise RuntimeError(f"{case.name}: HTTP {status}: {body[:200]!r}")

    selector = _timed(lambda: build_report(query=query, options=options), runs, warmup)
    return selector, _timed(get, runs, warmup)


def run(*, database_url: str, runs: int, warmup: int, repeat: int, names, write) -> int:
    with connection.cursor() as cursor:
        dataset = catalog.read(cursor)
    if dataset is None:
        write("No bench dataset in this database: run `make bench` first.")
        return 1
    subjects = dataset.subjects
    organization = subjects.organization_id
    cases = [case for case in CASES if not names or case.name in names]
    write(
        f"Issue 7 cases on {dataset.messages:,} messages (largest organization "
        f"{organization}), {runs} runs after {warmup} warm-up, {repeat} repeat(s)"
    )
    mismatches = []
    for case in cases:
        query, options = case.query(organization), case.options()
        fast = build_report(query=query, options=options).figures
        raw = build_report(query=query, options=options, fast=False).figures
        if fast != raw:
            mismatches.append(case.name)
    key = SigningKey()
    token = key.session_token(user_id=subjects.admin_id, organization_id=organization, role="admin")
    WORK_DIR.mkdir(exist_ok=True)
    server = StatsServer(
        database_url=database_url,
        jwt_key_pem=key.public_pem(),
        statement_timeout_ms=0,
        log_path=WORK_DIR / "gunicorn-dashboard.log",
    )
    # Per case and path, one p50 and one p95 per repeat; the table shows their medians.
    medians = {case.name: {"report": [], "http": []} for case in cases}
    p95s = {case.name: {"report": [], "http": []} for case in cases}
    with server:
        for _ in range(repeat):
            for case in cases:
                selector, http = _time_case(case, organization, server, token, runs, warmup)
                medians[case.name]["report"].append(_p50(selector))
                medians[case.name]["http"].append(_p50(http))
                p95s[case.name]["report"].append(_p95(selector))
                p95s[case.name]["http"].append(_p95(http))
    write("")
    write(
        f"{'case':<36} {'report p50':>10} {'p95':>7} {'HTTP p50':>9} {'p95':>7} "
        f"{'target':>7}  HTTP p50 min/med/max over repeats"
    )
    for case in cases:
        report, http = medians[case.name]["report"], medians[case.name]["http"]
        target = f"{case.target_ms:g}" if case.target_ms else "-"
        spread = "/".join(f"{value:.1f}" for value in (min(http), _p50(http), max(http)))
        write(
            f"{case.name:<36} {_p50(report):>10.1f} {_p50(p95s[case.name]['report']):>7.1f} "
            f"{_p50(http):>9.1f} {_p50(p95s[case.name]['http']):>7.1f} {target:>7}  {spread}"
        )
    for compared, plain in COMPARED:
        if compared in medians and plain in medians:
            ratio = _p50(medians[compared]["http"]) / _p50(medians[plain]["http"])
            write(f"{compared} / {plain} (HTTP p50): {ratio:.2f} (issue 7: at most 2)")
    if mismatches:
        write(f"MISMATCH between the fast path and the raw definition: {mismatches}")
        return 1
    write("The fast path and the raw definition gave identical answers in every case.")
    return 0
