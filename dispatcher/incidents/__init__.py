"""Incidents as stored: apply core decisions in one transaction with the notices they cause."""
