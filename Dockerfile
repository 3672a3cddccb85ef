# Imago Fed server image.
#   docker build -t imago-fed .
#   docker run -p 8080:8080 -v imago-data:/data \
#     -e IMAGO_INSTANCE_DOMAIN=groups.example.org \
#     -e IMAGO_INSTANCE_ADMIN_TOKEN=... \
#     -e IMAGO_DATABASE_URL=postgresql://imago:...@db/imago imago-fed
# Without IMAGO_DATABASE_URL the embedded PostgreSQL runs inside /data.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    IMAGO_INSTANCE_DATA_DIR=/data \
    IMAGO_HTTP_LISTEN=0.0.0.0:8080

WORKDIR /app
COPY pyproject.toml setup.py README.md LICENSE alembic.ini ./
COPY imago_fed ./imago_fed
COPY alembic ./alembic
# Only the example: .dockerignore keeps a local config/imago.toml (admin
# token), data/, virtualenvs, node_modules and .git out of the build context.
COPY config ./config
# gcc and libgmp-dev build the ballot verifier's optional C accelerator
# (setup.py); without them the install still succeeds on the pure path.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev libgmp-dev \
    && rm -rf /var/lib/apt/lists/* \
    && pip install -e . \
    && useradd --system --home-dir /data --create-home imago

USER imago
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/readyz', timeout=4).status == 200 else 1)"
ENTRYPOINT ["imago-fed"]
CMD ["serve"]
