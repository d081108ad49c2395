"""Sidecar proxy bench: throughput, added latency and CPU against peers, in one run on loopback.

Variants, each in front of the same upstream (nginx returning a fixed 1 KB-class OIP v2 answer):
(a) direct, (b) nginx as a reverse proxy, (c) a minimal aiohttp proxy, (d) the sidecar at 10% and
at 100% sampling, and the sidecar at 10% on the stock asyncio loop (the uvloop decision). For each:

- saturation: ``wrk`` (one thread, 64 connections) with a Lua check of every response body;
- latency at a constant 1000 req/s: ``bench/sidecar_loadgen.py`` (open loop, own process), ten
  rounds of 3 s runs in which every variant runs once in turn (all servers stay up for the whole
  bench; single runs of one variant differ by tens of microseconds, more rounds of shorter runs
  give steadier medians than three long ones);
  "added" latency is the median over rounds of the variant's minus direct's in the same round;
- CPU: the proxy processes' user+system seconds during the latency runs, per 1000 requests; for
  the sidecar also split into its proxy process and its monitor process, and the proxy process's
  CPU per 1000 requests at saturation (what 100% sampling costs the request path itself).

Placement: with two CPUs or more the load generators (wrk and the open-loop generator) run on one
CPU and every server (upstream, proxies, both sidecar processes) on another, as a client on its own
machine and a Pod with one core would; the open-loop generator then spins on its CPU, so requests
leave on time and responses are seen as they arrive (a sleeping generator wakes up to a millisecond
late, in bursts, and that lateness showed up as latency). With one CPU nothing is pinned and the
generator sleeps. A peer the issue does not name, Go's ``httputil.ReverseProxy``
(``bench/goproxy``), runs when a Go toolchain is on ``PATH``: a compiled proxy of the usual kind.

``python -m bench.sidecar_proxy [--quick]``; wrk and nginx come from ``bench/sidecar_install.sh``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kubedrift.stats.baseline import build_baseline

HERE = Path(__file__).resolve().parent
PATH = "/v2/models/m/infer"
FEATURES = 90
#: Targets from issue 4, as ratios measured in the same run.
TARGET_THROUGHPUT_VS_AIOHTTP = 3.0
TARGET_LATENCY_VS_NGINX = 2.0
TARGET_CPU_PER_1000 = 0.15
TARGET_FULL_SAMPLING_COST = 0.15
#: The sidecar variants: name, sample rate, event loop, cap on samples per second.
SIDECARS = (
    ("sidecar-10%", "0.1", "auto", "1000000"),
    ("sidecar-100%", "1.0", "auto", "1000000"),
    ("sidecar-10%-asyncio", "0.1", "asyncio", "1000000"),
    ("sidecar-100%-cap200", "1.0", "auto", "200"),
)


def placement() -> tuple[list[str], list[str]]:
    """``taskset`` prefixes for the load generators and for the servers (empty on one CPU)."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return [], []
    return ["taskset", "-c", str(cpus[0])], ["taskset", "-c", str(cpus[1])]


def build_goproxy() -> Path | None:
    """The Go peer, built once per source into ``~/.cache/kubedrift`` (None without Go)."""
    source = HERE / "goproxy"
    if shutil.which("go") is None:
        return None
    digest = hashlib.sha256(
        b"".join(path.read_bytes() for path in sorted(source.iterdir()))
    ).hexdigest()[:16]
    binary = Path.home() / ".cache" / "kubedrift" / "bench" / f"goproxy-{digest}"
    if not binary.exists():
        binary.parent.mkdir(parents=True, exist_ok=True)
        built = subprocess.run(
            ["go", "build", "-trimpath", "-o", str(binary), "."], cwd=source, check=False
        )
        if built.returncode != 0:
            return None
    return binary


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def payloads() -> tuple[bytes, bytes]:
    """A ~1 KB OIP v2 request (one row of 90 features) and the upstream's fixed answer."""
    rng = np.random.default_rng(0)
    values = [round(float(v), 5) for v in rng.normal(size=FEATURES)]
    request = {
        "id": "bench",
        "inputs": [{"name": "x", "shape": [1, FEATURES], "datatype": "FP64", "data": values}],
    }
    response = {
        "model_name": "m",
        "id": "bench",
        "outputs": [{"name": "y", "shape": [1], "datatype": "INT64", "data": [1]}],
    }
    return json.dumps(request).encode(), json.dumps(response).encode()


def wait_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (nginx master and workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


@dataclass
class Result:
    name: str
    max_rps: float = float("nan")
    wrk_mismatches: int = 0
    p50: float = float("nan")
    p90: float = float("nan")
    p99: float = float("nan")
    cpu_per_1000: float | None = None
    #: The sidecar's split of ``cpu_per_1000``: proxy process, monitor process.
    cpu_split: tuple[float, float] | None = None
    #: The sidecar's proxy process, CPU seconds per 1000 requests during the saturation run.
    saturated_proxy_cpu: float | None = None
    mismatches: int = 0
    runs: list[dict[str, float]] = field(default_factory=list)
    #: Latency added over direct, per percentile: the median over rounds of (this variant's run
    #: minus direct's run of the same round).
    added: dict[str, float] = field(default_factory=dict)


@dataclass
class Variant:
    """A server under test, started for the whole bench; ``pids`` are the processes whose CPU is
    counted (for the sidecar: its proxy process, then its monitor process)."""

    name: str
    port: int
    pids: list[int]
    split: bool = False
    admin: int | None = None
    result: Result = field(init=False)
    cpu: float = 0.0
    proxy_cpu: float = 0.0

    def __post_init__(self) -> None:
        self.result = Result(self.name)


class Bench:
    def __init__(self, workdir: Path, quick: bool) -> None:
        self.workdir = workdir
        self.saturation_seconds = 3 if quick else 8
        self.latency_seconds = 2 if quick else 3
        self.latency_rounds = 3 if quick else 10
        self.request, self.response = payloads()
        (workdir / "request.json").write_bytes(self.request)
        (workdir / "response.json").write_bytes(self.response)
        (workdir / "check.lua").write_text(self.lua())
        self.upstream_port = free_port()
        self.client, self.server = placement()

    def lua(self) -> str:
        return (
            'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
            f"wrk.body = [[{self.request.decode()}]]\n"
            f"local expected = [[{self.response.decode()}]]\n"
            "local threads = {}\nfunction setup(thread) table.insert(threads, thread) end\n"
            "function init(args) bad = 0 end\n"
            "function response(status, headers, body)\n"
            "  if status ~= 200 or body ~= expected then bad = bad + 1 end\nend\n"
            "function done(summary, latency, requests)\n  local total = 0\n"
            '  for _, t in ipairs(threads) do total = total + t:get("bad") end\n'
            '  io.write(string.format("MISMATCHES %d\\n", total))\nend\n'
        )

    def nginx_conf(self, name: str, body: str) -> Path:
        path = self.workdir / f"{name}.conf"
        path.write_text(
            f"worker_processes 1;\ndaemon off;\npid {self.workdir}/{name}.pid;\n"
            f"error_log {self.workdir}/{name}.err;\nevents {{ worker_connections 4096; }}\n"
            f"http {{\n  access_log off;\n  client_body_temp_path {self.workdir};\n"
            f"  proxy_temp_path {self.workdir};\n  fastcgi_temp_path {self.workdir};\n"
            f"  uwsgi_temp_path {self.workdir};\n  scgi_temp_path {self.workdir};\n"
            f"  keepalive_requests 10000000;\n{body}\n}}\n"
        )
        return path

    @contextmanager
    def process(self, command: list[str], port: int) -> Iterator[subprocess.Popen[bytes]]:
        process = subprocess.Popen(
            [*self.server, *command],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.workdir,
        )
        try:
            wait_port(port)
            yield process
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()

    @contextmanager
    def upstream(self) -> Iterator[None]:
        conf = self.nginx_conf(
            "upstream",
            f"  server {{ listen 127.0.0.1:{self.upstream_port};\n"
            "    location / { default_type application/json;\n"
            f"      return 200 '{self.response.decode()}'; }} }}",
        )
        with self.process(["nginx", "-c", str(conf), "-p", str(self.workdir)], self.upstream_port):
            yield

    def saturate(self, port: int) -> tuple[float, int, int]:
        out = subprocess.run(
            [*self.client, "wrk", "-t1", "-c64", f"-d{self.saturation_seconds}s",
             "-s", str(self.workdir / "check.lua"),
             f"http://127.0.0.1:{port}{PATH}"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        rps = float(
            next(line for line in out.splitlines() if line.startswith("Requests/sec")).split()[1]
        )
        mismatches = int(
            next(line for line in out.splitlines() if line.startswith("MISMATCHES")).split()[1]
        )
        non_2xx = [
            line for line in out.splitlines() if "Non-2xx" in line or "Socket errors" in line
        ]
        requests = int(next(line for line in out.splitlines() if "requests in" in line).split()[0])
        return (
            rps,
            requests,
            mismatches
            + sum(
                int(x) for line in non_2xx for x in line.replace(",", " ").split() if x.isdigit()
            ),
        )

    def latency_run(self, port: int) -> dict[str, float]:
        out = subprocess.run(
            [*self.client, sys.executable, str(HERE / "sidecar_loadgen.py"),
             "--port", str(port), "--path", PATH, "--wait", "spin" if self.client else "sleep",
             "--rate", "1000", "--duration", str(self.latency_seconds),
             "--body-file", str(self.workdir / "request.json"),
             "--expect-file", str(self.workdir / "response.json")],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        return dict(json.loads(out))

    def saturation(self, variant: Variant) -> None:
        """Warm up, then saturate with wrk; for the sidecar, its proxy process's CPU per 1000."""
        result, port = variant.result, variant.port
        warm_up = [*self.client, "wrk", "-t1", "-c8", "-d1s", "-s", str(self.workdir / "check.lua")]
        subprocess.run([*warm_up, f"http://127.0.0.1:{port}{PATH}"],
                       capture_output=True, check=True)  # fmt: skip  # warm-up
        proxy_before = cpu_seconds(variant.pids[:1])
        result.max_rps, saturated, result.wrk_mismatches = self.saturate(port)
        if variant.split:
            result.saturated_proxy_cpu = (cpu_seconds(variant.pids[:1]) - proxy_before) / (
                saturated / 1000
            )
        print(f"  {variant.name}: {result.max_rps:,.0f} req/s", flush=True)

    def latency(self, variant: Variant) -> dict[str, float]:
        """One latency run at 1000 req/s, counting the variant's CPU during it."""
        before, proxy_before = cpu_seconds(variant.pids), cpu_seconds(variant.pids[:1])
        run = self.latency_run(variant.port)
        variant.cpu += cpu_seconds(variant.pids) - before
        variant.proxy_cpu += cpu_seconds(variant.pids[:1]) - proxy_before
        variant.result.runs.append(run)
        return run

    def finish(self, variant: Variant, direct: Variant) -> Result:
        """Medians over the rounds, added latency per round against direct, CPU per 1000."""
        result = variant.result
        result.p50, result.p90, result.p99 = (
            statistics.median(run[q] for run in result.runs) for q in ("p50", "p90", "p99")
        )
        result.added = {
            q: statistics.median(
                mine[q] - theirs[q]
                for mine, theirs in zip(result.runs, direct.result.runs, strict=True)
            )
            for q in ("p50", "p90", "p99")
        }
        result.mismatches = int(sum(run["mismatches"] + run["errors"] for run in result.runs))
        if variant.pids:
            thousands = sum(run["requests"] for run in result.runs) / 1000
            result.cpu_per_1000 = variant.cpu / thousands
            if variant.split:
                proxy = variant.proxy_cpu / thousands
                result.cpu_split = (proxy, result.cpu_per_1000 - proxy)
        return result

    def sidecar_command(
        self, port: int, admin: int, rate: str, loop: str, cap: str = "1000000"
    ) -> list[str]:
        return [
            sys.executable, "-m", "kubedrift", "sidecar", "--listen", f"127.0.0.1:{port}",
            "--admin", f"127.0.0.1:{admin}", "--upstream", f"http://127.0.0.1:{self.upstream_port}",
            "--baseline", str(self.workdir / "baseline.json"), "--sample-rate", rate,
            "--max-samples-per-second", cap, "--event-loop", loop, "--log-level", "WARNING",
        ]  # fmt: skip

    def interleaved(self, ports: tuple[int, int], rounds: int = 3) -> tuple[float, float, int]:
        """Median max req/s of the sidecar at 10% and at 100% sampling (``ports``), and the bad
        responses.

        The two sidecars are saturated in turn, ``rounds`` times: a change in the machine's load
        between two sequential measurements (minutes apart on a shared machine) would otherwise
        decide their ratio. A second's pause before each run lets the other sidecar's monitor
        work off its queue.
        """
        bad = 0
        rates: tuple[list[float], list[float]] = ([], [])
        for _ in range(rounds):
            for index, port in enumerate(ports):
                time.sleep(1.0)
                rps, _, mismatches = self.saturate(port)
                rates[index].append(rps)
                bad += mismatches
        print(f"  10%: {rates[0]}, 100%: {rates[1]} req/s", flush=True)
        return statistics.median(rates[0]), statistics.median(rates[1]), bad

    def metrics_line(self, variant: Variant) -> str:
        metrics = subprocess.run(
            ["curl", "-s", f"http://127.0.0.1:{variant.admin}/metrics"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        counters = ("kubedrift_samples_total", "kubedrift_samples_dropped_total",
                    "kubedrift_rows_total")  # fmt: skip
        return ", ".join(line for line in metrics.splitlines() if line.startswith(counters))

    def run(self) -> tuple[list[Result], tuple[float, float, int]]:
        """Every variant runs for the whole bench. Saturation one variant after the other; latency
        in rounds of every variant in turn (direct included, the order rotating), so a change in
        the machine's state between minutes apart shows in every variant's round alike."""
        rng = np.random.default_rng(1)
        columns = {f"x-{i}": rng.normal(size=2000) for i in range(FEATURES)}
        (self.workdir / "baseline.json").write_text(
            build_baseline({**columns, "p": rng.integers(0, 2, 2000)}, prediction="p").to_json()
        )
        with self.upstream(), ExitStack() as stack:
            direct = Variant("direct", self.upstream_port, [])
            variants = [direct]
            port = free_port()
            conf = self.nginx_conf(
                "proxy",
                f"  upstream model {{ server 127.0.0.1:{self.upstream_port}; keepalive 64; }}\n"
                f"  server {{ listen 127.0.0.1:{port};\n    location / {{ proxy_pass http://model;\n"
                '      proxy_http_version 1.1; proxy_set_header Connection "";\n'
                "      proxy_buffering off; } }",
            )
            nginx = stack.enter_context(
                self.process(["nginx", "-c", str(conf), "-p", str(self.workdir)], port)
            )
            variants.append(Variant("nginx", port, process_tree(nginx.pid)))
            port = free_port()
            naive = stack.enter_context(
                self.process(
                    [
                        sys.executable,
                        str(HERE / "sidecar_aiohttp_proxy.py"),
                        str(port),
                        str(self.upstream_port),
                    ],
                    port,
                )
            )
            variants.append(Variant("aiohttp", port, [naive.pid]))
            goproxy = build_goproxy()
            if goproxy is None:
                print("go net/http peer skipped: no Go toolchain on PATH (or its build failed)")
            else:
                port = free_port()
                upstream = f"http://127.0.0.1:{self.upstream_port}"
                go = stack.enter_context(
                    self.process([str(goproxy), f"127.0.0.1:{port}", upstream], port)
                )
                variants.append(Variant("go net/http", port, [go.pid]))
            for name, rate, loop, cap in SIDECARS:
                port, admin = free_port(), free_port()
                command = self.sidecar_command(port, admin, rate, loop, cap)
                sidecar = stack.enter_context(self.process(command, port))
                # Both sidecar processes: the proxy and the forked monitor.
                pids = process_tree(sidecar.pid)
                variants.append(Variant(name, port, pids, split=True, admin=admin))
            print("saturation (wrk), one variant after the other", flush=True)
            for variant in variants:
                self.saturation(variant)
            print("latency at 1000 req/s: rounds of every variant in turn", flush=True)
            for round_ in range(self.latency_rounds):
                shift = round_ % len(variants)
                order = variants[shift:] + variants[:shift]
                runs = {variant.name: self.latency(variant) for variant in order}
                print("  round " + str(round_ + 1) + ": " + ", ".join(
                    f"{v.name} p50 {runs[v.name]['p50'] * 1e3:.3f} ms" for v in variants
                ), flush=True)  # fmt: skip
            results = [self.finish(variant, direct) for variant in variants]
            for variant in variants:
                if variant.admin is not None:
                    print(f"    {variant.name}: {self.metrics_line(variant)}", flush=True)
            print("saturated in turn: the sidecar at 10% and at 100% sampling", flush=True)
            by_name = {variant.name: variant.port for variant in variants}
            interleaved = self.interleaved((by_name["sidecar-10%"], by_name["sidecar-100%"]))
        return results, interleaved


def report(results: list[Result], interleaved: tuple[float, float, int]) -> None:
    by = {r.name: r for r in results}
    print(
        "\nvariant               max req/s   added p50    added p90    added p99   CPU s/1000  bad"
    )
    for r in results:
        added_ms = [r.added[q] * 1e3 for q in ("p50", "p90", "p99")]
        cpu = f"{r.cpu_per_1000:.3f}" if r.cpu_per_1000 is not None else "   -"
        bad = r.mismatches + r.wrk_mismatches
        columns = "  ".join(f"{value:8.3f} ms" for value in added_ms)
        print(f"{r.name:20s} {r.max_rps:10,.0f}  {columns}  {cpu:>9s}  {bad}")
    side, full, nginx, naive = by["sidecar-10%"], by["sidecar-100%"], by["nginx"], by["aiohttp"]

    def added(r: Result, q: str) -> float:
        return r.added[q]

    side_cpu, full_cpu = side.cpu_per_1000 or float("nan"), full.cpu_per_1000 or float("nan")
    # (target, measured ratio, the ratio's limit, True when the limit is a minimum)
    checks = [
        ("throughput vs aiohttp", side.max_rps / naive.max_rps, TARGET_THROUGHPUT_VS_AIOHTTP, True),
        (
            "added p50 vs nginx",
            added(side, "p50") / added(nginx, "p50"),
            TARGET_LATENCY_VS_NGINX,
            False,
        ),
        (
            "added p90 vs nginx",
            added(side, "p90") / added(nginx, "p90"),
            TARGET_LATENCY_VS_NGINX,
            False,
        ),
        ("CPU s per 1000 requests", side_cpu, TARGET_CPU_PER_1000, False),
        (
            "100% vs 10% max req/s",
            interleaved[1] / interleaved[0],
            1 - TARGET_FULL_SAMPLING_COST,
            True,
        ),
        ("100% vs 10% CPU s/1000", full_cpu / side_cpu, 1 + TARGET_FULL_SAMPLING_COST, False),
    ]
    asyncio_side = by["sidecar-10%-asyncio"]
    print("\ntarget                      measured   limit   met")
    for name, ratio, limit, minimum in checks:
        met = ratio >= limit if minimum else ratio <= limit
        print(
            f"{name:26s} {ratio:8.2f}  {'>=' if minimum else '<='} {limit:4.2f}   "
            f"{'yes' if met else 'NO'}"
        )
    print(f"uvloop vs asyncio max req/s: {side.max_rps / asyncio_side.max_rps:.2f}")
    go = by.get("go net/http")
    if go is not None:
        print(
            "sidecar 10% vs go net/http (not a target): added p50 "
            f"{added(side, 'p50') / added(go, 'p50'):.2f}x, p90 "
            f"{added(side, 'p90') / added(go, 'p90'):.2f}x, max req/s "
            f"{side.max_rps / go.max_rps:.2f}x, CPU s/1000 "
            f"{side_cpu / (go.cpu_per_1000 or float('nan')):.2f}x"
        )
    print("\nsidecar CPU s/1000    proxy process   monitor process   proxy at saturation")
    for r in results:
        if r.cpu_split is not None and r.saturated_proxy_cpu is not None:
            proxy, monitor = r.cpu_split
            print(f"{r.name:20s} {proxy:12.3f}  {monitor:16.3f}  {r.saturated_proxy_cpu:20.3f}")
    print(
        f"100% vs 10% max req/s: median of 3 alternating runs ({interleaved[1]:,.0f} / "
        f"{interleaved[0]:,.0f}); the sequential runs above: {full.max_rps / side.max_rps:.2f}"
    )
    bad = interleaved[2] + sum(r.mismatches + r.wrk_mismatches for r in results)
    print(f"\nresponses checked byte for byte (status and body): {bad} mismatches")


def main() -> int:
    parser = argparse.ArgumentParser(description="sidecar proxy bench")
    parser.add_argument(
        "--quick", action="store_true", help="shorter runs (a smoke test of the bench)"
    )
    args = parser.parse_args()
    missing = [tool for tool in ("wrk", "nginx") if shutil.which(tool) is None]
    if missing:
        print(
            f"missing {', '.join(missing)}: run bench/sidecar_install.sh "
            "(apt-get install wrk nginx-light)"
        )
        return 2
    with tempfile.TemporaryDirectory(prefix="kubedrift-bench-") as workdir:
        bench = Bench(Path(workdir), args.quick)
        if bench.client:
            print(
                f"sidecar bench: load generators on CPU {bench.client[-1]}, every server on CPU "
                f"{bench.server[-1]}; the open-loop generator spins on its CPU"
            )
        else:
            print("sidecar bench on one CPU: nothing pinned, the open-loop generator sleeps")
        report(*bench.run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
