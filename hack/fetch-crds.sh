#!/usr/bin/env bash
# Copies the real CRD YAMLs out of the upstream Go modules (through the Go
# module proxy, `go mod download -json MODULE@VERSION`) into the repository:
#
#   generator/validate/crds/   the CRDs of the objects kronform-gen writes,
#                              used to validate output against a real API server
#                              (generator/validate/crds.json holds the same
#                              CRDs as JSON: the binary embeds that)
#   internal/testenv/crds/flux/ every CRD the Flux controllers need to run
#                              (source-controller also watches HelmChart,
#                              OCIRepository, Bucket, ...), test-only
#
# Each folder gets a VERSIONS file: one "file module@version path" line per
# CRD. Re-run after changing a version below and commit the result.
set -euo pipefail
export GOTOOLCHAIN=local

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VALIDATE_DIR="$ROOT/generator/validate/crds"
FLUX_DIR="$ROOT/internal/testenv/crds/flux"

# helm-controller v1.6.5 (the version of our helm-controller/api module) is
# not served by the module proxy and the api module carries no CRDs.
# api/v2 is identical in api v1.6.4 and v1.6.5, so v1.6.4's CRD is the same.
HELM_CONTROLLER=github.com/fluxcd/helm-controller@v1.6.4
KUSTOMIZE_CONTROLLER=github.com/fluxcd/kustomize-controller@v1.9.6
SOURCE_CONTROLLER=github.com/fluxcd/source-controller@v1.9.6
CILIUM=github.com/cilium/cilium@v1.20.2

# module_dir MODULE@VERSION prints the module's extracted folder in the
# module cache, downloading it if needed.
module_dir() {
	local dir
	dir="$(go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
	if [[ -z "$dir" || ! -d "$dir" ]]; then
		echo "fetch-crds: cannot download $1" >&2
		go mod download -json "$1" >&2 || true
		exit 1
	fi
	printf '%s\n' "$dir"
}

# copy_crd DEST_DIR MODULE@VERSION PATH
copy_crd() {
	local dest="$1" mod="$2" path="$3"
	local src
	src="$(module_dir "$mod")/$path"
	local name
	name="$(basename "$path")"
	install -m 0644 "$src" "$dest/$name"
	printf '%s %s %s\n' "$name" "$mod" "$path" >>"$dest/VERSIONS.tmp"
	echo "fetch-crds: $mod $path -> ${dest#"$ROOT/"}/$name" >&2
}

# reset DEST_DIR: start from an empty folder so a CRD dropped upstream does
# not linger here.
reset() {
	rm -rf "$1"
	mkdir -p "$1"
	printf '# file module@version path-in-module (written by hack/fetch-crds.sh)\n' >"$1/VERSIONS.tmp"
}

finish() { mv "$1/VERSIONS.tmp" "$1/VERSIONS"; }

reset "$VALIDATE_DIR"
copy_crd "$VALIDATE_DIR" "$HELM_CONTROLLER" config/crd/bases/helm.toolkit.fluxcd.io_helmreleases.yaml
copy_crd "$VALIDATE_DIR" "$KUSTOMIZE_CONTROLLER" config/crd/bases/kustomize.toolkit.fluxcd.io_kustomizations.yaml
copy_crd "$VALIDATE_DIR" "$SOURCE_CONTROLLER" config/crd/bases/source.toolkit.fluxcd.io_gitrepositories.yaml
copy_crd "$VALIDATE_DIR" "$SOURCE_CONTROLLER" config/crd/bases/source.toolkit.fluxcd.io_helmrepositories.yaml
copy_crd "$VALIDATE_DIR" "$CILIUM" pkg/k8s/apis/cilium.io/client/crds/v2/ciliumclusterwidenetworkpolicies.yaml
finish "$VALIDATE_DIR"
# The binary embeds the CRDs as JSON (generator/validate/crds.json), written from the files above.
(cd "$ROOT" && go test ./generator/validate -run TestSchemasJSONIsTheCRDs -update >&2)

reset "$FLUX_DIR"
for mod in "$SOURCE_CONTROLLER" "$KUSTOMIZE_CONTROLLER" "$HELM_CONTROLLER"; do
	dir="$(module_dir "$mod")"
	for f in "$dir"/config/crd/bases/*.yaml; do
		copy_crd "$FLUX_DIR" "$mod" "config/crd/bases/$(basename "$f")"
	done
done
finish "$FLUX_DIR"
