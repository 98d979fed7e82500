package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kronform/kronform-gen/generator/flux"
	"github.com/kronform/kronform-gen/generator/secrets"
	"github.com/kronform/kronform-gen/generator/spec"
)

var initSpec = template.Must(template.New("spec").Parse(`# Scaffolded by kronform-gen init. Describe your machines, then run kronform-gen generate.
apiVersion: {{.APIVersion}}
kind: {{.Kind}}
clusters:
  - name: {{.Name}}
    apiServer:
      host: {{.APIServer}}
    nodes:
      # Replace with your machines: name, public addresses, roles (control-plane, worker).
      - name: cp1
        addresses: [192.0.2.10]
        roles: [control-plane]
    cilium:
      version: 1.18.0
      k8sService:
        kubePrism: true
    # The public half of {{.KeyFile}}. Its private half decrypts the secrets; it goes into the cluster as the
    # {{.SecretName}} Secret and must never be committed.
    ageRecipients:
      - {{.Recipient}}
    # secrets:
    #   - name: hcloud
    #     namespace: kube-system
    #     data:
    #       token: {env: HCLOUD_TOKEN}          # read at generate time, never written in plaintext
    #       robot-password: {file: robot.pass}  # relative to this file
`))

func (a *app) initCommand() *cobra.Command {
	var apiServer, keyFile string
	cmd := &cobra.Command{
		Use:   "init CLUSTER",
		Short: "Scaffold a cluster spec and an age key pair for its secrets",
		Long: `init writes a new cluster spec (--spec, default cluster-spec.yaml) for CLUSTER and a new age key pair
(--age-key, default CLUSTER.agekey next to the spec, mode 0600, and added to the .gitignore beside it). It never
overwrites either. It prints on stdout
the kubectl command that stores the private key in the cluster as the sops-age Secret that Flux decrypts with:
the Secret key must end in .agekey, or kustomize-controller does not pick it up.

` + exitCodesHelp,
		Example: `  kronform-gen init prod --api-server api.prod.example.com
  kronform-gen init lab -f lab/cluster-spec.yaml --age-key ~/keys/lab.agekey`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
				return fail(ExitUsage, "cluster name %q: %s", name, errs[0])
			}
			if apiServer == "" {
				apiServer = "api." + name + ".example.com"
			}
			besideSpec := keyFile == ""
			if besideSpec {
				keyFile = filepath.Join(filepath.Dir(a.specPath), name+".agekey")
			}
			for _, p := range []string{a.specPath, keyFile} {
				if _, err := os.Lstat(p); err == nil {
					return fail(ExitUsage, "%s already exists; init never overwrites", p)
				}
			}
			recipient, err := secrets.WriteKeyPair(keyFile, time.Now())
			if errors.Is(err, secrets.ErrKeyFileExists) {
				return fail(ExitUsage, "%v; init never overwrites", err)
			}
			if err != nil {
				return fail(ExitUsage, "writing the age key: %v", err)
			}
			var b strings.Builder
			err = initSpec.Execute(&b, map[string]string{
				"APIVersion": spec.APIVersion, "Kind": spec.Kind, "Name": name, "APIServer": apiServer,
				"KeyFile": filepath.Base(keyFile), "SecretName": flux.DecryptionSecret, "Recipient": recipient,
			})
			if err == nil {
				err = writeNew(a.specPath, []byte(b.String()))
			}
			if err != nil {
				os.Remove(keyFile)
				return fail(ExitUsage, "writing %s: %v", a.specPath, err)
			}
			fmt.Fprintf(a.stderr, "wrote %s and %s (age public key %s)\n", a.specPath, keyFile, recipient)
			fmt.Fprintf(a.stderr, "%s is the PRIVATE key: never commit it and keep a copy somewhere safe.\n", keyFile)
			// Beside the spec, the key sits in the repository: one `git add .` from being committed.
			if besideSpec {
				ignore, added, err := ignoreFile(keyFile)
				switch {
				case err != nil:
					fmt.Fprintf(a.stderr, "warning: could not add %s to %s (%v): add it yourself\n", filepath.Base(keyFile), ignore, err)
				case added:
					fmt.Fprintf(a.stderr, "added /%s to %s\n", filepath.Base(keyFile), ignore)
				}
			}
			fmt.Fprintf(a.stderr, "Create the Secret Flux decrypts with (after flux bootstrap):\n")
			fmt.Fprintf(a.stdout, "kubectl create secret generic %s --namespace=%s --from-file=age.agekey=%s\n",
				flux.DecryptionSecret, spec.DefaultFluxNamespace, keyFile)
			return nil
		},
	}
	cmd.Flags().StringVar(&apiServer, "api-server", "", "the API server host name (default api.CLUSTER.example.com)")
	cmd.Flags().StringVar(&keyFile, "age-key", "", "where to write the age key pair (default CLUSTER.agekey next to the spec)")
	return cmd
}

// ignoreFile makes the .gitignore next to file ignore it, unless a line there already does (the name itself, or a
// pattern without a slash inside that matches it, such as *.agekey).
func ignoreFile(file string) (ignore string, added bool, err error) {
	ignore = filepath.Join(filepath.Dir(file), ".gitignore")
	name := filepath.Base(file)
	data, err := os.ReadFile(ignore)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return ignore, false, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		pattern := strings.TrimPrefix(strings.TrimSpace(line), "/")
		if ok, _ := filepath.Match(pattern, name); ok && !strings.Contains(pattern, "/") {
			return ignore, false, nil
		}
	}
	if len(data) > 0 && !strings.HasSuffix(string(data), "\n") {
		data = append(data, '\n')
	}
	data = append(data, "# the age private key kronform-gen init wrote: never commit it\n/"+name+"\n"...)
	return ignore, true, os.WriteFile(ignore, data, 0o644)
}

// writeNew creates a file that must not exist yet.
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}
