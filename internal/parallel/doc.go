// Package parallel runs independent pieces of work on every core: clusters of a fleet, files of a tree, builds.
package parallel
