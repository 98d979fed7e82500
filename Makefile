# kronform-gen. Every target works on a fresh machine with Go 1.26.8: modules and the peer CLIs (sops, kustomize, age)
# come through the Go module proxy on first use.
export GOTOOLCHAIN := local
GO       ?= go
BIN      := bin/kronform-gen
FUZZTIME ?= 2m

.PHONY: build generate check test e2e lint bench fuzz schema golden

## build: the kronform-gen binary in bin/
build:
	$(GO) build -o $(BIN) ./cmd/kronform-gen

## generate: write output/ from the bundled cluster-spec.yaml; its secrets are encrypted for the PUBLIC, DEMO-ONLY
## key examples/demo.agekey, which only the example uses
generate: build
	SOPS_AGE_KEY_FILE=examples/demo.agekey $(BIN) generate

## check: fail when output/ is not what cluster-spec.yaml generates, or holds an object the API server would refuse
check: build
	$(BIN) check
	$(BIN) validate

## test: vet and every unit, golden, CLI and interop test
test:
	$(GO) vet ./...
	$(GO) test -count=1 ./...

## e2e: build etcd, kube-apiserver and the Flux controllers into the cache (once), then run the end-to-end tests:
## server-side dry-runs of every generated object, and Flux reconciling a generated tree
e2e:
	bash hack/e2e-deps.sh
	KRONFORM_E2E=1 $(GO) test -count=1 -timeout 45m -v -run 'APIServer|EndToEnd|Flux' ./internal/... ./generator/validate/

## lint: formatting and vet
lint:
	@unformatted="$$(gofmt -l $$(git ls-files '*.go'))"; if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) vet ./...

## bench: every benchmark prints its peer, measured in the same run:
##   generate on fleets of 10, 100 and 1000 clusters (time, peak memory, growth, ratio to cp -r of the tree);
##   build of a 100-cluster fleet against the kustomize CLI once per path, check (cold, warm, remembered) against cat;
##   200 unchanged secrets regenerated against sops -d once per file
bench: build
	$(GO) run ./hack/bench-generate -bin $(BIN)
	$(GO) run ./hack/bench-preview
	$(GO) run ./hack/bench-secrets

## fuzz: fuzz the spec loader, the YAML emitter against yaml.v2 and the JSON reader against encoding/json, for
## FUZZTIME each (default 2m); crashers land in the package's testdata/fuzz
fuzz:
	cd generator/spec && $(GO) test -run '^$$' -fuzz FuzzLoad -fuzztime $(FUZZTIME) -fuzzminimizetime 3s
	cd generator/manifest && $(GO) test -run '^$$' -fuzz FuzzEmit -fuzztime $(FUZZTIME) -fuzzminimizetime 3s
	cd generator/manifest && $(GO) test -run '^$$' -fuzz FuzzDecodeJSON -fuzztime $(FUZZTIME) -fuzzminimizetime 3s
	cd generator/cli && $(GO) test -run '^$$' -fuzz FuzzSharedScan -fuzztime $(FUZZTIME) -fuzzminimizetime 3s
	cd generator/preview && $(GO) test -run '^$$' -fuzz FuzzUserFile -fuzztime $(FUZZTIME) -fuzzminimizetime 3s
	cd generator/firewall && $(GO) test -run '^$$' -fuzz FuzzReleasedSettings -fuzztime $(FUZZTIME) -fuzzminimizetime 3s

## schema: refresh schema/cluster-spec.schema.json from the Go types
schema:
	$(GO) test ./generator/spec -run Schema -update

## golden: accept changed golden trees, CLI script output and the wording build errors keep, after reviewing the diff
golden:
	$(GO) test ./generator/render -update
	$(GO) test ./generator/manifest -run TestWordingIsCurrent -update
	UPDATE_SCRIPTS=1 $(GO) test ./generator/cli -run Scripts
