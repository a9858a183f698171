"""Settings schema and the shipped defaults (matter catalogue, rules, demo district)."""

from config.settings import Settings, get_settings, SHIPPED_CONFIG_DIR

__all__ = ["Settings", "get_settings", "SHIPPED_CONFIG_DIR"]
