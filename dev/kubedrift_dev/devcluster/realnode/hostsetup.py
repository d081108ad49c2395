"""What a real node changes on the host, and how it is undone: the bridge, routes, forwarding
rules, the node's cgroup root, and everything its Pods leave behind (processes, mounts,
network namespaces).

Setup, in order: ``net.ipv4.ip_forward=1`` (Pods reach Services through the host), bridge
``kdbrN`` with the gateway address, the Service range routed to the bridge (so an address that
kube-proxy did not rewrite stays on the machine), FORWARD rules that drop anything between the
bridge and any other interface, and cgroup ``/kubedrift-N`` in every v1 hierarchy.
Teardown reverses it and also kills whatever still runs in the node's cgroups and unmounts what
is mounted under the node's directory (containerd keeps the Pods' network namespaces there).
Every step of teardown is best effort and may run more than once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from kubedrift_dev.devcluster.realnode.addresses import NodeNetwork
from kubedrift_dev.devcluster.realnode.node_config import cgroup_root

CGROUP_MOUNT = Path("/sys/fs/cgroup")
#: the kubelet links every container log here (a constant of the kubelet, not configurable)
CONTAINER_LOG_LINKS = Path("/var/log/containers")
IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")
KUBELET_CHAIN_PREFIXES = ("KUBE-FIREWALL", "KUBE-KUBELET-CANARY", "KUBE-IPTABLES-HINT")


class HostSetupError(RuntimeError):
    """A command that sets up the node's network failed."""


def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise HostSetupError(f"{' '.join(argv)} failed: {result.stderr.strip()}")
    return result


def forward_rules(network: NodeNetwork) -> list[list[str]]:
    """iptables filter rules (without the -I/-D verb) that keep Pod traffic on the bridge."""
    bridge = network.bridge
    return [
        ["FORWARD", "-i", bridge, "!", "-o", bridge, "-j", "DROP"],
        ["FORWARD", "-o", bridge, "!", "-i", bridge, "-j", "DROP"],
    ]


def cgroup_dirs(network: NodeNetwork) -> list[Path]:
    """The node's cgroup root in each mounted hierarchy."""
    name = cgroup_root(network).lstrip("/")
    return sorted(h / name for h in CGROUP_MOUNT.iterdir() if h.is_dir() and os.path.ismount(h))


@dataclass
class HostSetup:
    """Apply and undo one real node's changes to the host."""

    network: NodeNetwork
    node_dir: Path
    _ip_forward_before: str | None = None

    def apply(self) -> None:
        self._ip_forward_before = IP_FORWARD.read_text().strip()
        IP_FORWARD.write_text("1\n")
        bridge, gateway = self.network.bridge, self.network.gateway
        _run("ip", "link", "del", bridge, check=False)
        _run("ip", "link", "add", bridge, "type", "bridge")
        _run("ip", "addr", "add", f"{gateway}/24", "dev", bridge)
        _run("ip", "link", "set", bridge, "up")
        _run("ip", "route", "replace", self.network.service_cidr, "dev", bridge)
        for rule in forward_rules(self.network):
            if _run("iptables", "-C", *rule, check=False).returncode != 0:
                _run("iptables", "-I", *rule)
        for directory in cgroup_dirs(self.network):
            directory.mkdir(exist_ok=True)
            if directory.parent.name == "cpuset":
                for name in ("cpuset.cpus", "cpuset.mems"):
                    (directory / name).write_text((directory.parent / name).read_text())

    def undo(self) -> None:
        self.kill_leftovers()
        self.unmount_leftovers()
        self.remove_log_links()
        for rule in forward_rules(self.network):
            _run("iptables", "-D", *rule, check=False)
        remove_kubelet_chains()
        _run("ip", "route", "del", self.network.service_cidr, check=False)
        # A Pod's network namespace can outlive the unmount (a mount namespace created
        # meanwhile elsewhere holds a copy), and its veth pair with it: delete the host ends.
        listing = _run("ip", "-o", "link", "show", "master", self.network.bridge, check=False)
        for line in listing.stdout.splitlines():
            _run("ip", "link", "del", line.split(":")[1].strip().split("@")[0], check=False)
        _run("ip", "link", "del", self.network.bridge, check=False)
        for directory in cgroup_dirs(self.network):
            _remove_cgroup_tree(directory)
        if self._ip_forward_before is not None:
            IP_FORWARD.write_text(self._ip_forward_before + "\n")
            self._ip_forward_before = None

    def kill_leftovers(self) -> None:
        """SIGKILL every process in the node's cgroups (containers, sandboxes) and every
        containerd shim serving this node."""
        socket = str(self.node_dir)
        for pid in _pids_with_cmdline_containing(socket, "containerd-shim"):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for directory in cgroup_dirs(self.network):
            for procs in directory.rglob("cgroup.procs"):
                with contextlib.suppress(OSError):
                    for line in procs.read_text().split():
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(int(line), signal.SIGKILL)

    def remove_log_links(self) -> None:
        """Remove the kubelet's links in /var/log/containers to this node's container logs."""
        prefix = str(self.node_dir.resolve()) + "/"
        with contextlib.suppress(FileNotFoundError):
            for link in CONTAINER_LOG_LINKS.iterdir():
                with contextlib.suppress(OSError):
                    if link.is_symlink() and os.readlink(link).startswith(prefix):
                        link.unlink()

    def unmount_leftovers(self) -> None:
        """Lazily unmount everything mounted under the node's directory, deepest first."""
        prefix = str(self.node_dir.resolve()) + "/"
        mounts = [m for m in _mount_points() if m.startswith(prefix)]
        for mount_point in sorted(mounts, key=len, reverse=True):
            _run("umount", "-l", mount_point, check=False)


def kubelet_chain_cleanup(rules: str) -> list[list[str]]:
    """The iptables commands (without the binary and table) that remove the kubelet's chains
    (``KUBE-FIREWALL``, ``KUBE-KUBELET-CANARY``, ``KUBE-IPTABLES-HINT``) from one table whose
    ``iptables -S`` output is ``rules``: first the rules that jump to them, then the chains."""
    commands = []
    for line in rules.splitlines():
        words = line.split()
        in_other_chain = words[:1] == ["-A"] and not words[1].startswith(KUBELET_CHAIN_PREFIXES)
        target = words[words.index("-j") + 1] if "-j" in words else ""
        if in_other_chain and target.startswith(KUBELET_CHAIN_PREFIXES):
            commands.append(["-D", *words[1:]])
    for line in rules.splitlines():
        words = line.split()
        if words[:1] == ["-N"] and words[1].startswith(KUBELET_CHAIN_PREFIXES):
            commands += [["-F", words[1]], ["-X", words[1]]]
    return commands


def remove_kubelet_chains() -> None:
    """The kubelet adds its chains to the host's tables and never removes them."""
    for binary in ("iptables", "ip6tables"):
        for table in ("filter", "nat", "mangle"):
            rules = _run(binary, "-t", table, "-S", check=False).stdout
            for command in kubelet_chain_cleanup(rules):
                _run(binary, "-t", table, *command, check=False)


def _mount_points() -> list[str]:
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        raw = line.split()[4]
        points.append(raw.encode().decode("unicode_escape"))  # octal escapes such as \040
    return points


def _pids_with_cmdline_containing(text: str, program: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if program in cmdline and text in cmdline:
                pids.append(int(entry.name))
    return pids


def _remove_cgroup_tree(directory: Path) -> None:
    if not directory.exists():
        return
    for child in sorted(
        (p for p in directory.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)
    ):
        with contextlib.suppress(OSError):
            child.rmdir()
    with contextlib.suppress(OSError):
        directory.rmdir()
