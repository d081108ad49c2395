"""kubedrift: keeps deployed ML models honest.

The package is layered: ``kubedrift.stats`` is the pure statistics core (numpy/scipy, no I/O);
``kubedrift.api`` holds the ModelMonitor types and the CRD; ``kubedrift.sidecar`` and
``kubedrift.controller`` are the two processes; ``kubedrift.cli`` is the command line. The
development tools (the local cluster, the demo) live beside it in ``kubedrift_dev`` (``dev/``),
which the wheel and the image do not carry.
"""

__version__ = "0.1.0"
