# newsmon worker image: `docker compose up` runs two of these on Kafka and PostgreSQL.
FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md ./
COPY monitor ./monitor
RUN pip install --no-cache-dir .
COPY config ./config
COPY rules ./rules

ENV NEWSMON_CONFIG=/app/config/monitor.yaml
ENTRYPOINT ["newsmon"]
CMD ["run"]
