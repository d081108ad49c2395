"""kopf settings chosen by the operator, the evaluation interval read from a body, and what the
operator drops from the bodies kopf keeps."""

from __future__ import annotations

import logging

import kopf

from kubedrift.controller.handlers import (
    FINALIZER,
    configure,
    evaluation_interval,
    forget_field_owners,
)


def test_watch_streams_never_idle_silently_and_bookkeeping_is_ours() -> None:
    settings = kopf.OperatorSettings()

    configure(settings, peering=None, reporter="kubedrift-operator")

    assert settings.watching.server_timeout is not None
    assert settings.watching.client_timeout is not None
    assert settings.watching.server_timeout < settings.watching.client_timeout
    assert settings.posting.level == logging.WARNING
    assert settings.persistence.finalizer == FINALIZER == "kubedrift.io/finalizer"
    assert isinstance(settings.persistence.progress_storage, kopf.AnnotationsProgressStorage)
    assert settings.peering.standalone is True


def test_peering_name_makes_peering_mandatory_for_several_replicas() -> None:
    settings = kopf.OperatorSettings()

    configure(settings, peering="kubedrift", reporter="kubedrift-operator")

    assert (settings.peering.name, settings.peering.mandatory) == ("kubedrift", True)
    assert settings.peering.standalone is False


def test_interval_comes_from_the_spec_with_the_crd_default_otherwise() -> None:
    assert evaluation_interval({"spec": {"evaluation": {"interval": "45s"}}}) == 45.0
    assert evaluation_interval({"spec": {"evaluation": {"interval": "2m"}}}) == 120.0
    assert evaluation_interval({"spec": {}}) == 30.0
    assert evaluation_interval({"spec": {"evaluation": {"interval": "soon"}}}) == 30.0


def test_watch_timeout_is_sent_as_whole_seconds_with_the_client_waiting_longer() -> None:
    settings = kopf.OperatorSettings()

    configure(settings, peering=None, reporter="kubedrift-operator", watch_timeout=15)

    assert (settings.watching.server_timeout, settings.watching.client_timeout) == (15, 45)
    assert str(settings.watching.server_timeout) == "15"  # timeoutSeconds is an integer


def test_field_owners_are_dropped_from_the_watched_object_and_nothing_else() -> None:
    event = {
        "type": "MODIFIED",
        "object": {
            "metadata": {
                "name": "m",
                "annotations": {"kubedrift.io/last-handled-configuration": "{}"},
                "managedFields": [{"manager": "kubedrift", "operation": "Update"}],
            },
            "spec": {"target": {"deployment": "m"}},
        },
    }

    forget_field_owners(event)

    assert event == {
        "type": "MODIFIED",
        "object": {
            "metadata": {
                "name": "m",
                "annotations": {"kubedrift.io/last-handled-configuration": "{}"},
            },
            "spec": {"target": {"deployment": "m"}},
        },
    }


def test_an_event_without_metadata_is_left_alone() -> None:
    event: dict[str, object] = {"type": "DELETED", "object": {}}

    forget_field_owners(event)

    assert event == {"type": "DELETED", "object": {}}
