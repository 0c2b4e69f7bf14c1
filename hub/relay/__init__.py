"""The relay: alerts and directives handed off beyond the building (docs/integrations.md).

``config`` (relay.toml), ``store`` (the durable queue), ``messages`` (the queued JSON),
``destination`` (what every kind of destination offers the relay), ``webhook`` (signed
HTTPS POST), ``mail`` and ``mail_text`` (SMTP email and what it says), ``connection``
(TLS and failures in words), ``cap``, ``cap_records``, ``cap_scope`` and ``cap_post``
(CAP 1.2 of each record, POSTed over the webhook's wire), ``toml_table`` (relay.toml's
values, errors named), ``offline`` (a display offline during a Lockdown), ``reload``
(relay.toml re-read on SIGHUP) and ``relay`` (the tasks that read and deliver).
"""
