"""Proactive grid work: special-group visits (走访), the three lists (日巡查、周探访、月摸排), patrol check-ins."""
