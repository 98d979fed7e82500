package cli

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/getsops/sops/v3/cmd/sops/formats"
	"github.com/spf13/cobra"

	"github.com/kronform/kronform-gen/generator/preview"
	"github.com/kronform/kronform-gen/generator/secrets"
)

func (a *app) buildCommand() *cobra.Command {
	var reveal bool
	cmd := &cobra.Command{
		Use:   "build [CLUSTER[/KUSTOMIZATION]]",
		Short: "Print what Flux will apply: each Flux Kustomization built as kustomize-controller builds it",
		Long: `build finds every Flux Kustomization (kustomize.toolkit.fluxcd.io) declared under clusters/<cluster>/ in the
output tree, and every Kustomization that their builds hold, at any depth (Flux applies those too), and prints what
kustomize-controller would apply for it: kustomize build of its spec.path (with the
kustomization file Flux generates when the folder has none, and its targetNamespace, namePrefix, patches, images and
components merged in), then postBuild substitution and commonMetadata. Builds run in parallel; output order is
cluster, then Kustomization name, and kustomize's own order inside each. With several Kustomizations, each starts with
a "# cluster/name" line.

CLUSTER is the folder under clusters/ whose Flux applies the Kustomization, and KUSTOMIZATION its metadata.name.

postBuild.substituteFrom reads the ConfigMaps and Secrets that the same cluster's Kustomizations build from the tree,
after their own substitution; a source that is not in the tree (it may exist only in the cluster) is reported and
its variables are left as written.

Secret values print masked: **SOPS** for SOPS ciphertext, ***** for a value in the clear. --decrypt decrypts what
kustomize-controller decrypts for a Kustomization with spec.decryption: the SOPS-encrypted files its secretGenerators
read and its patches (before kustomize build), SOPS objects not annotated kustomize.toolkit.fluxcd.io/decrypt:
disabled (the object as JSON, no MAC check) and SOPS files held in Secret values (after), with the age key sops would
use (--age-key-file, SOPS_AGE_KEY_FILE, SOPS_AGE_KEY, or ~/.config/sops/age/keys.txt), and prints every value in the
clear. Without it, what is made of encrypted generator sources differs from what Flux applies, and a note says so.
A Kustomization whose build still holds a SOPS-encrypted Secret fails, as the controller refuses to apply it.

Exit codes:
  0  every selected Kustomization built
  1  a Kustomization does not build (kustomize, decryption, substitution, or Flux would refuse to apply it)
  2  bad input or usage: an unreadable output folder or one holding an unfinished write (run generate), an unknown
     CLUSTER/KUSTOMIZATION, or --decrypt without an age key that reads and opens the tree's SOPS files`,
		Example: `  kronform-gen build                        # every Kustomization of every cluster
  kronform-gen build kronform               # one cluster
  kronform-gen build kronform/host-policies # one Kustomization
  SOPS_AGE_KEY_FILE=age.agekey kronform-gen build --decrypt kronform/secrets`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOut(true); err != nil {
				return err
			}
			if err := a.refusePending("build"); err != nil {
				return err
			}
			src, err := preview.FromDir(a.outDir)
			if err != nil {
				return fail(ExitUsage, "reading %s: %v", a.outDir, err)
			}
			ks, err := src.Kustomizations()
			if err != nil {
				return fail(ExitFailure, "%s: %v", a.outDir, err)
			}
			opts := preview.Options{}
			if len(args) == 1 {
				if opts.Cluster, opts.Name, err = selectKustomizations(ks, args[0]); err != nil {
					return err
				}
			}
			if reveal {
				ids, err := a.sopsIdentities()
				if err != nil {
					return fail(ExitUsage, "%v", err)
				}
				if !ids.Available() {
					return fail(ExitUsage, "--decrypt needs an age key: give --age-key-file, set %s or %s, or keep one in "+
						"~/.config/sops/age/keys.txt", secrets.KeyFileEnv, secrets.KeyEnv)
				}
				opts.Decrypt = fleetDecryptor{secrets.NewDecryptor(ids)}
			}
			res, err := src.Build(ks, opts)
			builds := res.Builds
			a.printSkipped("", res.Skipped)
			a.printBuildNotes(builds)
			a.printShared(preview.SharedObjects(builds, nil))
			if err != nil {
				return buildFailed(err)
			}
			if reveal && res.Decrypted == 0 && res.Keyless > 0 {
				// The tree may be fine: the key given is not one its SOPS files are for.
				return fail(ExitUsage, "--decrypt: the age key given opens none of the SOPS files these builds hold (see the notes)")
			}
			if err := notFound(res, opts); err != nil {
				return err
			}
			docs, err := preview.YAMLAll(builds, reveal)
			if err != nil {
				return fail(ExitFailure, "%v", err)
			}
			for i, b := range builds {
				y := docs[i]
				if len(builds) > 1 {
					if i > 0 {
						fmt.Fprintln(a.stdout, "---")
					}
					fmt.Fprintf(a.stdout, "# %s\n", b.ID())
				}
				if _, err := a.stdout.Write(y); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&reveal, "decrypt", false, "decrypt SOPS Secrets with sops' age key and print all Secret values in the clear")
	return cmd
}

// selectKustomizations splits CLUSTER or CLUSTER/KUSTOMIZATION, refusing a cluster that has no Kustomization. The
// name is checked once the cluster is built (see notFound): builds declare Kustomizations too.
func selectKustomizations(ks []preview.Kustomization, arg string) (cluster, name string, err error) {
	cluster, name, _ = strings.Cut(arg, "/")
	var ids []string
	for _, k := range ks {
		if k.Cluster == cluster {
			return cluster, name, nil
		}
		ids = append(ids, k.ID())
	}
	slices.Sort(ids)
	return "", "", fail(ExitUsage, "no Flux Kustomization %s in the tree; there are: %s", shownArg(arg), strings.Join(ids, ", "))
}

// shownArg is a CLUSTER[/KUSTOMIZATION] argument as a message shows it: quoted when it is empty (an unset variable)
// or holds a space, which would not show otherwise.
func shownArg(arg string) string {
	if arg == "" || strings.ContainsFunc(arg, unicode.IsSpace) {
		return strconv.Quote(arg)
	}
	return arg
}

// sopsIdentities are the age keys sops itself would use, in its order: --age-key-file, SOPS_AGE_KEY_FILE,
// SOPS_AGE_KEY, then the user's sops key file (~/.config/sops/age/keys.txt), as build --decrypt documents.
func (a *app) sopsIdentities() (*secrets.Identities, error) {
	ids, err := secrets.LoadIdentities(a.ageKeyFile, os.LookupEnv)
	if err != nil || ids.Available() {
		return ids, err
	}
	keys, ok := sopsKeysFile()
	if !ok {
		return ids, nil
	}
	return secrets.LoadIdentities(keys, func(string) (string, bool) { return "", false })
}

func (a *app) printBuildNotes(builds []*preview.Build) {
	for _, b := range builds {
		for _, n := range b.Notes {
			fmt.Fprintf(a.stderr, "note: %s: %s\n", b.ID(), n)
		}
	}
}

// buildFailed prints every Kustomization that did not build; the tree holds invalid output.
func buildFailed(err error) error {
	var msgs []string
	for _, e := range unjoin(err) {
		msgs = append(msgs, e.Error())
	}
	return fail(ExitFailure, "%s", strings.Join(msgs, "\nkronform-gen: "))
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	var single *preview.Error
	if errors.As(err, &single) {
		return []error{single}
	}
	return []error{err}
}

// fleetDecryptor decrypts with the user's keys; a file none of them opens is, for the build, one the key given does
// not open (preview.ErrKeyless): in a fleet whose clusters have keys of their own the user may hold some. build
// fails only when the key opens none of what it meets.
type fleetDecryptor struct{ secrets.Decryptor }

func (d fleetDecryptor) Object(doc []byte) ([]byte, error) {
	out, err := d.Decryptor.Object(doc)
	return out, keyless(err)
}

func (d fleetDecryptor) File(data []byte, in, out formats.Format) ([]byte, error) {
	plain, err := d.Decryptor.File(data, in, out)
	return plain, keyless(err)
}

func keyless(err error) error {
	if errors.Is(err, secrets.ErrWrongKey) {
		return fmt.Errorf("%w (%w)", preview.ErrKeyless, err)
	}
	return err
}
