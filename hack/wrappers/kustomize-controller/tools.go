//go:build tools

// Package tools pins the kustomize-controller command so that go mod tidy keeps
// everything it needs.
package tools

import _ "github.com/fluxcd/kustomize-controller"
