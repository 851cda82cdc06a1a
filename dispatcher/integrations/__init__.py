"""The standard alert formats in: Alertmanager's webhook and PagerDuty's Events API v2."""
