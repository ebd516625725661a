"""The demo sandbox: play the customer on SMS and phone without a Twilio account."""
