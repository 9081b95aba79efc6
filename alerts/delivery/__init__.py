"""Delivery of the notification outbox: dispatch, claims, retries, senders, digests, reminders."""
