"""The peer of the operator scale benchmark: a kopf operator that watches ModelMonitors and does
nothing.

The benchmark starts it as its own process (``python -m bench.operator_idle_peer KUBECONFIG
NAMESPACE``), with the same kopf settings family as ``kubedrift operator`` (standalone, annotation
storage), so the difference in RSS and CPU is what kubedrift's work costs. (This docstring does
not name the benchmark's file: ``python -m bench`` treats a file named by another as a helper.)
"""

from __future__ import annotations

import sys
from typing import Any

import kopf


def main() -> int:
    kubeconfig, namespace = sys.argv[1], sys.argv[2]
    from kubernetes import config  # noqa: PLC0415

    configuration = __import__("kubernetes").client.Configuration()
    config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    registry = kopf.OperatorRegistry()

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        return kopf.ConnectionInfo(
            server=configuration.host,
            ca_path=configuration.ssl_ca_cert,
            certificate_path=configuration.cert_file,
            private_key_path=configuration.key_file,
        )

    @kopf.on.event("kubedrift.io", "v1alpha1", "modelmonitors", registry=registry)
    def ignore(**_: Any) -> None:
        pass

    settings = kopf.OperatorSettings()
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="idle.bench")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix="idle.bench")
    kopf.run(registry=registry, settings=settings, standalone=True, namespaces=[namespace])
    return 0


if __name__ == "__main__":
    sys.exit(main())
