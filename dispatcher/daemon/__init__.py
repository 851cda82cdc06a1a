"""The long-running process: sender, scheduler, heartbeat and HTTP server, watched together."""
