"""``bench/cluster.py --netns``: each gateway node in a network namespace of its own, as on a machine of its own.

Node N gets namespace ``ig<pid>n<N>`` and a veth pair: the root side ``ig<pid>r<N>`` holds 10.201.N.1/30, the
node's side ``ig<pid>s<N>`` (moved into the namespace) 10.201.N.2/30; ``lo`` is up in the namespace and its
default route goes through the root side. The node listens on 10.201.N.2 and is started with
``ip netns exec NAMESPACE COMMAND``, which enters the namespace and execs the command in place, so the pid the
run tracks (and signals) is uvicorn's own. HAProxy, in the root namespace, reaches each node through its veth;
the node reaches PostgreSQL, Redis and the emulator at 10.201.N.1, where the run makes them listen too.

Needs root and a working ``ip netns``; everything made here is deleted by ``stop``, which the run calls
whatever happened (a failed check, an exception, Ctrl-C, SIGTERM).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

SUBNET = "10.201.0.0/16"
NODE_PORT = 8000  # each node has its namespace to itself: the port of the unit in deploy/systemd/


class NetnsError(RuntimeError):
    """--netns cannot run here (not root, no ``ip netns``, or an ``ip`` command failed)."""


@dataclass
class NodeNetwork:
    """Where node ``index`` lives: its namespace, its address there, and the root side of its veth."""

    index: int
    namespace: str
    host: str  # 10.201.N.2, in the namespace
    gateway: str  # 10.201.N.1, the root side: the node reaches the shared services here
    veth: str  # the root side's name
    peer: str  # the node side's name (in the namespace)

    @property
    def exec_prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.namespace]

    def holds(self, pid: int) -> bool:
        """Whether process ``pid`` is in this namespace."""
        try:
            return os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(f"/run/netns/{self.namespace}").st_ino
        except OSError:
            return False


def _ip(*args: str) -> None:
    try:
        subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)
    except subprocess.CalledProcessError as error:
        raise NetnsError(f"`ip {' '.join(args)}` failed: {error.stderr.strip() or error.returncode}") from None


def preflight() -> None:
    """Refuse early, with the reason, where --netns cannot work."""
    if os.geteuid() != 0:
        raise NetnsError("--netns needs root (it adds network namespaces and veth pairs); run as root, "
                         "or without --netns (each node on a loopback address of its own)")
    if shutil.which("ip") is None:
        raise NetnsError("--netns needs the `ip` command (iproute2)")
    probe = f"ig{os.getpid()}probe"  # `ip netns list` works where adding one may not: add one, and delete it
    added = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if added.returncode != 0:
        raise NetnsError(f"--netns: `ip netns add {probe}` failed: {added.stderr.strip()}")
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    taken = subprocess.run(["ip", "-o", "-4", "addr", "show", "to", SUBNET], capture_output=True, text=True).stdout
    if taken.strip():
        raise NetnsError(f"--netns: addresses in {SUBNET} are already in use (another --netns run, or one that was "
                         f"killed before it could clean up: `ip netns list`, `ip -o addr show to {SUBNET}`):\n{taken}")


@dataclass
class Namespaces:
    """One namespace and veth pair per node, made by ``start`` and deleted by ``stop``."""

    count: int
    networks: list[NodeNetwork] = field(default_factory=list)
    made: list[NodeNetwork] = field(default_factory=list)  # what exists (partly, maybe) and must be deleted

    def __post_init__(self) -> None:
        tag = f"ig{os.getpid()}"
        self.networks = [NodeNetwork(n, f"{tag}n{n}", f"10.201.{n}.2", f"10.201.{n}.1", f"{tag}r{n}",
                                    f"{tag}s{n}")
                         for n in range(1, self.count + 1)]

    def start(self) -> None:
        preflight()
        for net in self.networks:
            self.made.append(net)
            peer = net.peer
            _ip("netns", "add", net.namespace)
            _ip("link", "add", net.veth, "type", "veth", "peer", "name", peer, "netns", net.namespace)
            _ip("addr", "add", f"{net.gateway}/30", "dev", net.veth)
            _ip("link", "set", net.veth, "up")
            _ip("-n", net.namespace, "link", "set", "lo", "up")
            _ip("-n", net.namespace, "addr", "add", f"{net.host}/30", "dev", peer)
            _ip("-n", net.namespace, "link", "set", peer, "up")
            _ip("-n", net.namespace, "route", "add", "default", "via", net.gateway)

    def stop(self) -> None:
        """Delete every veth and namespace made (the processes in them are stopped before this runs)."""
        left = []
        for net in reversed(self.made):
            if Path(f"/sys/class/net/{net.veth}").exists():
                subprocess.run(["ip", "link", "del", net.veth], capture_output=True)  # deletes its peer too
            if Path(f"/run/netns/{net.namespace}").exists():
                subprocess.run(["ip", "netns", "del", net.namespace], capture_output=True)
            if Path(f"/sys/class/net/{net.veth}").exists() or Path(f"/run/netns/{net.namespace}").exists():
                left.append(net.namespace)
        self.made = []
        if left:
            raise NetnsError(f"could not delete namespaces or veths: {', '.join(left)}")

    @property
    def gateways(self) -> list[str]:
        return [net.gateway for net in self.networks]
