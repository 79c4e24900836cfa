# article-ingest: one image for the worker, the watcher and the web view (compose picks the command).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 --user-group ingest
WORKDIR /app

# Dependencies first, so a code change does not reinstall them (build cache friendly).
COPY requirements/model.txt requirements/model.txt
RUN pip install --require-hashes --no-deps -r requirements/model.txt
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

COPY README.md ./
COPY worker ./worker
RUN pip install --no-deps . && python -c "import worker.cli"

USER ingest
# State (the worker's metrics files) under /tmp, writable whatever UID runs the image
# (compose's INGEST_UID) and a tmpfs when the root file system is read-only.
ENV INGEST_INBOX=/data/inbox INGEST_RECORDS_DIR=/data/records INGEST_STATE_DIR=/tmp/ingest HOME=/tmp
ENTRYPOINT ["ingest"]
CMD ["worker"]
