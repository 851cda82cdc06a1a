"""The outbox: notices rendered into rows, claimed, sent over SMTP and recorded per recipient."""
