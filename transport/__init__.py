"""The MQTT link both services own: the only code that opens a socket to the broker.

It sits beside ``protocol/`` (which stays pure: no sockets) so that the hub and the device
share one reconnect loop instead of two copies. Imports: ``transport -> protocol``.
"""
