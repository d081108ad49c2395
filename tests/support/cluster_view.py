"""A cluster to test against, as the session's ``cluster`` fixture and tests that start a control
plane of their own see it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubedrift_dev.devcluster import ControlPlane

LOG_TAIL_LINES = 60


@dataclass
class Cluster:
    """A cluster to test against. ``control_plane`` is None for an external cluster."""

    kubeconfig: Path
    control_plane: ControlPlane | None = None

    def api_client(self) -> Any:
        """A new ``kubernetes.client.ApiClient`` for this cluster (admin)."""
        from kubernetes import config  # noqa: PLC0415 - keep unit-only runs light

        return config.new_client_from_config(config_file=str(self.kubeconfig))

    def container_logs(self, namespace: str, tail: int | None = LOG_TAIL_LINES) -> dict[str, str]:
        """The last ``tail`` lines (``None``: all) of the container logs of Pods in ``namespace``
        (local control plane only)."""
        if self.control_plane is None:
            return {}
        logs = {}
        for path in sorted((self.control_plane.node_dir / "pods").glob(f"{namespace}_*/*.log")):
            lines = path.read_text(errors="replace").splitlines()
            logs[str(path)] = "\n".join(lines if tail is None else lines[-tail:])
        return logs
