"""`python -m kubedrift_dev demo`: the whole loop in one command (``make demo``).

On a local control plane started for the run (from ``tests/controlplane/build.sh``'s binaries)
and stopped at the end, or on the cluster in ``$KUBECONFIG`` when ``KUBEDRIFT_DEMO_KUBECONFIG`` is
set (``1``, or a kubeconfig path). The operator runs in-cluster through the Helm chart when helm
is available (``tests/tools/build.sh`` or ``PATH``), else as a local ``kubedrift operator``
process; the output says which.
Then: model v1 trained on dataset A is deployed with its baseline and a ModelMonitor, traffic A
then B then C flows with labels, and the table shows each step; the summary, the plot and what to
look at in the cluster follow. Exit code 0 when the loop closed (every shift retrained and
rolled out), 1 when it did not, 2 when the demo could not run.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

NAMESPACE = "kubedrift-demo"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--plot",
        type=Path,
        default=Path("kubedrift-demo.png"),
        help="where to write the PNG plot (default: %(default)s)",
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=Path(".kubedrift-demo"),
        help="control plane, operator log, dataset A (default: %(default)s)",
    )
    parser.add_argument(
        "--namespace",
        default=NAMESPACE,
        help="namespace of the demo's objects (default: %(default)s)",
    )
    parser.add_argument(
        "--scenario",
        choices=["shift", "steady"],
        default="shift",
        help="shift: A, then B, then C; steady: A only, same length",
    )
    parser.add_argument(
        "--operator",
        choices=["auto", "chart", "local"],
        default="auto",
        help="auto: in-cluster through charts/kubedrift when helm is available, else (or if "
        "the chart fails) a local `kubedrift operator` process (default: %(default)s)",
    )
    parser.add_argument(
        "--node",
        choices=["standin", "real"],
        default="standin",
        help="the local control plane's node: the process stand-in, or a real kubelet on "
        "containerd running the operator from the project image and the model server and "
        "retraining Job from the demo image (dev/Dockerfile), both built by "
        "tests/node/images.sh; `make demo NODE=real` (default: %(default)s)",
    )
    parser.add_argument(
        "--image",
        default=os.environ.get("KUBEDRIFT_DEMO_IMAGE", "ghcr.io/kubedrift/kubedrift:latest"),
        help="image of the model server and the retraining Job (a real cluster needs one "
        "with kubedrift installed and the repository's dev/ on PYTHONPATH, for kubedrift_dev; "
        "the local control plane runs them as local processes)",
    )


def _external_kubeconfig() -> Path | None:
    value = os.environ.get("KUBEDRIFT_DEMO_KUBECONFIG", "")
    if not value:
        return None
    if value.lower() in ("1", "true", "yes"):
        return Path(os.environ.get("KUBECONFIG", str(Path.home() / ".kube" / "config")))
    return Path(value)


def run(args: argparse.Namespace) -> int:
    from kubedrift_dev.demo.demo_run import DemoSession  # noqa: PLC0415 - keep --help light

    session = DemoSession(
        work_dir=args.work_dir.resolve(),
        namespace=args.namespace,
        image=args.image,
        external_kubeconfig=_external_kubeconfig(),
        write=lambda line: print(line, flush=True),
        operator_mode=args.operator,
        node=args.node,
    )
    try:
        closed = session.run(args.scenario, args.plot)
    except KeyboardInterrupt:
        print("interrupted; cleaning up", file=sys.stderr)
        return 2
    except Exception as error:
        print(f"python -m kubedrift_dev demo: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    finally:
        session.close()
    return 0 if closed else 1
