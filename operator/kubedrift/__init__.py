"""kubedrift: keeps deployed ML models honest.

The package is layered: ``kubedrift.stats`` is the pure statistics core (numpy/scipy, no I/O);
``kubedrift.api`` holds the ModelMonitor types and the CRD; ``kubedrift.sidecar`` and
``kubedrift.controller`` are the two processes; ``kubedrift.devcluster`` runs a local control
plane for tests and the demo; ``kubedrift.cli`` is the command line.
"""

__version__ = "0.1.0"
