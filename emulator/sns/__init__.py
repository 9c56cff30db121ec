"""SNS: delivery to every kind of subscription (email to a local mailbox, with confirmation)."""
