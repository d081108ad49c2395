"""What a retraining Job may ask for, beyond what the CRD's CEL rules already refuse (pure).

The CRD rejects host namespaces, hostPath volumes, privileged containers, added capabilities and
a Pod-level ServiceAccount when a ModelMonitor is applied (:mod:`kubedrift.api.template`). Two
things it cannot say, because they depend on how the operator was installed or are easy to miss
in a template, are checked here before the operator acts on a monitor:

- ``spec.retraining.serviceAccountName`` must be on the operator's allow-list
  (``--retraining-service-account``, the chart's ``retraining.allowedServiceAccounts``). Without
  it the Job runs as the namespace's ``default`` account, which is always allowed: the monitor's
  author could run a Pod as that account anyway.
- no container (init and regular) and no Pod security context may ask to run as root
  (``runAsUser: 0``), to allow privilege escalation (``allowPrivilegeEscalation: true``), to run
  unconfined (``seccompProfile.type: Unconfined``) or to see an unmasked ``/proc``
  (``procMount: Unmasked``). These are what Pod Security "restricted" forbids beyond the CRD's
  rules and what would let a Job gain more than its author holds.

A monitor that breaks the policy gets ``Ready=False`` with reason :data:`REASON` and a message
naming every offending field (and so one Warning Event, on the transition); nothing is injected
and no Job starts until the spec is fixed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kubedrift.api.spec import ModelMonitorSpec

#: ``Ready=False`` reason (and Event reason) of a monitor whose retraining breaks the policy.
REASON = "RetrainingForbidden"
_POD = "spec.retraining.template.spec.template.spec"


class PolicyViolationError(Exception):
    """The retraining template breaks the operator's policy; the message lists every field."""


@dataclass(frozen=True)
class JobPolicy:
    """The operator's rules for retraining Jobs; one per operator process (in its context).

    ``JobPolicy(frozenset({"trainer"})).check(parse_spec(body["spec"]))`` passes for a template
    that runs as ``trainer`` or the default account, and raises for one asking for root.
    """

    allowed_service_accounts: frozenset[str] = frozenset()

    def violations(self, spec: ModelMonitorSpec) -> list[str]:
        """Every reason ``spec``'s retraining Job would be refused (empty when it is allowed)."""
        retraining = spec.retraining
        if retraining is None:
            return []
        found: list[str] = []
        account = retraining.service_account_name
        if account is not None and account not in self.allowed_service_accounts:
            allowed = ", ".join(sorted(self.allowed_service_accounts)) or "none"
            found.append(
                f"spec.retraining.serviceAccountName: {account!r} is not on the operator's "
                f"allow-list (allowed: {allowed})"
            )
        template = retraining.template or {}
        pod = ((template.get("spec") or {}).get("template") or {}).get("spec") or {}
        found += _context_violations(f"{_POD}.securityContext", pod.get("securityContext"))
        for key in ("initContainers", "containers", "ephemeralContainers"):
            for index, container in enumerate(_mappings(pod.get(key))):
                where = f"{_POD}.{key}[{index}].securityContext"
                found += _context_violations(where, container.get("securityContext"))
        return found

    def check(self, spec: ModelMonitorSpec) -> None:
        """Raise :class:`PolicyViolationError` when :meth:`violations` finds anything."""
        found = self.violations(spec)
        if found:
            raise PolicyViolationError("; ".join(found))


def _context_violations(where: str, context: Any) -> list[str]:
    if not isinstance(context, Mapping):
        return []
    found = []
    if context.get("runAsUser") == 0:
        found.append(f"{where}.runAsUser: running as root (0) is not allowed")
    if context.get("allowPrivilegeEscalation") is True:
        found.append(f"{where}.allowPrivilegeEscalation: must not be true")
    if (context.get("seccompProfile") or {}).get("type") == "Unconfined":
        found.append(f"{where}.seccompProfile.type: Unconfined is not allowed")
    if context.get("procMount") == "Unmasked":
        found.append(f"{where}.procMount: Unmasked is not allowed")
    return found


def _mappings(items: Any) -> Iterable[Mapping[str, Any]]:
    return [item for item in items or [] if isinstance(item, Mapping)]
