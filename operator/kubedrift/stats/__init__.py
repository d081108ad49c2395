"""The statistics core: baselines, window sketches, drift tests, performance metrics, detectors.

Pure numpy/scipy code with no I/O, shared by the sidecar, the operator and the CLI so that every
one of them gives the same verdict on the same data. An import-linter contract (pyproject.toml)
keeps kopf, kubernetes and HTTP libraries out of this package.
"""
