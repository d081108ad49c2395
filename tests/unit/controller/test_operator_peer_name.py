"""The name the operator gives itself among kopf's peers: it must not depend on the uid having a
passwd entry, since platforms such as OpenShift (restricted SCC) run the image as an arbitrary
uid. kopf's own default asks ``getpass.getuser()``, which raises for such a uid; the real node's
test runs the chart's operator as uid 1000730000
(``tests/realnode/test_operator_arbitrary_uid.py``).
"""

from __future__ import annotations

from kubedrift.controller.operator_main import operator_identity


def no_passwd_entry() -> str:
    raise KeyError("getpwuid(): uid not found: 1000730000")


def test_the_pod_name_from_the_downward_api_names_the_operator() -> None:
    assert operator_identity({"POD_NAME": "kubedrift-5f7c9-x2x7q"}) == "kubedrift-5f7c9-x2x7q"


def test_kopfs_own_pod_id_variable_is_honoured_too() -> None:
    assert operator_identity({"POD_ID": "operator-0"}) == "operator-0"


def test_a_uid_without_passwd_entry_is_named_by_its_number() -> None:
    name = operator_identity({}, user=no_passwd_entry, uid=1000730000, host="node-1", pid=7)
    assert name == "uid-1000730000@node-1/7"


def test_outside_a_pod_a_named_user_keeps_its_name() -> None:
    assert operator_identity({}, user=lambda: "alice", host="laptop", pid=42) == "alice@laptop/42"


def test_empty_pod_name_falls_back_to_the_user() -> None:
    assert operator_identity({"POD_NAME": ""}, user=lambda: "bob", host="h", pid=1) == "bob@h/1"
