# newsmon worker image: `docker compose up` runs two of these on Kafka and PostgreSQL.
# Two stages: the first builds newsmon's wheel, compiling its tokenizer (native/,
# Rust) with the official Rust image's toolchain on the same Python as the
# image that runs it; the second holds Python and the wheel, no compilers.
FROM python:3.11 AS build
COPY --from=rust:1-slim /usr/local/cargo /usr/local/cargo
COPY --from=rust:1-slim /usr/local/rustup /usr/local/rustup
ENV CARGO_HOME=/usr/local/cargo RUSTUP_HOME=/usr/local/rustup PATH=/usr/local/cargo/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY native ./native
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim

WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY config ./config
COPY rules ./rules
# an unprivileged user, who may write only the data folder (config/monitor.yaml's
# data_dir: ../data); a volume mounted there keeps the store
RUN useradd --system --uid 10001 --home-dir /app/data newsmon \
    && install -d -o newsmon -g newsmon -m 750 /app/data
USER newsmon

ENV NEWSMON_CONFIG=/app/config/monitor.yaml
ENTRYPOINT ["newsmon"]
CMD ["run"]
