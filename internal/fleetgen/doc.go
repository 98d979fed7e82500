// Package fleetgen writes synthetic fleet specs of any size for benchmarks and fleet tests, so that no large fixture
// is committed.
package fleetgen
