"""Classroom hardware behind small interfaces, each with a fake beside it.

This package imports nothing else of Roomcast's: the device service adapts it. Event
kinds and directive actions cross this boundary as plain strings.

Where things are:

* ``interfaces``: the protocols the service types against; ``simulated``: their fakes.
* ``config`` / ``config_parse``: the ``hardware`` config section as frozen dataclasses.
* ``pins``: gpiozero pin factories by name; ``buttons`` (over the pure ``patterns``
  state machine) and ``leds``: GPIO parts.
* ``displays``: luma OLED panels, luma's dummy and emulator.
* ``serial_outputs`` (over ``serial_link`` and the pure ``serial_frames``): USB relay
  modules and Alpha LED signs.
* ``errors``: what all of the above raise.
"""
