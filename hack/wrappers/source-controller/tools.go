//go:build tools

// Package tools pins the source-controller command so that go mod tidy keeps
// everything it needs.
package tools

import _ "github.com/fluxcd/source-controller"
