// Package cache remembers, across runs and per binary (its Go build ID), what need not be worked out again: the
// digests of inputs that passed a check whose verdict depends on nothing but their bytes (Set), and the whole
// report of a run keyed by a digest of all its inputs (Result, StoreResult). It lives under the user's cache folder
// (or $KRONFORM_GEN_CACHE; "off" turns it off) and never holds a secret value: callers keep out runs whose inputs
// include one.
package cache
