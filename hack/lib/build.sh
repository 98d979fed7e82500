# Shared helpers for the hack/build-*.sh scripts. Source it; do not run it.
#
# Binaries are built from the committed wrapper modules in hack/wrappers/ and
# go to $KRONFORM_CACHE/bin (default ~/.cache/kronform-gen/bin), outside the
# repository, under versioned names. A binary that is already there is reused.

export GOTOOLCHAIN=local
# The wrapper modules pin everything in their go.sum; never let a build
# rewrite them.
export GOFLAGS="${GOFLAGS:-} -mod=readonly"

HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${KRONFORM_CACHE:-$HOME/.cache/kronform-gen}"
BIN_DIR="$CACHE/bin"
mkdir -p "$BIN_DIR"

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# build_tool NAME VERSION WRAPPER PACKAGE [go build flags...]
# Builds PACKAGE inside hack/wrappers/WRAPPER into $BIN_DIR/NAME-VERSION
# unless that file exists. The binary is written to a temporary name first
# so an interrupted build never leaves a half-written binary behind.
build_tool() {
	local name="$1" version="$2" wrapper="$3" pkg="$4"
	shift 4
	local out="$BIN_DIR/$name-$version"
	if [[ -x "$out" ]]; then
		log "$name $version: present at $out, not rebuilding"
		return 0
	fi
	log "$name $version: building $pkg (wrapper hack/wrappers/$wrapper)"
	local start=$SECONDS
	(cd "$HACK_DIR/wrappers/$wrapper" && go build -trimpath "$@" -o "$out.tmp.$$" "$pkg")
	mv "$out.tmp.$$" "$out"
	log "$name $version: built in $((SECONDS - start))s -> $out ($(du -h "$out" | cut -f1))"
}
