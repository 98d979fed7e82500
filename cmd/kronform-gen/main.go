// Command kronform-gen keeps a Flux repository true to one declarative cluster spec.
package main

import (
	"os"

	"github.com/kronform/kronform-gen/generator/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
