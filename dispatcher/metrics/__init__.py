"""Prometheus metrics, read from the database at scrape time.

Nothing about incidents or mail is counted in process memory: those values come from the tables
when `/metrics` is scraped, so every replica reports the same truth and a restart loses nothing.
Only this replica's own state is its own: whether it leads, whether its sender runs, and its
background tasks' restarts since it started (`task_restarts_total`, from the `Supervisor`; a
counter that starts again at 0 with the process, as Prometheus expects). The collector is
registered on a private `CollectorRegistry` (not prometheus_client's global one), so the
exposition holds only these metrics.

"Counters" (`*_total` with counter type) count rows that are never deleted, so they only grow.
Drills (ØVELSE) are left out of the incident metrics (open incidents, incidents by status,
fail-safe sends); the mail they send counts among the notices and deliveries like any other.
"""
