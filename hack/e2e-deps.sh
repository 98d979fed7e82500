#!/usr/bin/env bash
# Prepares everything the end-to-end tests need, once; later runs reuse the
# cache. CI runs this, then the tests with KRONFORM_E2E=1.
set -euo pipefail
export GOTOOLCHAIN=local
HACK_DIR="$(cd "$(dirname "$0")" && pwd)"

bash "$HACK_DIR/build-k8s.sh"
bash "$HACK_DIR/build-flux.sh"

# The end-to-end tests install the Cilium charts shipped inside these Go
# modules (1.15.6: the older values vocabulary; 1.20.2: values.schema.json);
# fetch them into the module cache now so the tests themselves need no network.
go mod download github.com/cilium/cilium@v1.15.6 github.com/cilium/cilium@v1.20.2
