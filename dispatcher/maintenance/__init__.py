"""Planned maintenance windows: stored, announced, reminded, and the outage signals they explain."""
