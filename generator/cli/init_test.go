package cli_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kronform/kronform-gen/generator/cli"
	"github.com/kronform/kronform-gen/generator/spec"
	"github.com/kronform/kronform-gen/internal/gittest"
)

func runInit(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := cli.Main(append([]string{"init"}, args...), strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// entries lists what a folder holds, to show that a refused init left nothing behind.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// --api-server takes what people paste (a kubeconfig's server: URL, host:port), and whatever init writes generate
// loads; what generate would refuse, init refuses with generate's message and writes nothing.
func TestInitAPIServer(t *testing.T) {
	for _, tc := range []struct {
		flag, host string
		port       int
	}{
		{"https://api.x.com:6443", "api.x.com", 6443},
		{"https://api.x.com/", "api.x.com", spec.DefaultAPIPort},
		{"api.x.com:443", "api.x.com", 443},
		{"api.x.com", "api.x.com", spec.DefaultAPIPort},
		{"https://[2001:db8::1]:6443", "2001:db8::1", 6443},
		{"2001:db8::1", "2001:db8::1", spec.DefaultAPIPort},
		{"192.0.2.1:8443", "192.0.2.1", 8443},
	} {
		dir := t.TempDir()
		specPath := filepath.Join(dir, "cluster-spec.yaml")
		if code, _, errOut := runInit("lab2", "--spec", specPath, "--api-server", tc.flag); code != 0 {
			t.Errorf("--api-server %s: exit %d\n%s", tc.flag, code, errOut)
			continue
		}
		m, err := spec.LoadFile(specPath, spec.Options{})
		if err != nil {
			t.Errorf("--api-server %s: generate would refuse the spec init wrote:\n%v", tc.flag, err)
			continue
		}
		if got := m.Clusters[0].APIServer; got.Host != tc.host || got.Port != tc.port {
			t.Errorf("--api-server %s: host %q port %d, want %q %d", tc.flag, got.Host, got.Port, tc.host, tc.port)
		}
	}
	for _, tc := range []struct{ flag, msg string }{
		{"api_x.com", `--api-server "api_x.com": "api_x.com" is neither an IP address nor a DNS name`},
		{"https://api x.com", `--api-server "https://api x.com": invalid character " " in host name`},
		{"http://api.x.com", "served over https, not http"},
		{"https://api.x.com:6443/k8s", "no place for a user, path or query"},
		{"api.x.com:0", `port "0" is not a number in 1-65535`},
		{"api.x.com:http", `port "http" is not a number`},
		{"api.x.com # the API", "nothing was written"},
	} {
		dir := t.TempDir()
		code, _, errOut := runInit("lab2", "--spec", filepath.Join(dir, "cluster-spec.yaml"), "--api-server", tc.flag)
		if code != 2 || !strings.Contains(errOut, tc.msg) {
			t.Errorf("--api-server %q: exit %d, want 2 and %q:\n%s", tc.flag, code, tc.msg, errOut)
		}
		if left := entries(t, dir); len(left) > 0 {
			t.Errorf("--api-server %q: refused, yet wrote %v", tc.flag, left)
		}
	}
}

// The --help example, `init lab -f lab/cluster-spec.yaml --age-key ~/keys/lab.agekey`, works on a fresh machine:
// init makes the folders, the key's private to its owner; and when it cannot, it takes away what it made.
func TestInitCreatesFolders(t *testing.T) {
	dir := t.TempDir()
	specPath := filepath.Join(dir, "lab", "cluster-spec.yaml")
	keyFile := filepath.Join(dir, "home", "keys", "lab.agekey")
	if code, _, errOut := runInit("lab", "-f", specPath, "--age-key", keyFile); code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if _, err := spec.LoadFile(specPath, spec.Options{}); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{filepath.Dir(keyFile): 0o700, keyFile: 0o600} {
		if info, err := os.Stat(p); err != nil || info.Mode().Perm() != want {
			t.Errorf("%s: %v %v, want mode %o", p, info, err, want)
		}
	}

	dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "afile"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runInit("lab", "-f", filepath.Join(dir, "a", "b", "cluster-spec.yaml"), "--age-key", filepath.Join(dir, "afile", "k", "lab.agekey"))
	if code != 2 || !strings.Contains(errOut, "creating the folder") || !strings.Contains(errOut, "nothing was written") {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if left := entries(t, dir); len(left) != 1 {
		t.Errorf("a failed init left %v behind", left)
	}
}

// A key written anywhere inside a git work tree, not only beside the spec, is ignored by git: `git add .` must not
// pick up the private key. A key git already ignores (a *.agekey at the root) gets no extra .gitignore.
func TestInitIgnoresKeyInWorkTree(t *testing.T) {
	gittest.Isolate(t)
	repo := t.TempDir()
	gittest.Run(t, repo, "init", "-q")
	if code, _, errOut := runInit("lab", "-f", filepath.Join(repo, "s", "cluster-spec.yaml"), "--age-key", filepath.Join(repo, "lab.agekey")); code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if status := gittest.Run(t, repo, "status", "--porcelain", "--untracked-files=all"); strings.Contains(status, "lab.agekey") {
		t.Errorf("git would commit the private key:\n%s", status)
	}
	if status := gittest.Run(t, repo, "check-ignore", "lab.agekey"); status != "lab.agekey\n" {
		t.Errorf("git check-ignore: %q", status)
	}

	repo = t.TempDir()
	gittest.Run(t, repo, "init", "-q")
	if err := os.WriteFile(filepath.Join(repo, ".gitignore"), []byte("*.agekey\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runInit("lab", "-f", filepath.Join(repo, "cluster-spec.yaml"), "--age-key", filepath.Join(repo, "keys", "lab.agekey")); code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(repo, "keys", ".gitignore")); !os.IsNotExist(err) {
		t.Errorf("a key the root's *.agekey ignores got a .gitignore of its own (%v)", err)
	}
	if status := gittest.Run(t, repo, "status", "--porcelain", "--untracked-files=all"); strings.Contains(status, "lab.agekey") {
		t.Errorf("git would commit the private key:\n%s", status)
	}
}

// The scaffold's commented secrets example, uncommented as it stands, names no value file that git would commit: a
// file source holds its value in the clear (docs/secrets.md: outside the repository, or ignored by git).
func TestInitExampleValueFilesStayOutOfGit(t *testing.T) {
	gittest.Isolate(t)
	repo := filepath.Join(t.TempDir(), "repo")
	if err := os.Mkdir(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	gittest.Run(t, repo, "init", "-q")
	specPath := filepath.Join(repo, "cluster-spec.yaml")
	if code, _, errOut := runInit("lab", "-f", specPath); code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	b, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	uncommented := false
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "    # "); ok && (strings.HasPrefix(rest, "secrets:") || strings.HasPrefix(rest, "  ")) {
			line, uncommented = "    "+rest, true
		}
		out = append(out, line)
	}
	if !uncommented {
		t.Fatalf("no commented secrets example in:\n%s", b)
	}
	if err := os.WriteFile(specPath, []byte(strings.Join(out, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := spec.LoadFile(specPath, spec.Options{})
	if err != nil {
		t.Fatalf("the uncommented example does not load: %v\n%s", err, strings.Join(out, ""))
	}
	files := 0
	for _, s := range m.Clusters[0].Secrets {
		for _, src := range s.Data {
			if src.File == "" {
				continue
			}
			files++
			p := filepath.Join(repo, filepath.FromSlash(src.File))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte("value"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	if files == 0 {
		t.Fatal("the example names no value file")
	}
	gittest.Run(t, repo, "add", "-A")
	if status := gittest.Run(t, repo, "status", "--porcelain", "--untracked-files=all"); strings.Contains(status, "pass") {
		t.Errorf("git would commit a value file of the example:\n%s", status)
	}
}
