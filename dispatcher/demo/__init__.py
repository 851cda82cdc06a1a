"""`dispatcher demo`: the whole preparedness plan on embedded defaults, fast-forwarded.

The real daemon runs on a clock the demo moves forward (`clock`), against SQLite under `./var/`
and the built-in mail catcher on loopback (`workspace`); SDS's signals, the on-call staff's
acknowledgement link and the owner's confirmation go through the daemon's real HTTP server and
services (`stage`) in the order of the plan (`scenario`), and the outbox is read back for the
closing table (`summary`). `run` puts it together.
"""
