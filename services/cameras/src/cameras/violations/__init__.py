"""Violations: opened from detections, handled with the Provincial Police, watched by other systems."""
