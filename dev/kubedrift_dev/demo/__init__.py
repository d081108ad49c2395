"""The whole loop as a product demo: ``python -m kubedrift_dev demo`` and its end-to-end test.

A real small model (logistic regression trained with numpy on generated dataset A,
:mod:`.model`) is served over the Open Inference Protocol v2 (:mod:`.model_server`) by a
Deployment; the operator watches it through a ModelMonitor (:mod:`.manifests`). The traffic
generator (:mod:`.traffic`) sends phase A (the training distribution), then phase B (covariate
shift and a changed feature-label relationship), posting the labels to the operator's feedback
endpoint, which passes them to the sidecar that served each request. The
retraining Job (:mod:`.retrain`) fetches dataset B from the operator and really retrains.
:mod:`.loop` drives the scenario step by step and records what the cluster says;
:mod:`.report` prints the table, the summary and the plot.
"""
