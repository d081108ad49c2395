"""Helpers shared by the test suites, imported as ``support.<module>``.

``tests/`` is on ``sys.path`` through pytest's ``pythonpath`` setting (pyproject.toml) and on
mypy's path (``mypy_path``), so every test folder imports the same modules the same way; no
conftest edits ``sys.path``. The modules, by what they help test:

- waiting: ``cluster_waiting.wait_for`` polls a probe until it holds and fails the test after a
  deadline; every wait in the tests has one (pytest-timeout is only the backstop);
- the cluster: ``cluster_view`` (the ``cluster`` fixture's object), ``crd_install``,
  ``json_post``;
- the sidecar: ``sidecar_baseline``, ``sidecar_model_server``, ``sidecar_process`` (real sidecar
  processes), ``sidecar_traffic``;
- the operator: ``controller_samples`` (pure objects for unit tests), ``controller_harness``,
  ``controller_traffic``, ``operator_identity``, ``operator_fixtures`` (the ``kube`` and
  ``start_operator`` fixtures), ``api_faults``, ``operator_chaos``;
- delivery: ``helm_build``, ``helm_tools``, ``chart_render``, ``model_objects``;
- model servers: ``model_servers`` (MLServer and KServe in their own virtualenvs);
- ``strict_equality`` (exact comparison of parsed payloads).
"""
