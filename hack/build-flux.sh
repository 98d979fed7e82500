#!/usr/bin/env bash
# Builds Flux's source-, kustomize- and helm-controller for the end-to-end
# tests (internal/testenv) into ${KRONFORM_CACHE:-~/.cache/kronform-gen}/bin.
# Idempotent: binaries already present are reused. Cold: 1-2.5 minutes and
# up to 2.4 GB of memory each; they are built one after the other.
set -euo pipefail
source "$(dirname "$0")/lib/build.sh"

SOURCE_CONTROLLER_VERSION=v1.9.6
KUSTOMIZE_CONTROLLER_VERSION=v1.9.6
HELM_CONTROLLER_VERSION=v1.6.4

total=$SECONDS
build_tool source-controller "$SOURCE_CONTROLLER_VERSION" source-controller github.com/fluxcd/source-controller -ldflags="-s -w"
build_tool kustomize-controller "$KUSTOMIZE_CONTROLLER_VERSION" kustomize-controller github.com/fluxcd/kustomize-controller -ldflags="-s -w"
build_tool helm-controller "$HELM_CONTROLLER_VERSION" helm-controller github.com/fluxcd/helm-controller -ldflags="-s -w"
log "build-flux: done in $((SECONDS - total))s"
