# The market-data-ingestion service image, built from the released wheel, never from source.
#
# The build context is a directory made by release_engine.remotes.registry.container.prepare_context:
#   Dockerfile
#   dist/requirements.txt                        the runtime dependencies, pinned with
#                                                hashes (exported from uv.lock at the tag)
#   dist/market_data_ingestion-<version>/        the wheel installed (pypa/installer): its
#                                                package and .dist-info, for PYTHONPATH, and
#                                                build-info.json (the build arguments below)
# BASE_IMAGE may name a digest (name@sha256:...): [tool.release] base_image pins it.
# Build arguments: BASE_IMAGE, VERSION, REVISION, CREATED, SOURCE (build_metadata). The
# labels made of them are the last instruction, over the layer that holds build-info.json:
# a layer cache keys a step by its parent and its text, not by the arguments' values, so a
# LABEL over a layer that did not change would keep an earlier build's values.
ARG BASE_IMAGE=python:3.12-slim
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONPATH=/opt/market-data-ingestion \
    MDI_DB_PATH=/var/lib/market-data-ingestion/market_data.sqlite3

# The service runs as this non-root user and keeps its SQLite database in its home. Its
# command is the package run by the image's own Python: a launcher that no release changes.
RUN useradd --uid 10001 --user-group --create-home --no-log-init \
        --home-dir /var/lib/market-data-ingestion --shell /usr/sbin/nologin mdi \
    && printf '#!/bin/sh\nexec python3 -m market_data_ingestion "$@"\n' \
        > /usr/local/bin/market-data-ingestion \
    && chmod 0755 /usr/local/bin/market-data-ingestion

# Everything that does not change from one release to the next comes before the version.
WORKDIR /var/lib/market-data-ingestion
EXPOSE 8000
ENTRYPOINT ["market-data-ingestion"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]

# Dependencies: this layer is reused for as long as the lock does not change. Only the
# locked files are taken (--require-hashes, --no-deps), wheels only (a build in the image
# would not be reproducible). SOURCE_DATE_EPOCH set makes pip's byte-compiling write
# hash-based .pyc files (py_compile's rule), whose bytes do not depend on when the files were
# written; its value is not read by py_compile, and the build's --timestamp (the tagged
# commit's time) sets every file's time, so a fixed one keeps this layer cached across releases.
COPY dist/requirements.txt /tmp/requirements.txt
RUN SOURCE_DATE_EPOCH=0 python3 -m pip install --no-cache-dir --require-hashes --no-deps \
        --only-binary=:all: -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Installing needs root, the service does not.
USER 10001:10001

# The per-build arguments, declared after the last RUN: a RUN sees the arguments declared
# before it, and a new value of one would run it again. A declaration is text: cached.
ARG SOURCE=https://github.com/your-org/finbot
ARG REVISION=unknown
ARG CREATED=unknown

# Last: the package of exactly this version (bump-my-version moves the default below) and
# the labels, all in one instruction (each is a step: the fewer, the quicker a rebuild). A
# release that changes only the version rebuilds these two steps.
ARG VERSION=0.1.0
COPY dist/market_data_ingestion-${VERSION}/ /opt/market-data-ingestion/
LABEL org.opencontainers.image.title="market-data-ingestion" \
      org.opencontainers.image.description="Ingests OHLCV market data bars into a database and serves them over HTTP." \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}"
