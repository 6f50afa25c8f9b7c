"""GET /api/dashboard/getStats: validate, scope, compute, answer."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from stats.access import HasActiveOrganization, stats_query_for
from stats.params import StatsParamsSerializer, parse_stats_params
from stats.selectors import stats_compute
from stats.serializers import ErrorSerializer, StatsSerializer


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


class GetStatsView(APIView):
    # Checked in the contract's order: the token (401), an active organization (403); then
    # the parameters (400) and the role and userId rules (403) in `get`.
    permission_classes = [IsAuthenticated, HasActiveOrganization]

    @extend_schema(
        operation_id="getStats",
        summary="Usage figures of the caller's organization for a period",
        parameters=[StatsParamsSerializer],
        responses={
            200: StatsSerializer,
            400: _error("A parameter is missing, unparseable, repeated, or from is after to."),
            401: _error("No token, or a token that is malformed, expired or badly signed."),
            403: _error("No active organization, or a scope the caller's role does not allow."),
            429: _error("Too many requests; see Retry-After."),
            503: _error("The database or the key service is unavailable."),
        },
    )
    def get(self, request):
        params = parse_stats_params(request.query_params)
        query = stats_query_for(principal=request.user, params=params)
        return Response(stats_compute(query=query))
