#!/usr/bin/env bash
# Prepares everything the end-to-end tests need, once; later runs reuse the
# cache. CI runs this, then the tests with KRONFORM_E2E=1.
set -euo pipefail
export GOTOOLCHAIN=local
HACK_DIR="$(cd "$(dirname "$0")" && pwd)"

bash "$HACK_DIR/build-k8s.sh"
bash "$HACK_DIR/build-flux.sh"

# The smoke test installs the Cilium chart shipped inside this Go module;
# fetch it into the module cache now so the test itself needs no network.
go mod download github.com/cilium/cilium@v1.15.6
