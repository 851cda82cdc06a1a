"""Signals from SDS's monitoring: outage, update, resolved and heartbeat."""
