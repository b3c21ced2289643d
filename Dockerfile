# The Tracemark service image: `tracemark serve` by default; compose.yaml also runs `init` and
# the checkpointer (`tracemark log checkpoint --every`) from it. Runtime dependencies only,
# pinned by requirements.lock as scripts/bootstrap.sh pins them; no dev or bench extras.
#
#   docker build -t tracemark .
#   docker run --rm -p 8000:8000 tracemark
#
# Without a registry or a Docker daemon, `make image` (scripts/image.sh) builds it with
# buildah on a Debian bookworm base made by debootstrap: PYTHON_IMAGE names the base, any
# Debian bookworm with `python` 3.11, its venv module and CA certificates.
# Debian bookworm is named explicitly: it ships libzbar0 under that name.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: a virtual environment in /opt/tracemark -------------------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_NO_INPUT=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/tracemark
WORKDIR /src
# Dependencies first, in their own layer: rebuilt only when pyproject.toml or the lock
# changes, not on every edit of the code.
COPY pyproject.toml requirements.lock ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > runtime-requirements.txt \
    && /opt/tracemark/bin/pip install -c requirements.lock -r runtime-requirements.txt
COPY README.md ./
COPY api ./api
COPY ledger ./ledger
COPY scanner ./scanner
# The Python client (its own distribution): the CLI's --server mode uses it.
COPY clients/python ./clients/python
# pip and setuptools are not needed to run: they leave the image (about 20 MB smaller).
RUN /opt/tracemark/bin/pip install --no-deps -c requirements.lock . ./clients/python \
    && /opt/tracemark/bin/pip uninstall -y -q pip setuptools \
    && /opt/tracemark/bin/python -m compileall -q /opt/tracemark/lib

# --- runtime ----------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
# libzbar0: pyzbar's shared library (POST /v1/scan and `tracemark scan` use ZBar).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libzbar0 \
    && rm -rf /var/lib/apt/lists/*
# A system user without a shell or password; keys/ belongs to it (mode 0700) so that a named
# volume mounted there starts out owned by it too.
RUN groupadd --system --gid 10001 tracemark \
    && useradd --system --uid 10001 --gid tracemark --home-dir /var/lib/tracemark \
        --shell /usr/sbin/nologin tracemark \
    && install -d -o tracemark -g tracemark -m 0700 /var/lib/tracemark /var/lib/tracemark/keys
COPY --from=build /opt/tracemark /opt/tracemark
COPY deploy/entrypoint.sh /usr/local/bin/tracemark-entrypoint
ENV PATH=/opt/tracemark/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TRACEMARK_HOME=/var/lib/tracemark
USER tracemark
WORKDIR /var/lib/tracemark
EXPOSE 8000
# The health check asks the port of the default command.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
ENTRYPOINT ["tracemark-entrypoint"]
CMD ["tracemark", "serve", "--host", "0.0.0.0", "--port", "8000"]
