"""The equipment the centre runs: each asset's live state from the feeds, and remote commands.

Live state (live_state.py): a street light's power state, dimming level, control mode and
faults (the FIWARE Smart Data Models' Streetlight: ``powerState``, ``illuminanceLevel``,
``status``; ``controlMode`` ``schedule``/``manual`` is ours); a traffic signal's mode and
fault (our own ``TrafficSignal`` type: no Smart Data Model describes a signal controller;
attributes ``mode`` normal/flashing_amber/off, ``status`` ok/lampFailure/controllerFault/
detectorFault/communicationLost, ``controllerNum`` naming the asset); a camera's online
state (the Smart Data Models' ``Device``, its ``deviceState``, ``controlledAsset`` or
``serialNumber`` naming the asset). Commands (commands.py: the registry and the NGSI-LD
command profile; service.py; dispatch.py: the outbox worker; broker.py: the adapter).
"""
