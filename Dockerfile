# Tributary services: one image holding the publisher, subscriber, query API, console and mock LLM.
# docker-compose.yml picks the binary per service with `command:`.
#
#   docker build -t tributary .
#
# Build stage: Debian 12 with the -dev packages listed in infra/install.sh.
FROM debian:bookworm AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      librdkafka-dev libpqxx-dev libcpp-httplib-dev nlohmann-json3-dev libhiredis-dev \
      libspdlog-dev librdkit-dev libboost-dev libsimdjson-dev libcurl4-openssl-dev \
      nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DTRIBUTARY_BUILD_TESTS=OFF \
 && cmake --build build \
 && mkdir -p /out/bin \
 && cp build/publisher/tributary-publisher \
       build/subscriber/tributary-subscriber \
       build/llm_client/mock_server/tributary-mock-llm /out/bin/ \
 && cp build/query/tributary-query build/console/tributary-console \
       build/tools/admin/tributary-admin /out/bin/ \
 && strip /out/bin/*

# Runtime stage: only the shared libraries the binaries link against.
FROM debian:bookworm-slim AS runtime
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      librdkafka++1 libpqxx-6.4 libcpp-httplib0.11 libhiredis0.14 libspdlog1.10 libfmt9 \
      librdkit1 libsimdjson14 libcurl4 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /opt/tributary tributary
COPY --from=build /out/bin/ /usr/local/bin/
# SQL migrations are compiled into the binaries; nothing else to copy.
# Fail the image build, not the container start, when a shared library is missing.
RUN ! ldd /usr/local/bin/tributary-* | grep 'not found'
WORKDIR /opt/tributary
USER tributary
ENV LOG_FORMAT=json LOG_LEVEL=info
EXPOSE 8000 8001 8002 8080 8090
CMD ["tributary-publisher"]
