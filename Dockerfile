# The mutualaid application image: the Prefect worker and the API run from it (see docker-compose.yml).
# Build: docker build -t mutualaid .   (needs constraints.txt and README.md next to pyproject.toml)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MUTUALAID_DATA_DIR=/data

WORKDIR /app

RUN useradd --create-home --uid 10001 mutualaid \
    && mkdir -p /data \
    && chown mutualaid:mutualaid /data

# Only what the package needs: never the local .venv, data/ or caches (there is no .dockerignore).
COPY pyproject.toml constraints.txt README.md alembic.ini ./
COPY mutualaid/ mutualaid/
COPY core/ core/
COPY models/ models/
COPY tasks/ tasks/
COPY flows/ flows/
COPY api/ api/
COPY migrations/ migrations/
COPY templates/ templates/

# Editable, so alembic.ini, migrations/ and templates/ stay where core.settings.PROJECT_ROOT finds them.
RUN pip install -c constraints.txt -e .

USER mutualaid
VOLUME ["/data"]
EXPOSE 8000

# The compose file overrides this per service; by default, the worker.
CMD ["prefect", "worker", "start", "--pool", "mutualaid", "--type", "process"]
