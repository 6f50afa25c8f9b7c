"""Per-caller request throttling on the shared cache."""

import logging

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)


class CallerRateThrottle(SimpleRateThrottle):
    """STATS_THROTTLE_RATE requests per Clerk user (per client IP before authentication).

    Fails open: when the cache is unreachable the request is served, since refusing every
    dashboard because Redis is down would be worse than a moment without rate limits.
    """

    scope = "caller"

    def get_rate(self):
        # Read per request, not frozen at import as SimpleRateThrottle does, so a changed
        # setting (and a test's override) takes effect.
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def get_cache_key(self, request, view):
        user_id = getattr(request.user, "user_id", None)
        ident = f"user:{user_id}" if user_id else f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception:  # any cache client error: redis, socket, timeout
            logger.warning("throttle cache unavailable; request allowed", exc_info=True)
            return True
