"""Names, labels and annotations the operator puts on the objects it creates or changes.

Every object the operator adds is findable from the monitor's name alone, so deleting a monitor
(or restarting the operator) never needs a lookup table:

- ``{monitor}-kubedrift-sidecar``: ConfigMap with the sidecar's config file and baseline.
- ``{monitor}-kubedrift-token``: Secret with the sidecar admin token and the dataset token.
- ``{monitor}-kubedrift-baseline``: ConfigMap holding a baseline adopted after a retraining.
- ``{monitor}-retrain-{n}``: the n-th retraining Job (deterministic, so a restart finds it).
"""

from __future__ import annotations

from dataclasses import dataclass

GROUP = "kubedrift.io"
VERSION = "v1alpha1"
PLURAL = "modelmonitors"
KIND = "ModelMonitor"

#: Annotation on the Deployment naming the monitor that injected the sidecar.
MONITOR_ANNOTATION = "kubedrift.io/monitor"
#: Annotation on a workload whose sidecar several monitors share (one per model, JSON):
#: ``{monitor: {"model", "hash", "sidecar"}}`` (see ``kubedrift.controller.sharing``).
MEMBERS_ANNOTATION = "kubedrift.io/monitors"
#: Pod-template annotation with the rendered sidecar config's hash (a change rolls the pods).
CONFIG_HASH_ANNOTATION = "kubedrift.io/config-hash"
#: Pod-template annotation with the model version the operator rolled out.
MODEL_VERSION_ANNOTATION = "kubedrift.io/model-version"
#: The sidecar's variable with its Pod's model version (``kubedrift.sidecar.windows``): serving
#: sidecars read it from :data:`MODEL_VERSION_ANNOTATION` (downward API, so a promotion's roll
#: updates it), candidate sidecars get the candidate's version as a value.
SIDECAR_MODEL_VERSION_ENV = "KUBEDRIFT_MODEL_VERSION"
#: Pod label that says which model a Pod serves in a live trial (shadow or canary).
MODEL_ROLE_LABEL = "kubedrift.io/model-role"
CANDIDATE_ROLE = "candidate"
#: Service annotation remembering the target ports before the sidecar took them over (JSON).
ORIGINAL_TARGET_PORTS_ANNOTATION = "kubedrift.io/original-target-ports"
#: Label on every object the operator creates, with the monitor's name.
MONITOR_LABEL = "kubedrift.io/monitor"
#: Label on retraining Jobs with their sequence number.
RETRAINING_LABEL = "kubedrift.io/retraining"
MANAGED_BY = {"app.kubernetes.io/managed-by": "kubedrift"}

#: The workload kinds a monitor can target (``spec.target.kind``) and their API resources.
WORKLOAD_RESOURCES = {"Deployment": "deployments", "StatefulSet": "statefulsets"}


def workload_resource(kind: str) -> str:
    """The apps/v1 resource of ``spec.target.kind``; an unknown kind is a Deployment (the default).

    >>> workload_resource("StatefulSet"), workload_resource("Deployment")
    ('statefulsets', 'deployments')
    """
    return WORKLOAD_RESOURCES.get(kind, "deployments")


SIDECAR_CONTAINER = "kubedrift-sidecar"
CONFIG_VOLUME = "kubedrift-config"
#: The projected volume of a shared sidecar (each member's ConfigMap in /etc/kubedrift/{monitor}).
MODELS_VOLUME = "kubedrift-models"
CONFIG_MOUNT_PATH = "/etc/kubedrift"
SIDECAR_TOKEN_KEY = "sidecar-token"
DATASET_TOKEN_KEY = "dataset-token"
ADOPTED_BASELINE_KEY = "baseline.json"


@dataclass(frozen=True)
class MonitorRef:
    """Identity of one ModelMonitor: enough to name, label and own what it creates."""

    namespace: str
    name: str
    uid: str

    @property
    def sidecar_config_map(self) -> str:
        return f"{self.name}-kubedrift-sidecar"

    @property
    def token_secret(self) -> str:
        return f"{self.name}-kubedrift-token"

    @property
    def adopted_baseline_config_map(self) -> str:
        return f"{self.name}-kubedrift-baseline"

    def job_name(self, number: int) -> str:
        """The ``number``-th retraining Job (1-based)."""
        return f"{self.name}-retrain-{number}"

    def labels(self) -> dict[str, str]:
        return {**MANAGED_BY, MONITOR_LABEL: self.name}

    def owner_reference(self) -> dict[str, object]:
        """Makes the monitor the controller of an object, so deleting it collects the object."""
        return {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": KIND,
            "name": self.name,
            "uid": self.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }
