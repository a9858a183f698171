"""Open311 GeoReport v2 under `/open311/v2/` (routes in `routes`, the two formats in `formats`)."""

from bot.open311.routes import router

__all__ = ["router"]
