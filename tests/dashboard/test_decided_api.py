"""Three decisions a first implementation got wrong (each test states the decision).

- groupBy=metadata without groupKey: 400 {"code": "missing_parameter", "parameter":
  "groupKey"} (the code the contract already uses for a missing from/to).
- ETag: "<hex sha256 of the canonical body>", 64 hex digits.
- interval=month: up to 1,000 buckets are allowed, whatever the length of the months.
"""

import re

import pytest

from tests.dashboard.conftest import assert_error
from tests.dashboard.test_breakdown import ALL
from tests.dashboard.test_breakdown import ann as ann  # noqa: F401  (fixture)
from tests.dashboard.test_breakdown import org_data as org_data  # noqa: F401  (fixture)
from tests.dashboard.test_series import may as may  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("extra", [{}, {"groupKey": ""}])
def test_metadata_without_group_key_is_400_missing_parameter(ann, get_stats, extra):  # noqa: F811
    body = assert_error(get_stats(ann, {**ALL, "groupBy": "metadata", **extra}), 400)
    assert (body["code"], body.get("parameter")) == ("missing_parameter", "groupKey"), body


@pytest.mark.parametrize("options", [{}, {"interval": "day", "compare": "previous"}])
def test_etag_is_the_hex_sha256(ann, get_stats, options):  # noqa: F811
    response = get_stats(ann, {**ALL, **options})
    assert response.status_code == 200
    assert re.fullmatch(r'"[0-9a-f]{64}"', response["ETag"]), response["ETag"]


@pytest.mark.parametrize(
    ("params", "count"),
    [
        # 1950-01 .. 2032-12 is 996 months, then 2033-01 .. 2033-04.
        ({"from": "1950-01-01", "to": "2033-04-30"}, 1000),
        # 1950-01 .. 2026-12: 77 years, 924 months.
        ({"from": "1950-01-01", "to": "2026-12-31"}, 924),
    ],
)
def test_up_to_one_thousand_month_buckets_are_allowed(
    may,  # noqa: F811
    probe_admin,
    report,
    params,
    count,
):
    body = report(probe_admin, {**params, "interval": "month", "allInOrg": "true"})
    assert len(body["series"]) == count
