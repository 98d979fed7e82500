// Package testenv runs a real etcd, kube-apiserver, Flux controllers, a git
// server and a Helm chart repository on 127.0.0.1 for end-to-end tests.
package testenv
