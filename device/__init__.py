"""The classroom node service: MQTT link, durable outbox, directive state, screens."""
