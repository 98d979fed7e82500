// Package cli is the kronform-gen command line: cobra commands that run the pipeline (spec, model, objects, tree) and
// the one place that prints messages and chooses exit codes.
package cli
