"""SMS through Twilio: inbound and status webhooks, consent keywords, and the sender."""
