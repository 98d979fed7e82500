// Package e2e holds the end-to-end tests that run generated trees through a real kube-apiserver and Flux's own
// controllers (internal/testenv starts them); it has no code outside its tests.
package e2e
