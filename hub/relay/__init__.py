"""The relay: alerts and directives handed off beyond the building (docs/integrations.md).

``config`` (relay.toml), ``store`` (the durable queue), ``messages`` (the webhook's JSON),
``webhook`` (signed HTTPS POST) and ``relay`` (the tasks that read and deliver).
"""
