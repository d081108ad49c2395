"""The sidecar: a fail-open proxy (or mirror receiver) that samples inference traffic.

``kubedrift sidecar`` starts it through :func:`kubedrift.sidecar.sidecar_main.run_sidecar` with a
:class:`kubedrift.sidecar.config.SidecarConfig`. Layers, from the wire up:

- request path (proxy process): ``proxy`` (client connections), ``exchange`` (one request),
  ``upstream`` (keep-alive pool), ``sampling`` (sampler, bounded queue), ``proxy_stats``,
  ``proxy_service`` (serving, forwarding samples, draining);
- monitoring (monitor process): ``monitor_service``, ``worker``, ``monitor`` (samples to rows),
  ``batching``, ``labels``, ``windows``, ``metrics``, ``admin``, ``mirror``;
- between them: ``ipc``; around them: ``config``, ``runtime``.

docs/sidecar.md describes behaviour, endpoints, metrics and measurements.
"""
