# The market-data-ingestion service image, built from the released wheel, never from source.
#
# The build context is a directory made by release_engine.container.prepare_context:
#   Dockerfile
#   dist/requirements.txt   the wheel's runtime requirements (Requires-Dist, no extras)
#   dist/market_data_ingestion-<version>-py3-none-any.whl
# Build arguments: BASE_IMAGE, VERSION, REVISION (git commit), CREATED (RFC 3339), SOURCE (URL).
ARG BASE_IMAGE=python:3.12-slim
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# The service runs as this non-root user and keeps its SQLite database in its home.
RUN useradd --uid 10001 --user-group --create-home --no-log-init \
        --home-dir /var/lib/market-data-ingestion --shell /usr/sbin/nologin mdi

# Dependencies first: this layer is reused for as long as the requirements do not change.
COPY dist/requirements.txt /tmp/requirements.txt
RUN python -m pip install --no-cache-dir -r /tmp/requirements.txt && rm /tmp/requirements.txt

# The wheel of exactly this version (bump-my-version moves the default below).
ARG VERSION=0.1.0
COPY dist/market_data_ingestion-${VERSION}-*.whl /tmp/wheel/
RUN python -m pip install --no-cache-dir --no-deps /tmp/wheel/market_data_ingestion-${VERSION}-*.whl \
    && rm -rf /tmp/wheel \
    && market-data-ingestion --version

ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=https://github.com/your-org/finbot
LABEL org.opencontainers.image.title="market-data-ingestion" \
      org.opencontainers.image.description="Ingests OHLCV market data bars into a database and serves them over HTTP." \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}"

ENV MDI_DB_PATH=/var/lib/market-data-ingestion/market_data.sqlite3
USER 10001:10001
WORKDIR /var/lib/market-data-ingestion
EXPOSE 8000
ENTRYPOINT ["market-data-ingestion"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
