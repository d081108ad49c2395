"""The ModelMonitor operator: inject the sidecar, evaluate, report, retrain and roll out.

Layers: pure builders (``injection``, ``sidecar_config``, ``status``, ``events``, ``retraining``,
``rollout``, ``evaluation`` merging, ``webhook`` payloads) take typed specs and plain dicts and
return dicts; ``client`` is the only module that talks to the Kubernetes API; ``reconcile`` wires
one monitor's loop together; ``handlers`` holds the thin kopf handlers; ``server`` serves
``/healthz``, ``/metrics`` and the retraining dataset; ``runtime`` starts kopf and the server.
"""
