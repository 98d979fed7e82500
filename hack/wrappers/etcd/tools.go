//go:build tools

// Package tools pins the etcd command so that go mod tidy keeps everything
// it needs.
package tools

import _ "go.etcd.io/etcd/server/v3"
