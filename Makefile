# The example's secrets are encrypted for the PUBLIC, DEMO-ONLY key examples/demo.agekey (see examples/).
export GOTOOLCHAIN := local

generate:
	SOPS_AGE_KEY_FILE=examples/demo.agekey go run ./cmd/kronform-gen generate

check:
	go run ./cmd/kronform-gen check

bench:
	go run ./hack/secretsbench

.PHONY: generate check bench
