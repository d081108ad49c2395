"""The ``ModelMonitor`` API (``kubedrift.io/v1alpha1``): typed spec and status, and the CRD.

``kubedrift.api.spec`` is the source of truth for the spec (``parse_spec``); ``crd`` generates
``crds/modelmonitors.kubedrift.io.yaml`` from it; ``status`` holds the status shapes and
``conditions`` the pure ``set_condition``; ``settings`` turns a spec into the statistics core's
``EvaluationSettings``.
"""
