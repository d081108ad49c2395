# One image for both roles of kubedrift: `kubedrift operator` (the chart's Deployment) and
# `kubedrift sidecar` (the container the operator injects into model Pods).
#
# Stage 1 builds the wheels of kubedrift and of every dependency, with the `fast` extra (the
# sidecar's request path needs httptools); stage 2 installs them from there alone (no index, no
# compiler) into a virtualenv and runs as a numeric non-root user.
# The root filesystem can be read-only: bytecode is compiled at install time and nothing writes
# outside /tmp (HOME), which the chart mounts as an emptyDir.
# tests/unit/delivery/test_image_install.py replays the two pip steps in a clean venv.
#
# BASE_IMAGE is any Debian-based image with Python 3.11, `python` and pip on PATH. The default is
# the official image; the tests build on one made from Debian packages (tests/node/images.sh).

ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS wheels
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator ./operator
# pip's cache stays in this stage (only /wheels goes on); a builder may mount one that outlives
# the build at /root/.cache/pip, as tests/node/images.sh does.
RUN pip wheel --wheel-dir /wheels '.[fast]'

FROM ${BASE_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    PATH=/opt/kubedrift/bin:$PATH
COPY --from=wheels /wheels /wheels
RUN python -m venv /opt/kubedrift \
    && /opt/kubedrift/bin/pip install --no-cache-dir --no-index --find-links=/wheels 'kubedrift[fast]' \
    && rm -rf /wheels \
    && echo 'kubedrift:x:65532:65532:kubedrift:/tmp:/usr/sbin/nologin' >> /etc/passwd \
    && echo 'kubedrift:x:65532:' >> /etc/group
# A named default user; any other uid works as well, with or without a passwd entry (OpenShift's
# restricted SCC assigns one): the operator names itself after its Pod, not its user.
USER 65532:65532
ENTRYPOINT ["kubedrift"]
CMD ["--help"]
