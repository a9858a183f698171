"""Printable QR codes per building: the kf contact link with `scene_param` = the unit's code."""
