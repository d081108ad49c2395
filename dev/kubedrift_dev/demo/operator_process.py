"""The operator as a local process (``kubedrift operator``) for the demo and its test, when it
does not run in-cluster: it watches the demo's namespace and serves ``/metrics`` and the dataset
endpoint on 127.0.0.1, which is where the retraining Job of the local control plane reaches it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

KUBEDRIFT = str(Path(sys.executable).parent / "kubedrift")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OperatorProcess:
    """``kubedrift operator --namespace NS`` started by :meth:`start`, stopped by :meth:`stop`;
    ``service_accounts`` are the ServiceAccounts retraining Jobs may run as."""

    def __init__(
        self, kubeconfig: Path, namespace: str, log: Path, service_accounts: tuple[str, ...] = ()
    ) -> None:
        self.kubeconfig = kubeconfig
        self.service_accounts = service_accounts
        self.namespace = namespace
        self.log = log
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def description(self) -> str:
        accounts = "".join(f" --retraining-service-account {a}" for a in self.service_accounts)
        return (
            f"local process `kubedrift operator --namespace {self.namespace}{accounts}` "
            f"(log {self.log})"
        )

    def start(self, timeout: float = 120.0) -> None:
        """Start it and wait for ``/healthz``; RuntimeError (with the log) if it exits."""
        command = [
            KUBEDRIFT,
            "operator",
            "--namespace",
            self.namespace,
            "--kubeconfig",
            str(self.kubeconfig),
            "--listen",
            f"127.0.0.1:{self.port}",
            "--dataset-url",
            self.url,
            "--sidecar-image",
            "kubedrift:demo",
        ]
        for account in self.service_accounts:
            command += ["--retraining-service-account", account]
        env = {k: v for k, v in os.environ.items() if k != "KUBERNETES_SERVICE_HOST"}
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as sink:
            self.process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the operator did not start:\n{self.log.read_text()[-4000:]}")
            time.sleep(0.3)

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def metrics(self) -> str:
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=5) as answer:
            return str(answer.read().decode())

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
