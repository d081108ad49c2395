"""containerd's configuration and the CNI network of a real node, as pure functions.

containerd 1.6 (Debian bookworm) with runc, per ``/work/shared/REAL-NODE.md``'s measurements:

- ``restrict_oom_score_adj = true``: the machine lacks ``CAP_SYS_RESOURCE``, so runc cannot
  write the -998 that the CRI plugin asks for Pod sandboxes, and every sandbox would fail
  ("runc create failed ... can't get final child's PID from pipe: EOF");
- the cgroupfs driver (``SystemdCgroup = false``): there is no systemd, and cgroups are hybrid
  v1 (crun refuses them, runc works);
- the Pod sandbox image is a local one (``catatonit -P``), since no registry is reachable;
- CNI plugins from Debian's containernetworking-plugins, in ``/usr/lib/cni``.

Everything containerd writes lives under the node's directory, and its socket too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubedrift_dev.devcluster.realnode.addresses import NodeNetwork

CNI_BIN_DIR = Path("/usr/lib/cni")
NETWORK_NAME = "kubedrift"


@dataclass(frozen=True)
class RuntimeLayout:
    """Where one node's containerd keeps its files."""

    directory: Path

    @property
    def socket(self) -> Path:
        return self.directory / "containerd.sock"

    @property
    def config(self) -> Path:
        return self.directory / "config.toml"

    @property
    def cni_conf_dir(self) -> Path:
        return self.directory / "net.d"


def _toml_string(value: str | Path) -> str:
    return json.dumps(str(value))  # a JSON string is a TOML basic string for these values


def containerd_config(layout: RuntimeLayout, sandbox_image: str) -> str:
    """containerd's ``config.toml`` (version 2, understood by containerd 1.6 and 1.7)."""
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    q = _toml_string
    return "\n".join([
        "version = 2",
        f"root = {q(layout.directory / 'root')}",
        f"state = {q(layout.directory / 'state')}",
        "oom_score = 0",
        "[grpc]",
        f"  address = {q(layout.socket)}",
        '[plugins."io.containerd.internal.v1.opt"]',
        f"  path = {q(layout.directory / 'opt')}",
        f"[{cri}]",
        f"  sandbox_image = {q(sandbox_image)}",
        "  restrict_oom_score_adj = true",
        "  disable_apparmor = true",
        '  stream_server_address = "127.0.0.1"',
        '  stream_server_port = "0"',
        # Pod network namespaces under the state directory: teardown unmounts them with the rest
        "  netns_mounts_under_state_dir = true",
        f"[{cri}.containerd]",
        '  snapshotter = "overlayfs"',
        '  default_runtime_name = "runc"',
        f"[{cri}.containerd.runtimes.runc]",
        '  runtime_type = "io.containerd.runc.v2"',
        f"[{cri}.containerd.runtimes.runc.options]",
        "  SystemdCgroup = false",
        f"[{cri}.cni]",
        f"  bin_dir = {q(CNI_BIN_DIR)}",
        f"  conf_dir = {q(layout.cni_conf_dir)}",
        "  max_conf_num = 1",
        "",
    ])  # fmt: skip


def cni_conflist(network: NodeNetwork, ipam_dir: Path) -> dict[str, Any]:
    """A bridge network with host-local addresses and hostPort support (portmap).

    Pods route only their subnet (on the bridge) and the Service range (through the gateway,
    where kube-proxy's rules rewrite it): no default route, so no Pod traffic leaves the machine.
    """
    return {
        "cniVersion": "0.4.0",
        "name": NETWORK_NAME,
        "plugins": [
            {
                "type": "bridge",
                "bridge": network.bridge,
                "isGateway": True,
                "isDefaultGateway": False,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "dataDir": str(ipam_dir),
                    "ranges": [[{"subnet": network.pod_cidr, "gateway": network.gateway}]],
                    "routes": [{"dst": network.service_cidr}],
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


def write_runtime_config(layout: RuntimeLayout, network: NodeNetwork, sandbox_image: str) -> None:
    layout.directory.mkdir(parents=True, exist_ok=True)
    layout.config.write_text(containerd_config(layout, sandbox_image))
    layout.cni_conf_dir.mkdir(exist_ok=True)
    conflist = layout.cni_conf_dir / f"10-{NETWORK_NAME}.conflist"
    document = cni_conflist(network, layout.directory / "ipam")
    conflist.write_text(json.dumps(document, indent=2) + "\n")
