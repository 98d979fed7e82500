package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kronform/kronform-gen/generator/secrets"
	"github.com/kronform/kronform-gen/generator/spec"
)

// Exit codes, the same for every command.
const (
	ExitOK      = 0 // success; the tree is in sync
	ExitFailure = 1 // drift, a failed assertion or invalid output
	ExitUsage   = 2 // bad input or usage: spec errors, missing files, unreadable key
)

const exitCodesHelp = `Exit codes:
  0  success; output is in sync with the spec
  1  drift, a failed assertion, or invalid output
  2  bad input or usage: spec errors, missing files, an unreadable key`

// exitError carries an exit code to Main; its message, when not empty, is printed once.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func fail(code int, format string, args ...any) error {
	return &exitError{code: code, msg: fmt.Sprintf(format, args...)}
}

// silent is an exit code whose story the command has already printed.
func silent(code int) error { return &exitError{code: code} }

// app is what every command shares: where the spec and the tree are, and where output goes.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	specPath       string
	outDir         string
	templates      string
	ageKeyFile     string
	keys           *secrets.Identities // this run's age identities, once loaded (identities)
}

// Main runs kronform-gen with args and returns the exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	out, errOut := &maskingWriter{w: stdout}, &maskingWriter{w: stderr}
	defer out.Flush()
	defer errOut.Flush()
	return runMain(args, stdin, out, errOut)
}

// runMain is Main on writers that mask placeholders.
func runMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteC()
	if err == nil {
		return ExitOK
	}
	usage := root.CommandPath()
	if cmd != nil {
		usage = cmd.CommandPath()
	}
	code := report(stderr, err, cmd != nil && cmd.Annotations[writesAnnotation] != "", usage)
	if cmd != nil && wantsJSON(cmd, args) {
		writeErrorJSON(stdout, err)
	}
	return code
}

// writesAnnotation marks the commands that write files (generate, init): after a bad spec only they can say that
// nothing was written; the others never write.
const writesAnnotation = "kronform-gen/writes"

// report prints a failed command's error on stderr and returns its exit code; writes says whether the command writes
// files, usage is the command line whose --help the user is pointed to ("kronform-gen init").
func report(stderr io.Writer, err error, writes bool, usage string) int {
	var ee *exitError
	var problems spec.Problems
	switch {
	case errors.As(err, &problems):
		for _, p := range problems {
			fmt.Fprintln(stderr, p)
		}
		if writes {
			fmt.Fprintf(stderr, "%d problem(s) in the spec; nothing was written\n", len(problems))
		} else {
			fmt.Fprintf(stderr, "%d problem(s) in the spec\n", len(problems))
		}
		return ExitUsage
	case errors.As(err, &ee):
		if ee.msg != "" {
			fmt.Fprintln(stderr, "kronform-gen:", ee.msg)
		}
		return ee.code
	default:
		// cobra's own errors: unknown command or flag, wrong number of arguments.
		fmt.Fprintln(stderr, "kronform-gen:", err)
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", usage)
		return ExitUsage
	}
}

// wantsJSON says whether the command was asked for --output json, by the arguments as given: when parsing fails (an
// unknown flag before -o json, a flag before the command's name) the flag was never set, and the command may not even
// have been found (cmd is then the root, and the first argument naming a command is taken).
func wantsJSON(cmd *cobra.Command, args []string) bool {
	asked := false
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			break
		}
		value, ok := "", false
		switch {
		case arg == "-o" || arg == "--output":
			if i+1 < len(args) {
				value, ok = args[i+1], true
				i++
			}
		case strings.HasPrefix(arg, "--output="):
			value, ok = strings.TrimPrefix(arg, "--output="), true
		case strings.HasPrefix(arg, "-o") && !strings.HasPrefix(arg, "--"):
			value, ok = strings.TrimPrefix(strings.TrimPrefix(arg, "-o"), "="), true
		}
		if ok {
			asked = value == "json" // the last one counts, as pflag keeps it
		}
	}
	if !asked {
		return false
	}
	if !cmd.HasParent() {
		for _, arg := range args {
			if sub, _, err := cmd.Find([]string{arg}); err == nil && sub != cmd {
				cmd = sub
				break
			}
		}
	}
	return cmd.Flags().Lookup("output") != nil
}

// errorJSON is what a command asked for --output json prints on stdout when it fails without its report, so that a
// pipeline reading stdout gets JSON whatever happened: the error, and for a bad spec each problem with its place.
type errorJSON struct {
	Error    string        `json:"error"`
	Problems []problemJSON `json:"problems,omitempty"`
}

// problemJSON is one problem of the spec; line and column are 0 when the problem has no place in the file.
type problemJSON struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Path    string `json:"path"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
}

// writeErrorJSON prints the error document; nothing for an error whose command already printed its report (drift, a
// failed assertion, invalid objects).
func writeErrorJSON(stdout io.Writer, err error) {
	var ee *exitError
	var problems spec.Problems
	doc := errorJSON{Error: err.Error()}
	switch {
	case errors.As(err, &problems):
		doc.Error = fmt.Sprintf("%d problem(s) in the spec", len(problems))
		for _, p := range problems {
			doc.Problems = append(doc.Problems, problemJSON{File: p.File, Line: p.Pos.Line, Column: p.Pos.Col, Path: p.Path, Message: p.Msg, Hint: p.Hint})
		}
	case errors.As(err, &ee) && ee.msg == "":
		return
	case errors.As(err, &ee):
		doc.Error = ee.msg
	}
	b, _ := json.MarshalIndent(doc, "", "  ")
	fmt.Fprintf(stdout, "%s\n", b)
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "kronform-gen",
		Short: "Keep a Flux repository true to one declarative cluster spec",
		Long: `kronform-gen turns cluster-spec.yaml into the Flux repository tree of a bare-metal Talos + Cilium cluster:
a HelmRepository and HelmRelease for Cilium, CiliumClusterwideNetworkPolicies that firewall the nodes, and the Flux
Kustomizations that apply them in order.

` + exitCodesHelp,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	pf := root.PersistentFlags()
	pf.StringVarP(&a.specPath, "spec", "f", "cluster-spec.yaml", "the cluster spec")
	pf.StringVar(&a.outDir, "out", defaultOut, "the output tree (the root of the Flux repository)")
	pf.StringVar(&a.templates, "templates", "", "a folder whose presets/*.yaml override the embedded presets")
	pf.StringVar(&a.ageKeyFile, "age-key-file", "", "age identity file that decrypts existing secrets (default: $SOPS_AGE_KEY_FILE, then $SOPS_AGE_KEY; none: CI mode)")
	root.AddCommand(
		a.generateCommand(),
		a.checkCommand(),
		a.explainCommand(),
		a.verifyCommand(),
		a.runbookCommand(),
		a.initCommand(),
		a.validateCommand(),
		a.buildCommand(),
		a.diffCommand(),
		a.schemaCommand(),
		a.versionCommand(),
	)
	// cobra adds its completion command (a group of one per shell) when it runs; added now, it is a group like ours.
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		groupOnly(c)
	}
	onceOnly(root)
	return root
}

// onceOnly makes every flag that takes one value refuse a second, different one: pflag keeps the last, so
// `-f a.yaml -f b.yaml` would quietly judge b.yaml, and the one a script meant may be either. The same value again
// (a wrapper that appends an override equal to the default) says nothing new and is taken. Switches count by what
// they say: --commit twice (or --commit --commit=true) is taken, --decrypt=false --decrypt refused. Lists are left
// as they are.
func onceOnly(c *cobra.Command) {
	wrap := func(f *pflag.Flag) {
		if _, done := f.Value.(*onceValue); done || strings.HasSuffix(f.Value.Type(), "Slice") ||
			strings.HasSuffix(f.Value.Type(), "Array") || f.Value.Type() == "count" {
			return
		}
		name := "--" + f.Name
		if f.Shorthand != "" {
			name = "-" + f.Shorthand + "/" + name
		}
		f.Value = &onceValue{Value: f.Value, name: name}
	}
	c.PersistentFlags().VisitAll(wrap)
	c.Flags().VisitAll(wrap)
	for _, sub := range c.Commands() {
		onceOnly(sub)
	}
}

// onceValue is a flag value that may be set once, or again to the same value.
type onceValue struct {
	pflag.Value
	name  string
	first *string
}

func (o *onceValue) Set(s string) error {
	if o.first != nil && (*o.first == s || o.Type() == "bool" && sameBool(*o.first, s)) {
		return nil
	}
	if o.first != nil {
		return fail(ExitUsage, "%s is given twice, with different values (%q, then %q); give it once", o.name, *o.first, s)
	}
	o.first = &s
	return o.Value.Set(s)
}

// sameBool says two values of a switch say the same (true and 1, as pflag parses them).
func sameBool(a, b string) bool {
	x, errA := strconv.ParseBool(a)
	y, errB := strconv.ParseBool(b)
	return errA == nil && errB == nil && x == y
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of kronform-gen",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			version := "(devel)"
			if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
				version = info.Main.Version
			}
			fmt.Fprintln(a.stdout, "kronform-gen", version)
			return nil
		},
	}
}

func (a *app) schemaCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of the cluster spec (for yaml-language-server)",
		Example: `  kronform-gen schema > cluster-spec.schema.json
  # then, first line of cluster-spec.yaml:
  # yaml-language-server: $schema=./cluster-spec.schema.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := spec.JSONSchema()
			if err != nil {
				return err
			}
			_, err = a.stdout.Write(b)
			return err
		},
	}
}

// groupOnly makes a command that only groups others (runbook) refuse arguments that name no subcommand: cobra
// prints the help of a command that cannot run and exits 0, whatever follows it, so a mistyped subcommand would pass
// for success. Without arguments it still prints its help.
func groupOnly(c *cobra.Command) {
	if !c.HasSubCommands() {
		return
	}
	if !c.Runnable() {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unknown command %q for %q%s", args[0], cmd.CommandPath(), suggest(cmd, args[0]))
			}
			return nil
		}
		c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	}
	for _, sub := range c.Commands() {
		groupOnly(sub)
	}
}

// suggest is cobra's "Did you mean this?" for a mistyped subcommand of cmd, as cobra words it for the root.
func suggest(cmd *cobra.Command, typed string) string {
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	var b strings.Builder
	if s := cmd.SuggestionsFor(typed); len(s) > 0 {
		b.WriteString("\n\nDid you mean this?\n")
		for _, name := range s {
			fmt.Fprintf(&b, "\t%s\n", name)
		}
	}
	return b.String()
}

// exactlyOne is cobra.ExactArgs(1) that says what the argument is: "init takes one argument, CLUSTER (...)".
func exactlyOne(what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return fmt.Errorf("%s takes one argument, %s; got %d", strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" "), what, len(args))
		}
		return nil
	}
}
