"""The pure core: incident lifecycle and cadence as functions of (state, event, now).

Nothing here reads the clock, touches the database or sends mail.
"""
