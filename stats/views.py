"""GET /api/dashboard/getStats: validate, scope, compute, answer."""

import hashlib
import json

from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from asteragents.datetimes import isoformat_z
from stats.access import HasActiveOrganization, stats_query_for
from stats.params import StatsParamsSerializer, parse_stats_params
from stats.report import Report, ReportOptions, build_report
from stats.serializers import ErrorSerializer, StatsReportSerializer

# Dashboards poll; a browser may reuse an answer this long, and revalidate it after.
CACHE_CONTROL = "private, max-age=30"


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


def _etag(report: Report) -> str:
    """The answer's figures, hashed: the same figures, the same tag, whenever computed."""
    canonical = json.dumps(report.figures, sort_keys=True, separators=(",", ":"))
    return '"' + hashlib.sha256(canonical.encode()).hexdigest() + '"'


def _not_modified(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    # Weak comparison (RFC 9110 13.1.2): a W/ prefix does not matter for GET.
    tags = [tag.removeprefix("W/") for tag in parse_etags(if_none_match)]
    return "*" in tags or etag in tags


def _options(params: dict) -> ReportOptions:
    return ReportOptions(
        zone=params.get("zone"),
        interval=params.get("interval"),
        group_by=params.get("group_by"),
        group_key=params.get("group_key"),
        limit=params["limit"],
        compare_previous=params.get("compare") == "previous",
    )


class GetStatsView(APIView):
    # Checked in the contract's order: the token (401), an active organization (403); then
    # the parameters (400) and the role and userId rules (403) in `get`.
    permission_classes = [IsAuthenticated, HasActiveOrganization]

    @extend_schema(
        operation_id="getStats",
        summary="Usage figures of the caller's organization for a period",
        parameters=[StatsParamsSerializer],
        responses={
            200: StatsReportSerializer,
            304: OpenApiResponse(description="If-None-Match named the answer's ETag."),
            400: _error(
                "A parameter is missing, unparseable or repeated, from is after to, or a "
                "series would have more than 1,000 buckets."
            ),
            401: _error("No token, or a token that is malformed, expired or badly signed."),
            403: _error("No active organization, or a scope the caller's role does not allow."),
            429: _error("Too many requests; see Retry-After."),
            503: _error("The database or the key service is unavailable."),
        },
    )
    def get(self, request):
        params = parse_stats_params(request.query_params)
        query = stats_query_for(principal=request.user, params=params)
        report = build_report(query=query, options=_options(params))
        etag = _etag(report)
        headers = {
            "ETag": etag,
            "Cache-Control": CACHE_CONTROL,
            "X-Generated-At": isoformat_z(report.generated_at),
            "X-Data-Through": isoformat_z(report.data_through),
        }
        if _not_modified(request.headers.get("If-None-Match"), etag):
            response = Response(status=status.HTTP_304_NOT_MODIFIED, headers=headers)
        else:
            response = Response(report.body, headers=headers)
        # The answer depends on who asks: the bearer token or the session cookie.
        patch_vary_headers(response, ["Authorization", "Cookie"])
        return response
