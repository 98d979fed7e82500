// Package cache remembers, across runs, which inputs passed a check whose verdict depends on nothing but their bytes
// and the running binary, so that the same bytes are not checked again by the same binary. It holds only digests,
// under the user's cache folder (or $KRONFORM_GEN_CACHE; "off" turns it off), never contents.
package cache
