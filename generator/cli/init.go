package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kronform/kronform-gen/generator/flux"
	"github.com/kronform/kronform-gen/generator/gitrepo"
	"github.com/kronform/kronform-gen/generator/secrets"
	"github.com/kronform/kronform-gen/generator/spec"
)

var initSpec = template.Must(template.New("spec").Parse(`# Scaffolded by kronform-gen init. Describe your machines, then run kronform-gen generate.
apiVersion: {{.APIVersion}}
kind: {{.Kind}}
# When Flux follows the repository that holds this spec and output/, the tree is its folder output: uncomment, and
# bootstrap with flux bootstrap ... --path output/clusters/{{.Name}}. Leave it out when output/ is that repository's root.
# repositoryPath: output
clusters:
  - name: {{.Name}}
    apiServer:
      host: {{.APIServer}}
{{- if .Port}}
      port: {{.Port}}
{{- end}}
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
    #       # Relative to this file, and outside the repository (or ignored by git): it holds the value in the clear.
    #       robot-password: {file: ../private/robot.pass}
`))

func (a *app) initCommand() *cobra.Command {
	var apiServer, keyFile string
	cmd := &cobra.Command{
		Use:         "init CLUSTER",
		Annotations: map[string]string{writesAnnotation: "yes"},
		Short:       "Scaffold a cluster spec and an age key pair for its secrets",
		Long: `init writes a new cluster spec (--spec, default cluster-spec.yaml) for CLUSTER and a new age key pair
(--age-key, default CLUSTER.agekey next to the spec, mode 0600), creating missing folders (the key's mode 0700). It
never overwrites either, and writes nothing when it refuses. A key beside the spec or inside a git work tree is added
to the .gitignore of its folder, unless git ignores it already. --api-server takes a host name or address, host:port,
or an https:// URL as a kubeconfig's server: holds. It prints on stdout
the kubectl command that stores the private key in the cluster as the sops-age Secret that Flux decrypts with:
the Secret key must end in .agekey, or kustomize-controller does not pick it up.

` + exitCodesHelp,
		Example: `  kronform-gen init prod --api-server https://api.prod.example.com:6443
  kronform-gen init lab -f lab/cluster-spec.yaml --age-key ~/keys/lab.agekey`,
		Args: exactlyOne("CLUSTER (the new cluster's name)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
				return fail(ExitUsage, "cluster name %q: %s", name, errs[0])
			}
			if apiServer == "" {
				apiServer = "api." + name + ".example.com"
			}
			host, port, err := apiEndpoint(apiServer)
			if err != nil {
				return fail(ExitUsage, "--api-server %q: %v", apiServer, err)
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
			key, err := secrets.NewKeyPair(time.Now())
			if err != nil {
				return fail(ExitUsage, "%v", err)
			}
			var b strings.Builder
			err = initSpec.Execute(&b, map[string]any{
				"APIVersion": spec.APIVersion, "Kind": spec.Kind, "Name": name,
				// Quoted, so that no flag value can add YAML of its own; the loader below reads back what was meant.
				"APIServer": strconv.Quote(host), "Port": port,
				"KeyFile": filepath.Base(keyFile), "SecretName": flux.DecryptionSecret, "Recipient": key.Recipient,
			})
			if err != nil {
				return fail(ExitUsage, "rendering the spec: %v", err)
			}
			// What init writes, generate must accept: read it back as generate will, before anything is written.
			if err := checkScaffold(a.specPath, []byte(b.String()), apiServer, host, port); err != nil {
				return err
			}
			// The spec's folder is part of the repository (0755); a folder only the key needs is private (0700).
			var made []string
			undo := func() {
				for i := len(made) - 1; i >= 0; i-- {
					os.Remove(made[i])
				}
			}
			for _, d := range []struct {
				dir  string
				perm os.FileMode
			}{{filepath.Dir(a.specPath), 0o755}, {filepath.Dir(keyFile), 0o700}} {
				created, err := makeDirs(d.dir, d.perm)
				made = append(made, created...)
				if err != nil {
					undo()
					return fail(ExitUsage, "creating the folder %s: %v; nothing was written", d.dir, err)
				}
			}
			if err := key.WriteFile(keyFile); err != nil {
				undo()
				if errors.Is(err, secrets.ErrKeyFileExists) {
					return fail(ExitUsage, "%v; init never overwrites", err)
				}
				return fail(ExitUsage, "writing the age key: %v; nothing was written", err)
			}
			if err := writeNew(a.specPath, []byte(b.String())); err != nil {
				os.Remove(keyFile)
				undo()
				return fail(ExitUsage, "writing %s: %v; nothing was written", a.specPath, err)
			}
			fmt.Fprintf(a.stderr, "wrote %s and %s (age public key %s)\n", a.specPath, keyFile, key.Recipient)
			fmt.Fprintf(a.stderr, "%s is the PRIVATE key: never commit it and keep a copy somewhere safe.\n", keyFile)
			a.ignoreKey(keyFile, besideSpec)
			fmt.Fprintf(a.stderr, "Create the Secret Flux decrypts with (after flux bootstrap):\n")
			fmt.Fprintf(a.stdout, "kubectl create secret generic %s --namespace=%s --from-file=age.agekey=%s\n",
				flux.DecryptionSecret, spec.DefaultFluxNamespace, keyFile)
			return nil
		},
	}
	cmd.Flags().StringVar(&apiServer, "api-server", "", "the API server: host, host:port or https://host:port (default api.CLUSTER.example.com)")
	cmd.Flags().StringVar(&keyFile, "age-key", "", "where to write the age key pair (default CLUSTER.agekey next to the spec)")
	return cmd
}

// apiEndpoint reads --api-server as people paste it: a host name or address, host:port, or the URL a kubeconfig's
// server: holds (https://api.example.com:6443). Port 0 means none was given.
func apiEndpoint(s string) (host string, port int, err error) {
	hostPort := s
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return "", 0, errors.Unwrap(err) // url.Error repeats the whole value, which the caller already shows
		}
		if u.Scheme != "https" {
			return "", 0, fmt.Errorf("the Kubernetes API is served over https, not %s", u.Scheme)
		}
		if u.User != nil || u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" {
			return "", 0, errors.New("give only https://, the host and the port: the spec has no place for a user, path or query")
		}
		hostPort = u.Host
	}
	host = hostPort
	if h, p, err := net.SplitHostPort(hostPort); err == nil {
		host = h
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			// Port 0 is not written, and would silently become the default: refuse it with the rest.
			return "", 0, fmt.Errorf("port %q is not a number in 1-65535", p)
		}
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1] // [2001:db8::1] without a port
	}
	return host, port, nil
}

// checkScaffold loads the spec init is about to write as generate would, and refuses it with the loader's own
// messages, so that init can never write a spec generate refuses. Problems about the API server are told as problems
// with --api-server, since the file they would point into does not exist yet.
func checkScaffold(specPath string, data []byte, flag, host string, port int) error {
	m, err := spec.Load(specPath, data, spec.Options{})
	var problems spec.Problems
	if errors.As(err, &problems) {
		lines := make([]string, len(problems))
		for i, p := range problems {
			if strings.HasPrefix(p.Path, "clusters[0].apiServer.") {
				p.File, p.Pos, p.Path = "--api-server "+strconv.Quote(flag), spec.Pos{}, ""
			}
			lines[i] = p.String()
		}
		return fail(ExitUsage, "%s\ninit would write a spec that generate refuses; nothing was written", strings.Join(lines, "\n"))
	}
	if err != nil {
		return fail(ExitUsage, "checking the spec init would write: %v; nothing was written", err)
	}
	if port == 0 {
		port = spec.DefaultAPIPort
	}
	// A value the template could not carry as given would load as something else: refuse it rather than write that.
	if got := m.Clusters[0].APIServer; got.Host != host || got.Port != port {
		return fail(ExitUsage, "--api-server %q reads back as host %q port %d; nothing was written", flag, got.Host, got.Port)
	}
	return nil
}

// makeDirs creates dir and its missing parents with perm, and returns those it created, outermost first, for the
// caller to take away again if a later step fails. On error it has taken away what it made itself.
func makeDirs(dir string, perm os.FileMode) ([]string, error) {
	var missing []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		_, err := os.Stat(d)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	slices.Reverse(missing)
	for i, d := range missing {
		if err := os.Mkdir(d, perm); err != nil {
			for j := i - 1; j >= 0; j-- {
				os.Remove(missing[j])
			}
			return nil, err
		}
	}
	return missing, nil
}

// ignoreKey keeps the private key init wrote out of git: beside the spec (a folder bound for a repository) and
// anywhere inside a git work tree it is one `git add .` from being committed, so the .gitignore of its folder gets a
// line for it, unless git ignores it already. It says what it did, and warns when it could not.
func (a *app) ignoreKey(keyFile string, besideSpec bool) {
	name := filepath.Base(keyFile)
	warn := func(format string, args ...any) {
		fmt.Fprintf(a.stderr, "warning: %s: add %s to a .gitignore yourself\n", fmt.Sprintf(format, args...), name)
	}
	repo, err := gitrepo.Open(filepath.Dir(keyFile))
	switch {
	case errors.Is(err, gitrepo.ErrNoRepository):
		repo = nil
		if !besideSpec {
			return // in no repository (~/keys): there is nothing to commit it to
		}
	case err != nil:
		repo = nil // a repository go-git cannot read: a line in the folder's .gitignore is still the safe side
	default:
		if ignored, err := repo.IgnoredUntracked([]string{name}); err == nil && len(ignored) == 1 {
			return // a *.agekey at the repository's root, a global exclude: git leaves it alone already
		}
	}
	ignore, added, err := ignoreFile(keyFile)
	if err != nil {
		warn("could not add it to %s (%v)", ignore, err)
		return
	}
	if added {
		fmt.Fprintf(a.stderr, "added /%s to %s\n", name, ignore)
	}
	if repo != nil {
		// Read back through git's own rules: a pattern elsewhere (a negation, an ignored folder's rules) may still win.
		if ignored, err := repo.IgnoredUntracked([]string{name}); err != nil {
			warn("could not check that git ignores %s (%v)", keyFile, err)
		} else if len(ignored) != 1 {
			warn("git still does not ignore %s", keyFile)
		}
	}
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
