"""The rendered sidecar ConfigMap: a config the sidecar accepts, and a hash that tracks content."""

from __future__ import annotations

import yaml

from kubedrift.api.spec import ModelMonitorSpec
from kubedrift.controller.sidecar_config import (
    build_config_map,
    config_hash,
    render_config_map_data,
    render_sidecar_config,
)
from kubedrift.payloads.model import Naming
from kubedrift.sidecar.config import config_from_mapping
from support.controller_samples import MONITOR, make_spec


def test_rendered_config_is_accepted_by_the_sidecar_with_the_spec_values(
    spec: ModelMonitorSpec,
) -> None:
    data = render_config_map_data(spec, '{"baseline": true}')
    config = config_from_mapping(yaml.safe_load(data["sidecar.yaml"]))

    assert config.mode == "proxy"
    assert config.baseline == "/etc/kubedrift/baseline.json"
    assert config.sample_rate == 1.0
    assert (config.window.samples, config.window.max_age_seconds) == (500, 600.0)
    assert config.window.min_samples == 50
    assert config.label_ttl == 86400.0
    assert config.token_env == "KUBEDRIFT_SIDECAR_TOKEN"
    assert config.monitor_priority == "idle"
    assert data["baseline.json"] == '{"baseline": true}'


def test_monitor_priority_reaches_the_sidecar() -> None:
    spec = make_spec(capture={"mode": "proxy", "monitorPriority": "low"})

    config = config_from_mapping(render_sidecar_config(spec))

    assert config.monitor_priority == "low"


def test_json_protocol_paths_reach_the_sidecar() -> None:
    spec = make_spec(
        capture={
            "protocol": "json",
            "json": {"features": "request.rows", "prediction": "response.scores"},
        }
    )
    config = config_from_mapping(render_sidecar_config(spec))

    assert config.parse.json_paths.features == "request.rows"
    assert config.parse.json_paths.prediction == "response.scores"


def test_hash_changes_with_the_baseline_and_not_with_key_order(spec: ModelMonitorSpec) -> None:
    one = render_config_map_data(spec, "a")

    assert config_hash(one) == config_hash(dict(reversed(list(one.items()))))
    assert config_hash(one) != config_hash(render_config_map_data(spec, "b"))
    assert len(config_hash(one)) == 16


def test_config_map_is_owned_and_labelled_by_the_monitor() -> None:
    body = build_config_map(MONITOR, {"k": "v"})

    assert body["metadata"] == {
        "name": "fraud-kubedrift-sidecar",
        "namespace": "ml",
        "labels": {"app.kubernetes.io/managed-by": "kubedrift", "kubedrift.io/monitor": "fraud"},
        "ownerReferences": [
            {
                "apiVersion": "kubedrift.io/v1alpha1",
                "kind": "ModelMonitor",
                "name": "fraud",
                "uid": "uid-1",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    }
    assert body["data"] == {"k": "v"}


def test_model_feature_names_and_classes_reach_the_sidecar() -> None:
    spec = make_spec(
        target={"deployment": "model", "port": 8080, "model": "iris"},
        capture={
            "features": {"positions": ["a", "b"], "names": [{"payload": "x", "feature": "a"}]},
            "classes": {"names": ["high", "low"]},
        },
    )

    config = config_from_mapping(render_sidecar_config(spec))

    assert config.model == "iris"
    assert config.parse.naming == Naming(("a", "b"), (("x", "a"),), ("high", "low"))


def test_classes_from_the_baseline_reach_the_sidecar() -> None:
    spec = make_spec(capture={"classes": {"fromBaseline": True}})

    config = config_from_mapping(render_sidecar_config(spec))

    assert (config.classes_from_baseline, config.parse.naming.classes) == (True, ())


def test_the_prediction_output_and_its_reduction_reach_the_sidecar() -> None:
    spec = make_spec(capture={"predictionOutput": "predict_proba", "predictionReduce": "first"})

    config = config_from_mapping(render_sidecar_config(spec))

    assert (config.parse.prediction_output, config.parse.prediction_reduce) == (
        "predict_proba",
        "first",
    )


def test_by_default_the_first_output_is_reduced_by_argmax() -> None:
    config = config_from_mapping(render_sidecar_config(make_spec(capture={})))

    assert (config.parse.prediction_output, config.parse.prediction_reduce) == (None, "argmax")


def test_a_shadow_url_reaches_the_sidecar_only_while_a_trial_runs(spec: ModelMonitorSpec) -> None:
    plain = render_config_map_data(spec, "{}")
    trial = render_config_map_data(spec, "{}", "http://10.0.0.7:8480")

    assert config_from_mapping(yaml.safe_load(plain["sidecar.yaml"])).shadow_url is None
    config = config_from_mapping(yaml.safe_load(trial["sidecar.yaml"]))
    assert config.shadow_url == "http://10.0.0.7:8480"
    assert config_hash(plain) != config_hash(trial)  # the serving Pods roll to pick it up
