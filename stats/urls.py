from django.urls import path

from stats.views import GetStatsView

urlpatterns = [
    path("getStats", GetStatsView.as_view(), name="get-stats"),
]
