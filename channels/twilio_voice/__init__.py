"""Phone calls through Twilio: phone menu, queue with hold music, bridging, call statuses."""
