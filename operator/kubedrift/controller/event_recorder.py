"""Posting core/v1 Events about a monitor, counting repeats on one Event as client-go does.

Transition Events (``events.transition_events``) are rare by construction, but a Warning that
holds while its cause lasts (``JobNameTaken``, ``RetrainingForbidden``: the trigger fires every
round and the Job still cannot start) would otherwise add one Event per evaluation round. The
recorder remembers the last Event it posted for each (monitor, type, reason, message) and, on a
repeat, raises that Event's ``count`` and ``lastTimestamp`` instead; ``kubectl describe`` then
shows ``(x12 over 6m)``. When that Event has expired on the API server (``--event-ttl``, one
hour by default), was deleted or cannot be patched, a new one is created. Memory is bounded:
the least recently posted keys are forgotten first.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from datetime import datetime
from typing import Any

from kubedrift.controller.client import MERGE, ApiError, KubeClient, core
from kubedrift.controller.events import Event
from kubedrift.controller.names import GROUP, KIND, VERSION, MonitorRef
from kubedrift.controller.timestamps import to_timestamp

logger = logging.getLogger(__name__)

#: Distinct Events remembered for counting repeats (client-go's correlator keeps as many).
CAPACITY = 4096
#: The API server limits an Event's message; longer ones are cut.
MESSAGE_LIMIT = 1024

_Key = tuple[str, str, str, str, str]


class EventRecorder:
    """Posts Events through ``client`` as ``reporter``; see the module docstring."""

    def __init__(self, client: KubeClient, reporter: str, capacity: int = CAPACITY) -> None:
        self.client = client
        self.reporter = reporter
        self.capacity = capacity
        #: (namespace, uid, type, reason, message) -> (Event name, count).
        self._posted: OrderedDict[_Key, tuple[str, int]] = OrderedDict()

    async def post(self, monitor: MonitorRef, event: Event, now: datetime) -> None:
        """Post ``event`` about ``monitor``, or count it on the same Event posted before."""
        message = event.message[:MESSAGE_LIMIT]
        key = (monitor.namespace, monitor.uid, event.type, event.reason, message)
        stamp = to_timestamp(now.timestamp())
        earlier = self._posted.get(key)
        if earlier is not None:
            name, count = earlier
            try:
                await self.client.patch(
                    core(monitor.namespace, "events", name),
                    {"count": count + 1, "lastTimestamp": stamp},
                    MERGE,
                )
            except ApiError as error:
                # 404: the Event expired or was deleted. Anything else (403: an operator role
                # without "patch" on events) must not cost the Event either.
                if error.status != 404:
                    logger.warning("could not count a repeat on Event %s (%s)", name, error)
            else:
                self._remember(key, name, count + 1)
                return
        created = await self.client.request(
            "POST",
            core(monitor.namespace, "events"),
            body=self._body(monitor, event, message, stamp),
        )
        self._remember(key, str(created["metadata"]["name"]), 1)

    def forget(self, monitor: MonitorRef) -> None:
        """Drop what is remembered about a deleted monitor."""
        for key in [k for k in self._posted if k[:2] == (monitor.namespace, monitor.uid)]:
            del self._posted[key]

    def _remember(self, key: _Key, name: str, count: int) -> None:
        self._posted[key] = (name, count)
        self._posted.move_to_end(key)
        while len(self._posted) > self.capacity:
            self._posted.popitem(last=False)

    def _body(self, monitor: MonitorRef, event: Event, message: str, stamp: str) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{monitor.name}.", "namespace": monitor.namespace},
            "involvedObject": {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": KIND,
                "name": monitor.name,
                "namespace": monitor.namespace,
                "uid": monitor.uid,
            },
            "type": event.type,
            "reason": event.reason,
            "message": message,
            "source": {"component": self.reporter},
            "reportingComponent": self.reporter,
            "reportingInstance": self.reporter,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
        }
