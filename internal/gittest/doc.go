// Package gittest runs the git CLI for tests, with the machine's git configuration kept out and one known identity.
package gittest
