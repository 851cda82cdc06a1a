"""Bounces: the return path each delivery is sent with (VERP), reading delivery status
notifications from a mailbox, and recording what they say about the deliveries."""
