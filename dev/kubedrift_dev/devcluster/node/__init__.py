"""The node stand-in: the kubelet's part, played by running a Pod's containers as local
processes (image ignored), each Pod on its own loopback address.

Layers: pure builders (``env``, ``volumes``, ``podstatus``, ``probes``, ``heartbeat``'s objects),
process handling (``containers``, ``sandbox``, ``runtime``), API calls (``rest``, ``cluster``),
and the orchestration (``worker`` per Pod, ``agent`` for the process).
"""
