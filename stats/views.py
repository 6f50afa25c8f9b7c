from rest_framework.views import APIView


class GetStatsView(APIView):
    pass
