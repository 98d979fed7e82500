#!/usr/bin/env bash
# Builds etcd and kube-apiserver for the end-to-end tests (internal/testenv)
# into ${KRONFORM_CACHE:-~/.cache/kronform-gen}/bin. Idempotent: binaries
# already present are reused. Cold: about 3-4 minutes on 2 cores.
set -euo pipefail
source "$(dirname "$0")/lib/build.sh"

ETCD_VERSION=v3.7.3
K8S_VERSION=v1.37.2

total=$SECONDS
build_tool etcd "$ETCD_VERSION" etcd go.etcd.io/etcd/server/v3 -ldflags="-s -w"

# Without the version ldflags kube-apiserver reports v0.0.0 and Helm refuses
# charts that declare a kubeVersion.
k8s_minor="${K8S_VERSION#v1.}"
k8s_minor="${k8s_minor%%.*}"
build_tool kube-apiserver "$K8S_VERSION" kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver \
	-ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$k8s_minor"
log "build-k8s: done in $((SECONDS - total))s"
