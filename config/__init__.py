"""Settings schema and the shipped defaults (matter catalogue, rules, demo district)."""

from config.settings import SHIPPED_CONFIG_DIR, Settings, get_settings

__all__ = ["Settings", "get_settings", "SHIPPED_CONFIG_DIR"]
