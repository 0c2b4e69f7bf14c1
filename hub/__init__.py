"""The school hub: directive engine, presence, alerts, store, HTTP API and console."""
