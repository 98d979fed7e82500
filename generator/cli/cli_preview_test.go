package cli_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/kronform/kronform-gen/generator/cli"
	"github.com/kronform/kronform-gen/generator/secrets"
	"github.com/kronform/kronform-gen/internal/gittest"
)

// run calls the CLI in-process and returns exit code, stdout and stderr.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// project is a copy of the example spec (with its demo secrets) and a freshly generated output tree in a temporary
// folder.
type project struct {
	t         *testing.T
	dir, spec string
	out       string
}

func newProject(t *testing.T) *project {
	t.Helper()
	dir := t.TempDir()
	spec, err := os.ReadFile(filepath.Join("..", "..", "cluster-spec.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p := &project{t: t, dir: dir, spec: filepath.Join(dir, "cluster-spec.yaml"), out: filepath.Join(dir, "output")}
	if err := os.WriteFile(p.spec, spec, 0o644); err != nil {
		t.Fatal(err)
	}
	// The example's demo secret sources and PUBLIC demo key, where its spec names them.
	if err := os.CopyFS(filepath.Join(dir, "examples"), os.DirFS(filepath.Join("..", "..", "examples"))); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOPS_AGE_KEY_FILE", filepath.Join(dir, "examples", "demo.agekey"))
	if code, _, stderr := p.run("generate"); code != 0 {
		t.Fatalf("generate: exit %d\n%s", code, stderr)
	}
	return p
}

func (p *project) run(args ...string) (int, string, string) {
	p.t.Helper()
	return run(p.t, append(args, "--spec", p.spec, "--out", p.out)...)
}

// editSpec replaces the first old in the project's spec with new.
func (p *project) editSpec(old, new string) {
	p.t.Helper()
	b, err := os.ReadFile(p.spec)
	if err != nil || !strings.Contains(string(b), old) {
		p.t.Fatalf("%q is not in the spec (%v)", old, err)
	}
	if err := os.WriteFile(p.spec, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		p.t.Fatal(err)
	}
}

func (p *project) path(rel string) string { return filepath.Join(p.out, filepath.FromSlash(rel)) }

func (p *project) write(rel, data string) {
	p.t.Helper()
	if err := os.MkdirAll(filepath.Dir(p.path(rel)), 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(p.path(rel), []byte(data), 0o644); err != nil {
		p.t.Fatal(err)
	}
}

func (p *project) read(rel string) string {
	p.t.Helper()
	b, err := os.ReadFile(p.path(rel))
	if err != nil {
		p.t.Fatal(err)
	}
	return string(b)
}

// checkJSON runs check --output json and decodes it.
func (p *project) checkJSON() (int, map[string]any) {
	p.t.Helper()
	code, stdout, stderr := p.run("check", "--output", "json")
	var rep map[string]any
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		p.t.Fatalf("check --output json is not JSON: %v\n%s\n%s", err, stdout, stderr)
	}
	return code, rep
}

const release = "infrastructure/kronform/cilium/helmrelease.yaml"

func TestCheckInSync(t *testing.T) {
	p := newProject(t)
	code, stdout, stderr := p.run("check")
	if code != 0 || stdout != "" {
		t.Fatalf("check on a fresh tree: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, rep := p.checkJSON()
	if code != 0 || rep["inSync"] != true || len(rep["files"].([]any)) != 0 || len(rep["plaintextSecrets"].([]any)) != 0 {
		t.Fatalf("check --output json on a fresh tree: exit %d, %v", code, rep)
	}
}

// A generated file replaced by a link to a file outside the tree: check, validate and build never read the target
// (in CI it could be a pull request's link to a credentials file, printed in a diff), check calls the file missing,
// and generate puts the file back.
func TestLinksInTheTreeAreNeverFollowed(t *testing.T) {
	p := newProject(t)
	const canary = "CANARY-LINK-TARGET-4711"
	target := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(target, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: "+canary+"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove(p.path(release))
	if err := os.Symlink(target, p.path(release)); err != nil {
		t.Fatal(err)
	}
	var streams []string
	for _, args := range [][]string{{"check"}, {"check", "--output", "json"}, {"validate"}, {"build"}} {
		_, stdout, stderr := p.run(args...)
		streams = append(streams, stdout, stderr)
	}
	for _, s := range streams {
		if strings.Contains(s, canary) {
			t.Fatalf("a command read through the link:\n%s", s)
		}
	}
	code, stdout, _ := p.run("check")
	if want := "missing  " + release + " (a symbolic link or other non-file stands there"; code != 1 || !strings.HasPrefix(stdout, want) {
		t.Fatalf("check: exit %d\n%s\nwant it to start %q", code, stdout, want)
	}
	_, rep := p.checkJSON()
	if f := rep["files"].([]any)[0].(map[string]any); f["path"] != release || f["change"] != "missing" || f["notAFile"] != true {
		t.Fatalf("check --output json: %v", f)
	}
	if code, _, stderr := p.run("generate"); code != 0 {
		t.Fatalf("generate: exit %d\n%s", code, stderr)
	}
	if st, err := os.Lstat(p.path(release)); err != nil || !st.Mode().IsRegular() {
		t.Fatalf("generate left the link: %v", err)
	}
	if code, _, stderr := p.run("check"); code != 0 {
		t.Fatalf("check after generate: exit %d\n%s", code, stderr)
	}
}

// A pull request that commits a hand-edited tree together with a staging folder whose journal would put the
// generated files back: check must not apply it (the gate would then pass a tree that is not what gets merged); it
// refuses, exit 2, and writes nothing.
func TestCheckNeverAppliesACommittedWrite(t *testing.T) {
	p := newProject(t)
	generated := p.read(release)
	edited := strings.Replace(generated, "version: 1.13.4", "version: 9.9.9", 1)
	p.write(release, edited)
	p.write(".kronform-gen/txn/files/0", generated)
	p.write(".kronform-gen/txn/journal", `{"put":[{"staged":"files/0","path":"`+release+`"}]}`)
	code, stdout, stderr := p.run("check")
	if code != 2 || !strings.Contains(stderr, "holds an unfinished write") || !strings.Contains(stderr, "remove it from git") {
		t.Fatalf("check with a committed staging folder: exit %d\n%s%s", code, stdout, stderr)
	}
	if p.read(release) != edited {
		t.Fatal("check applied the staged write")
	}
	if _, err := os.Stat(p.path(".kronform-gen/txn/journal")); err != nil {
		t.Fatal("check removed the staging folder")
	}
	// The other commands that read the tree and write nothing refuse it the same way, rather than judge or build
	// the tree the journal would rewrite.
	for _, args := range [][]string{{"diff", "--ref", "HEAD"}, {"validate"}, {"build"}} {
		code, stdout, stderr := p.run(args...)
		if code != 2 || !strings.Contains(stderr, "holds an unfinished write") || !strings.Contains(stderr, args[0]+" reads only whole trees") {
			t.Errorf("%s with a committed staging folder: exit %d\n%s%s", args[0], code, stdout, stderr)
		}
	}
}

// In CI the spec comes from the pull request: a link out of the repository (to a token on the runner) is refused
// before it is read. A link inside the repository, or a spec outside any repository, is read as before.
func TestASpecIsNotReadThroughALinkOutOfItsRepository(t *testing.T) {
	p := newProject(t)
	gitRepo(t, p.dir)
	real, _ := os.ReadFile(p.spec)
	token := filepath.Join(t.TempDir(), "token")
	os.WriteFile(token, []byte("ghp_SECRET4711\n"), 0o600)
	os.Remove(p.spec)
	if err := os.Symlink(token, p.spec); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := p.run("check")
	if code != 2 || strings.Contains(stdout+stderr, "4711") || !strings.Contains(stderr, "outside the git repository") {
		t.Fatalf("a spec linked out of the repository: exit %d\n%s%s", code, stdout, stderr)
	}
	os.MkdirAll(filepath.Join(p.dir, "specs"), 0o755)
	os.WriteFile(filepath.Join(p.dir, "specs", "kronform.yaml"), real, 0o644)
	os.Remove(p.spec)
	if err := os.Symlink(filepath.Join("specs", "kronform.yaml"), p.spec); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := p.run("check"); code != 0 {
		t.Fatalf("a spec linked inside the repository: exit %d\n%s", code, stderr)
	}
}

func TestCheckHandEdit(t *testing.T) {
	p := newProject(t)
	p.write(release, strings.Replace(p.read(release), "version: 1.13.4", "version: 1.14.0", 1))
	code, stdout, _ := p.run("check")
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	want := "changed  " + release + " (edited by hand)\n--- a/" + release + "\n+++ b/" + release + "\n"
	if !strings.HasPrefix(stdout, want) {
		t.Fatalf("check output starts:\n%s\nwant it to start:\n%s", stdout, want)
	}
	for _, line := range []string{"\n-      version: 1.14.0\n", "\n+      version: 1.13.4\n"} {
		if !strings.Contains(stdout, line) {
			t.Errorf("the diff lacks %q:\n%s", line, stdout)
		}
	}
	_, rep := p.checkJSON()
	files := rep["files"].([]any)
	if len(files) != 1 {
		t.Fatalf("files: %v", files)
	}
	f := files[0].(map[string]any)
	if f["path"] != release || f["change"] != "changed" || f["handEdited"] != true || !strings.Contains(f["diff"].(string), "+      version: 1.13.4") {
		t.Errorf("json file entry: %v", f)
	}
}

// A generated file whose last newline was lost (an editor set not to add one) showed no diff at all, under "only
// masked Secret values differ", in a file holding no Secret. The diff shows the last line changed, with git's marker.
func TestCheckMissingLastNewline(t *testing.T) {
	p := newProject(t)
	const repo = "infrastructure/kronform/cilium/helmrepository.yaml"
	p.write(repo, strings.TrimSuffix(p.read(repo), "\n"))
	code, stdout, _ := p.run("check")
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	want := "changed  " + repo + " (edited by hand)\n--- a/" + repo + "\n+++ b/" + repo + "\n"
	if !strings.HasPrefix(stdout, want) || strings.Contains(stdout, "only masked Secret values differ") ||
		!strings.Contains(stdout, "\n-  url: https://helm.cilium.io/\n\\ No newline at end of file\n+  url: https://helm.cilium.io/\n") {
		t.Fatalf("check output:\n%s", stdout)
	}
}

// The same in a Secret's file: masking re-encoded it and gave it back its last newline, so the diff hid the change.
// The marker follows the last (masked) line; no value shows.
func TestCheckMissingLastNewlineInASecretFile(t *testing.T) {
	p := newProject(t)
	const secret = "infrastructure/kronform/secrets/kube-system/hcloud.yaml"
	p.write(secret, strings.TrimSuffix(p.read(secret), "\n"))
	t.Setenv("SOPS_AGE_KEY_FILE", "")
	code, stdout, _ := p.run("check")
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	_, diff, _ := strings.Cut(stdout, "changed  "+secret+" (edited by hand)\n")
	if !strings.Contains(diff, "\n\\ No newline at end of file\n+") {
		t.Fatalf("check output:\n%s", stdout)
	}
	for _, f := range []string{"robot-password", "robot-user"} {
		v, err := os.ReadFile(filepath.Join(p.dir, "examples", "demo-secrets", f))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(stdout, strings.TrimSpace(string(v))) {
			t.Fatalf("check shows the value of %s:\n%s", f, stdout)
		}
	}
}

func TestCheckDeletedFile(t *testing.T) {
	p := newProject(t)
	if err := os.Remove(p.path(release)); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ := p.run("check")
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.HasPrefix(stdout, "missing  "+release+"\n--- /dev/null\n+++ b/"+release+"\n") {
		t.Fatalf("check output:\n%s", stdout)
	}
	// A mistyped --out reads as every file missing: the summary says why first.
	code, _, stderr := run(t, "check", "--spec", p.spec, "--out", p.out+"-typo")
	if code != 1 || !strings.Contains(stderr, "-typo does not exist (a mistyped --out, or generate never ran)") {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
}

func TestCheckStrayFile(t *testing.T) {
	p := newProject(t)
	stray := "infrastructure/kronform/cilium/extra-values.yaml"
	p.write(stray, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n")
	// A file of your own beside the bootstrap files is yours: not reported.
	p.write("clusters/kronform/apps.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mine\n")
	code, stdout, stderr := p.run("check")
	want := "stray    " + stray + " (not generated, in a folder kronform-gen generates: delete or move it)\n"
	if code != 1 || stdout != want {
		t.Fatalf("exit %d, output:\n%s\nwant exit 1 and:\n%s", code, stdout, want)
	}
	// generate leaves files it did not write alone: the summary must not send the user there.
	if !strings.Contains(stderr, "1 stray file(s) in folders kronform-gen generates whole: delete or move them") || strings.Contains(stderr, "run kronform-gen generate") {
		t.Fatalf("summary:\n%s", stderr)
	}
	// generate leaves it alone too, but says so rather than "up to date" alone.
	code, _, stderr = p.run("generate")
	if code != 0 || !strings.Contains(stderr, "note: stray "+stray+" (not generated, in a folder kronform-gen generates whole") {
		t.Fatalf("generate: exit %d\n%s", code, stderr)
	}
}

func TestCheckPlaintextSecret(t *testing.T) {
	p := newProject(t)
	// Not generated, outside any Flux path, and still reported; the value never shows.
	p.write("apps/db/secret.yaml", `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: fast
---
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: apps
stringData:
  password: hunter2
`)
	// Encrypted values are fine.
	p.write("apps/db/sealed.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: ok\ndata:\n  password: ENC[AES256_GCM,data:abc=,iv:def=,tag:ghi=,type:str]\nsops:\n  version: 3.13.3\n")
	code, stdout, stderr := p.run("check")
	want := "plaintext Secret apps/db/secret.yaml (document 2, apps/db): stringData.password\n"
	if code != 1 || stdout != want {
		t.Fatalf("exit %d, output:\n%s\nwant exit 1 and:\n%s", code, stdout, want)
	}
	if strings.Contains(stdout+stderr, "hunter2") {
		t.Fatal("the plaintext value was printed")
	}
	_, rep := p.checkJSON()
	s := rep["plaintextSecrets"].([]any)
	if len(s) != 1 || s[0].(map[string]any)["name"] != "db" {
		t.Fatalf("plaintextSecrets: %v", s)
	}

	// Any file can be a kustomize resource: JSON, or a name without .yaml; prose that mentions Secrets is no manifest.
	os.Remove(p.path("apps/db/secret.yaml"))
	p.write("apps/db/creds.txt", "apiVersion: v1\nkind: Secret # for the app\nmetadata: {name: txt, namespace: apps}\nstringData: {token: hunter2}\n")
	p.write("apps/db/creds.json", `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"json","namespace":"apps"},"data":{"token":"aHVudGVyMg=="}}`)
	p.write("apps/README.md", "# Secrets: never commit them [in the clear\n")
	code, stdout, stderr = p.run("check")
	want = "plaintext Secret apps/db/creds.json (document 1, apps/json): data.token\n" +
		"plaintext Secret apps/db/creds.txt (document 1, apps/txt): stringData.token\n"
	if code != 1 || stdout != want || strings.Contains(stdout+stderr, "hunter2") || strings.Contains(stdout+stderr, "aHVudGVyMg") {
		t.Fatalf("exit %d, output:\n%s%s\nwant exit 1 and:\n%s", code, stdout, stderr, want)
	}

	// secretGenerator: the commonest way plaintext reaches a kustomize repository. A SOPS-encrypted env file is fine.
	os.Remove(p.path("apps/db/creds.txt"))
	os.Remove(p.path("apps/db/creds.json"))
	p.write("apps/gen/kustomization.yaml", "secretGenerator:\n- name: app\n  namespace: apps\n  literals: [password=hunter2]\n  envs: [db.env, sealed.env]\n")
	p.write("apps/gen/db.env", "TOKEN=hunter2\n")
	p.write("apps/gen/sealed.env", "TOKEN=ENC[AES256_GCM,data:a,iv:b,tag:c,type:str]\nsops_mac=ENC[AES256_GCM,data:a,iv:b,tag:c,type:str]\n")
	code, stdout, stderr = p.run("check")
	want = "plaintext Secret apps/gen/kustomization.yaml (document 1, apps/app): secretGenerator.envs.db.env, secretGenerator.literals.password\n"
	if code != 1 || stdout != want || strings.Contains(stdout+stderr, "hunter2") {
		t.Fatalf("exit %d, output:\n%s%s\nwant exit 1 and:\n%s", code, stdout, stderr, want)
	}

	// Past 1 MiB a file is read only if kustomize could read it: a YAML or JSON name, a kustomization naming it as a
	// resource or a generator's source. Another (a disk image) is no manifest Flux applies, and is not read whole.
	os.RemoveAll(p.path("apps/gen"))
	pad := strings.Repeat("# padding\n", 120_000)
	secret := func(name string) string {
		return pad + "---\napiVersion: v1\nkind: Secret\nmetadata: {name: " + name + ", namespace: apps}\nstringData: {token: hunter2}\n"
	}
	p.write("apps/big/secret.yaml", secret("yaml"))
	p.write("apps/big/bundle.txt", secret("named"))
	p.write("apps/big/kustomization.yaml", "resources: [secret.yaml, bundle.txt]\nsecretGenerator:\n- name: gen\n  namespace: apps\n  envs: [big.env]\n")
	p.write("apps/big/big.env", pad+"TOKEN=hunter2\n")
	p.write("apps/big/disk.img", secret("image"))
	code, stdout, stderr = p.run("check")
	want = "plaintext Secret apps/big/bundle.txt (document 1, apps/named): stringData.token\n" +
		"plaintext Secret apps/big/kustomization.yaml (document 1, apps/gen): secretGenerator.envs.big.env\n" +
		"plaintext Secret apps/big/secret.yaml (document 1, apps/yaml): stringData.token\n"
	if code != 1 || stdout != want || strings.Contains(stdout+stderr, "hunter2") {
		t.Fatalf("exit %d, output:\n%s%s\nwant exit 1 and:\n%s", code, stdout, stderr, want)
	}
}

func TestCheckMasksSecretValuesInDiffs(t *testing.T) {
	p := newProject(t)
	// An owned file turned into a Secret by hand: the diff shows the change with the value masked.
	p.write(release, p.read(release)+"---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: leak\nstringData:\n  token: s3cr3t\n")
	code, stdout, _ := p.run("check")
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	if strings.Contains(stdout, "s3cr3t") {
		t.Fatalf("the secret value shows in the diff:\n%s", stdout)
	}
	if !strings.Contains(stdout, "-  token: '*****'\n") {
		t.Errorf("the masked value is not in the diff:\n%s", stdout)
	}
}

// gitRepo makes a repository at dir with everything committed, by a known author.
func gitRepo(t *testing.T, dir string) *git.Repository {
	t.Helper()
	r, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	commitAll(t, r, "initial")
	return r
}

func commitAll(t *testing.T, r *git.Repository, msg string) {
	t.Helper()
	wt, err := r.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if err := wt.AddGlob("."); err != nil {
		t.Fatal(err)
	}
	if _, err := wt.Commit(msg, &git.CommitOptions{All: true, Author: &object.Signature{Name: "Test", Email: "test@example.com"}}); err != nil {
		t.Fatal(err)
	}
}

// The first run in a new repository: no commit yet, no output folder yet. generate --commit makes the first commit;
// diff against it with the output folder gone lists every object as removed, as a ref without the folder would
// list every object as added.
func TestFirstCommitAndADiffWithoutTheOutputFolder(t *testing.T) {
	dir := t.TempDir()
	spec, err := os.ReadFile(filepath.Join("..", "..", "cluster-spec.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "cluster-spec.yaml"), spec, 0o644)
	if err := os.CopyFS(filepath.Join(dir, "examples"), os.DirFS(filepath.Join("..", "..", "examples"))); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOPS_AGE_KEY_FILE", filepath.Join(dir, "examples", "demo.agekey"))
	gittest.Isolate(t)
	t.Setenv("GIT_AUTHOR_NAME", "Gen Erator")
	t.Setenv("GIT_AUTHOR_EMAIL", "gen@example.com")
	r, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	p := &project{t: t, dir: dir, spec: filepath.Join(dir, "cluster-spec.yaml"), out: filepath.Join(dir, "output")}
	code, _, stderr := p.run("generate", "--commit", "-m", "first")
	if code != 0 || !strings.Contains(stderr, "committed ") {
		t.Fatalf("generate --commit in a repository without commits or output folder: exit %d\n%s", code, stderr)
	}
	head, err := r.Head()
	if err != nil {
		t.Fatal(err)
	}
	c, _ := r.CommitObject(head.Hash())
	if _, err := c.File("output/" + release); err != nil || c.Message != "first" {
		t.Fatalf("the first commit %q lacks %s: %v", c.Message, release, err)
	}
	os.RemoveAll(p.out)
	code, stdout, stderr := p.run("diff", "--ref", "HEAD")
	if code != 1 || !strings.HasSuffix(stdout, "0 added, 0 changed, 4 removed (HEAD -> working tree); 2 file(s) removed under hetzner/, which Flux does not apply: remove the template from Robot and its servers\n") {
		t.Fatalf("diff with the output folder gone: exit %d\n%s%s", code, stdout, stderr)
	}
}

func TestDiffAgainstARef(t *testing.T) {
	p := newProject(t)
	gitRepo(t, p.dir)
	code, stdout, stderr := p.run("diff", "--ref", "HEAD")
	if code != 0 || stdout != "0 added, 0 changed, 0 removed (HEAD -> working tree)\n" {
		t.Fatalf("diff of an unchanged tree: exit %d\n%s%s", code, stdout, stderr)
	}
	// Change the spec: the chart version, and drop the host policies' only policy file by renaming it.
	spec, _ := os.ReadFile(p.spec)
	spec = bytes.Replace(spec, []byte("version: 1.13.4"), []byte("version: 1.13.5"), 1)
	os.WriteFile(p.spec, spec, 0o644)
	if code, _, stderr := p.run("generate"); code != 0 {
		t.Fatal(stderr)
	}
	p.write("infrastructure/kronform/cilium/kustomization.yaml",
		p.read("infrastructure/kronform/cilium/kustomization.yaml")+"- secret.yaml\n")
	p.write("infrastructure/kronform/cilium/secret.yaml",
		"apiVersion: v1\nkind: Secret\nmetadata:\n  name: token\n  namespace: kube-system\nstringData:\n  token: s3cr3t\n")
	before := p.read(release)

	code, stdout, _ = p.run("diff", "--ref", "HEAD")
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, stdout)
	}
	want := `~ kronform/HelmRelease/kube-system/cilium (changed)
--- HEAD
+++ working tree
@@ -10,7 +10,7 @@
       sourceRef:
         kind: HelmRepository
         name: cilium
-      version: 1.13.4
+      version: 1.13.5
   install:
     remediation:
       retries: 3
+ kronform/Secret/kube-system/token (added)
--- HEAD
+++ working tree
@@ -0,0 +1,7 @@
+apiVersion: v1
+kind: Secret
+metadata:
+  name: token
+  namespace: kube-system
+stringData:
+  token: '*****'
1 added, 1 changed, 0 removed (HEAD -> working tree)
`
	if stdout != want {
		t.Errorf("diff --ref HEAD:\n%s\nwant:\n%s", stdout, want)
	}
	if p.read(release) != before {
		t.Error("diff changed the working tree")
	}

	code, stdout, _ = p.run("diff", "--ref", "HEAD", "--max-lines", "3", "--full-output", filepath.Join(p.dir, "full.diff"))
	full, _ := os.ReadFile(filepath.Join(p.dir, "full.diff"))
	lines := strings.Split(strings.TrimSuffix(want, "\n"), "\n")
	truncated := strings.Join(lines[:3], "\n") + "\n... truncated: " + strconv.Itoa(len(lines)-4) + " more lines; the full diff is in " +
		filepath.Join(p.dir, "full.diff") + "\n" + lines[len(lines)-1] + "\n"
	if code != 1 || stdout != truncated || string(full) != want {
		t.Errorf("truncated: exit %d\n%s\nwant:\n%s\nfull file:\n%s", code, stdout, truncated, full)
	}

	code, stdout, _ = p.run("diff", "--ref", "HEAD", "--output", "json")
	var rep struct {
		Summary struct{ Added, Changed, Removed int }
		Objects []struct{ Key, Change, Diff string }
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if code != 1 || rep.Summary.Added != 1 || rep.Summary.Changed != 1 || len(rep.Objects) != 2 || rep.Objects[0].Key != "kronform/HelmRelease/kube-system/cilium" {
		t.Errorf("json: exit %d, %+v", code, rep)
	}
	if strings.Contains(stdout, "s3cr3t") {
		t.Error("a secret value shows in the JSON diff")
	}

	if code, _, stderr := p.run("diff", "--ref", "no-such-branch"); code != 2 || !strings.Contains(stderr, `resolving "no-such-branch"`) {
		t.Errorf("unknown ref: exit %d, %s", code, stderr)
	}
	// A mistyped --out, in neither the working tree nor the ref, would compare nothing with nothing and pass.
	missing := filepath.Join(p.dir, "outptu")
	code, stdout, stderr = run(t, "diff", "--ref", "HEAD", "--spec", p.spec, "--out", missing)
	if code != 2 || !strings.Contains(stderr, missing+" exists neither in the working tree nor at HEAD") {
		t.Errorf("diff --out of a folder that is nowhere: exit %d\n%s%s", code, stdout, stderr)
	}
}

// A change to the escape hatch rewrites only hetzner/, which no Flux Kustomization applies: generate says the
// template must be uploaded to Robot, and diff lists the files apart from the objects, in text and JSON, and exits 1.
func TestRobotTemplateChangesAreNamed(t *testing.T) {
	p := newProject(t)
	gitRepo(t, p.dir)
	spec, _ := os.ReadFile(p.spec)
	// The admin moves, and the spec's assertion that the admin reaches apid with it: left behind, the old address
	// would be locked out by the new template, which audit mode does not lift, and generate would refuse.
	os.WriteFile(p.spec, bytes.ReplaceAll(spec, []byte("89.23.224.44"), []byte("89.23.224.45")), 0o644)
	code, _, stderr := p.run("generate")
	if code != 0 || !strings.Contains(stderr, "note: the Robot firewall template in hetzner/kronform/ changed, and Flux does not apply it: "+
		"upload hetzner/kronform/firewall-template.form to Robot and apply it to each server of the cluster") {
		t.Fatalf("generate: exit %d\n%s", code, stderr)
	}

	code, stdout, _ := p.run("diff", "--ref", "HEAD")
	for _, want := range []string{
		"~ hetzner/kronform/firewall-template.form (changed; not applied by Flux: upload to Robot)\n",
		"-rules[input][0][src_ip]=89.23.224.44%2F32&\n+rules[input][0][src_ip]=89.23.224.45%2F32&\n",
		"~ hetzner/kronform/firewall-template.json (changed; not applied by Flux: upload to Robot)\n",
		"\n0 added, 0 changed, 0 removed (HEAD -> working tree); 2 file(s) changed under hetzner/, which Flux does not apply: upload to Robot\n",
	} {
		if code != 1 || !strings.Contains(stdout, want) {
			t.Errorf("diff: exit %d, no %q in\n%s", code, want, stdout)
		}
	}

	code, stdout, _ = p.run("diff", "--ref", "HEAD", "--output", "json")
	var rep struct {
		Summary struct{ Added, Changed, Removed, Hetzner int }
		Hetzner []struct{ Path, Change, Diff string }
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if code != 1 || rep.Summary.Hetzner != 2 || len(rep.Hetzner) != 2 || rep.Hetzner[1].Path != "hetzner/kronform/firewall-template.json" ||
		rep.Hetzner[1].Change != "changed" || !strings.Contains(rep.Hetzner[1].Diff, `+          "src_ip": "89.23.224.45/32",`) {
		t.Errorf("json: exit %d, %+v", code, rep)
	}
}

// A Robot template whose files move to another folder under the same template name (its cluster renamed, its
// template name kept) is the template Robot has: diff neither asks to remove it from Robot and its servers, which
// would take the escape hatch off them, nor to upload it unchanged; changed, it is to upload, diffed against the old.
func TestMovedRobotTemplateIsNotRemoved(t *testing.T) {
	p := newProject(t)
	gitRepo(t, p.dir)
	// Renamed as the README says: flux.path kept, so Flux on the same live cluster (the same servers) applies it.
	p.editSpec("  - name: kronform\n", "  - name: kf\n    flux: {path: clusters/kronform}\n")
	if code, _, stderr := p.run("generate"); code != 0 {
		t.Fatalf("generate: exit %d\n%s", code, stderr)
	}
	// The Secret is encrypted anew in its new folder (a difference of its own); the template is none.
	code, stdout, _ := p.run("diff", "--ref", "HEAD")
	want := "# hetzner/kronform/ moved to hetzner/kf/: the same Robot template (kronform), unchanged: nothing to upload or remove\n"
	if !strings.Contains(stdout, want) || strings.Contains(stdout, "remove it from Robot") || strings.Contains(stdout, "upload to Robot") ||
		strings.Contains(stdout, "under hetzner/") {
		t.Errorf("an unchanged template moved: exit %d, want %q and no Robot template to carry in\n%s", code, want, stdout)
	}
	form, _ := os.ReadFile(p.path("hetzner/kf/firewall-template.form"))
	p.write("hetzner/kf/firewall-template.form", strings.Replace(string(form), "89.23.224.44", "89.23.224.45", 1))
	code, stdout, _ = p.run("diff", "--ref", "HEAD")
	for _, want := range []string{
		"~ hetzner/kf/firewall-template.form (changed; moved from hetzner/kronform/firewall-template.form, the same Robot template (kronform); not applied by Flux: upload to Robot)\n",
		"-rules[input][0][src_ip]=89.23.224.44%2F32&\n+rules[input][0][src_ip]=89.23.224.45%2F32&\n",
		"; 1 file(s) changed under hetzner/, which Flux does not apply: upload to Robot\n",
	} {
		if code != 1 || !strings.Contains(stdout, want) {
			t.Errorf("a changed template moved: exit %d, no %q in\n%s", code, want, stdout)
		}
	}
	if strings.Contains(stdout, "remove it from Robot") || strings.Contains(stdout, "remove the") || strings.Contains(stdout, "removed;") {
		t.Errorf("a changed template moved is not to remove:\n%s", stdout)
	}
}

// A Robot template name that another cluster takes over (a new cluster, while the one that had it is renamed and
// takes a new name) is no move: the new cluster's servers have no template yet, so its template is to upload and apply
// to them, however alike the files are. diff said "moved ...: nothing to upload or remove", with exit 0 for it.
func TestRobotTemplateNameTakenOverIsNotMoved(t *testing.T) {
	p := newProject(t)
	gitRepo(t, p.dir)
	p.editSpec("  - name: kronform\n", "  - name: kf\n    flux: {path: clusters/kronform}\n")
	p.editSpec("      template: kronform\n", "      template: kf\n")
	spec, _ := os.ReadFile(p.spec)
	delta := `  - name: delta
    apiServer: {host: api.delta.example.com}
    nodes:
      - {name: d1, addresses: [198.51.100.4], roles: [control-plane]}
    cilium: {version: 1.16.0, auditMode: true}
    hetzner: {template: kronform, adminSources: [89.23.224.44/32]}
`
	if err := os.WriteFile(p.spec, []byte(strings.Replace(string(spec), "clusters:\n", "clusters:\n"+delta, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := p.run("generate"); code != 0 {
		t.Fatalf("generate: exit %d\n%s", code, stderr)
	}
	code, stdout, _ := p.run("diff", "--ref", "HEAD")
	for _, want := range []string{
		"+ hetzner/delta/firewall-template.form (added; not applied by Flux: upload to Robot)\n",
		"+ hetzner/kf/firewall-template.form (added; not applied by Flux: upload to Robot)\n",
	} {
		if code != 1 || !strings.Contains(stdout, want) || strings.Contains(stdout, "moved to") || strings.Contains(stdout, "moved from") {
			t.Errorf("a template name another cluster takes over: exit %d, want %q and no move in\n%s", code, want, stdout)
		}
	}
}

// Two clusters that swap names (each its flux.path and template name kept) swap folders under hetzner/: each template
// is the one Robot has, on the same servers. diff paired only a folder that went away with one that came, so it
// listed both as changed, to upload, and counted them as differences.
func TestRobotTemplatesSwappedWithTheirClusters(t *testing.T) {
	p := newProject(t)
	delta := `  - name: delta
    apiServer: {host: api.delta.example.com}
    nodes:
      - {name: d1, addresses: [198.51.100.4], roles: [control-plane]}
    cilium: {version: 1.16.0, auditMode: true}
    hetzner: {template: delta-fw, adminSources: [89.23.224.44/32, 192.0.2.7/32]}
`
	p.editSpec("clusters:\n", "clusters:\n"+delta)
	if code, _, stderr := p.run("generate"); code != 0 {
		t.Fatalf("generate: exit %d\n%s", code, stderr)
	}
	gitRepo(t, p.dir)
	p.editSpec("  - name: delta\n", "  - name: kronform-next\n    flux: {path: clusters/delta}\n")
	p.editSpec("  - name: kronform\n", "  - name: delta\n    flux: {path: clusters/kronform}\n")
	p.editSpec("  - name: kronform-next\n", "  - name: kronform\n")
	if code, _, stderr := p.run("generate"); code != 0 {
		t.Fatalf("generate: exit %d\n%s", code, stderr)
	}
	_, stdout, _ := p.run("diff", "--ref", "HEAD")
	for _, want := range []string{
		"# hetzner/delta/ moved to hetzner/kronform/: the same Robot template (delta-fw), unchanged: nothing to upload or remove\n",
		"# hetzner/kronform/ moved to hetzner/delta/: the same Robot template (kronform), unchanged: nothing to upload or remove\n",
	} {
		if !strings.Contains(stdout, want) || strings.Contains(stdout, "upload to Robot") || strings.Contains(stdout, "under hetzner/") {
			t.Errorf("two clusters swapping names: want %q, and no Robot template to carry, in\n%s", want, stdout)
		}
	}
}

// A Robot template that goes away (its cluster removed, or its hetzner block) is nothing to upload: it stays in Robot,
// and on the servers it is applied to, until the admin removes it there, as generate says. diff said "upload to Robot".
func TestRemovedRobotTemplatesAreNotToUpload(t *testing.T) {
	p := newProject(t)
	gitRepo(t, p.dir)
	if err := os.RemoveAll(p.path("hetzner")); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ := p.run("diff", "--ref", "HEAD")
	for _, want := range []string{
		"# Flux does not apply files under hetzner/: a removed Robot template stays in Robot, and on the servers it is applied to, until you remove it there (docs/firewall.md",
		"- hetzner/kronform/firewall-template.form (removed; not applied by Flux: remove it from Robot and its servers)\n",
		"\n0 added, 0 changed, 0 removed (HEAD -> working tree); 2 file(s) removed under hetzner/, which Flux does not apply: remove the template from Robot and its servers\n",
	} {
		if code != 1 || !strings.Contains(stdout, want) {
			t.Errorf("diff: exit %d, no %q in\n%s", code, want, stdout)
		}
	}
	if strings.Contains(stdout, "upload") {
		t.Errorf("diff tells to upload a template that went away:\n%s", stdout)
	}

	// A template removed beside one added (a cluster renamed): both are said.
	p.write("hetzner/other/firewall-template.form", "name=other\n")
	_, stdout, _ = p.run("diff", "--ref", "HEAD")
	for _, want := range []string{
		"# Flux does not apply files under hetzner/: upload each changed Robot template to Robot and apply it to each server of its cluster; a removed Robot template stays in Robot",
		"+ hetzner/other/firewall-template.form (added; not applied by Flux: upload to Robot)\n",
		"; 3 file(s) changed under hetzner/, which Flux does not apply: upload to Robot, and remove the removed template from Robot and its servers\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("diff: no %q in\n%s", want, stdout)
		}
	}
}

func TestGenerateCommit(t *testing.T) {
	p := newProject(t)
	gittest.Isolate(t)
	r := gitRepo(t, p.dir)
	t.Setenv("GIT_AUTHOR_NAME", "Gen Erator")
	t.Setenv("GIT_AUTHOR_EMAIL", "gen@example.com")
	p.write("../notes.txt", "not ours\n") // an untracked file elsewhere is left alone

	spec, _ := os.ReadFile(p.spec)
	os.WriteFile(p.spec, bytes.Replace(spec, []byte("version: 1.13.4"), []byte("version: 1.13.5"), 1), 0o644)
	code, _, stderr := p.run("generate", "--commit", "-m", "cilium 1.13.5")
	if code != 0 {
		t.Fatalf("generate --commit: exit %d\n%s", code, stderr)
	}
	head, _ := r.Head()
	c, _ := r.CommitObject(head.Hash())
	if c.Message != "cilium 1.13.5" || c.Author.Name != "Gen Erator" {
		t.Errorf("commit %q by %s", c.Message, c.Author.Name)
	}
	parent, _ := c.Parent(0)
	patch, _ := parent.Patch(c)
	var changed []string
	for _, fp := range patch.FilePatches() {
		from, to := fp.Files()
		if to != nil {
			changed = append(changed, to.Path())
		} else {
			changed = append(changed, from.Path())
		}
	}
	want := []string{"output/.kronform-gen/owned.json", "output/" + release}
	if strings.Join(changed, " ") != strings.Join(want, " ") {
		t.Errorf("the commit changed %v, want %v", changed, want)
	}
	// The changed spec is not an owned path: it stays out of the commit, and the user hears that check would fail.
	specNote := "cluster-spec.yaml differs from the commit; commit it too, or kronform-gen check fails on this commit"
	if !strings.Contains(stderr, specNote) {
		t.Errorf("no note on the uncommitted spec:\n%s", stderr)
	}
	wt, _ := r.Worktree()
	if _, err := wt.Add("cluster-spec.yaml"); err != nil {
		t.Fatal(err)
	}
	if _, err := wt.Commit("spec", &git.CommitOptions{Author: &object.Signature{Name: "a", Email: "a@b", When: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(p.spec, bytes.Replace(spec, []byte("version: 1.13.4"), []byte("version: 1.13.7"), 1), 0o644)
	code, _, stderr = p.run("generate", "--commit", "-m", "cilium 1.13.7")
	if code != 0 || !strings.Contains(stderr, specNote) {
		t.Fatalf("spec changed again: exit %d, want the note\n%s", code, stderr)
	}
	if _, err := wt.Add("cluster-spec.yaml"); err != nil {
		t.Fatal(err)
	}
	if _, err := wt.Commit("spec", &git.CommitOptions{Author: &object.Signature{Name: "a", Email: "a@b", When: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(p.spec, bytes.Replace(spec, []byte("version: 1.13.4"), []byte("version: 1.13.8"), 1), 0o644)
	if _, err := wt.Add("cluster-spec.yaml"); err != nil {
		t.Fatal(err)
	}
	if _, err := wt.Commit("spec first", &git.CommitOptions{Author: &object.Signature{Name: "a", Email: "a@b", When: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = p.run("generate", "--commit", "-m", "cilium 1.13.8")
	if code != 0 || strings.Contains(stderr, "differs from the commit") || !strings.Contains(stderr, "committed ") {
		t.Fatalf("spec committed first: exit %d, want a commit and no note\n%s", code, stderr)
	}

	// Something else staged: refused before anything is written.
	os.WriteFile(filepath.Join(p.dir, "cluster-spec.yaml"), bytes.Replace(spec, []byte("version: 1.13.4"), []byte("version: 1.13.6"), 1), 0o644)
	if _, err := wt.Add("cluster-spec.yaml"); err != nil {
		t.Fatal(err)
	}
	before := p.read(release)
	code, _, stderr = p.run("generate", "--commit")
	if code != 2 || !strings.Contains(stderr, "refusing to commit: other changes are staged (cluster-spec.yaml)") {
		t.Fatalf("with a staged spec: exit %d\n%s", code, stderr)
	}
	if p.read(release) != before {
		t.Error("a refused generate --commit wrote the tree")
	}
}

// --full-output with --output json writes the JSON report, as printed; a negative --max-lines is refused.
func TestDiffFullOutputJSONAndNegativeMaxLines(t *testing.T) {
	p := newProject(t)
	gitRepo(t, p.dir)
	p.write(release, strings.Replace(p.read(release), "version: 1.13.4", "version: 1.13.5", 1))
	full := filepath.Join(p.dir, "full.json")
	code, stdout, stderr := p.run("diff", "--ref", "HEAD", "-o", "json", "--full-output", full)
	written, err := os.ReadFile(full)
	if code != 1 || err != nil || string(written) != stdout || !strings.Contains(stdout, `"key": "kronform/HelmRelease/kube-system/cilium"`) {
		t.Errorf("diff -o json --full-output: exit %d, %v\nstdout:\n%s\nfile:\n%s\n%s", code, err, stdout, written, stderr)
	}
	// With -o json, stdout holds the error as JSON (see errorJSON).
	for out, want := range map[string]string{"unified": "", "json": "{\n  \"error\": \"--max-lines must be 0 (no limit) or more, not -1\"\n}\n"} {
		code, stdout, stderr = p.run("diff", "--ref", "HEAD", "-o", out, "--max-lines", "-1")
		if code != 2 || stdout != want || !strings.Contains(stderr, "--max-lines must be 0 (no limit) or more, not -1") {
			t.Errorf("--max-lines -1 -o %s: exit %d\n%s%s", out, code, stdout, stderr)
		}
	}
}

// A key problem is bad input (exit 2), not a failed build: --decrypt with no key at all, or with one that opens none
// of the tree's SOPS files. Each command's help states its own exit codes.
func TestBuildDecryptKeyProblemsAreUsageErrors(t *testing.T) {
	p := newProject(t)
	t.Setenv("SOPS_AGE_KEY_FILE", "")
	t.Setenv("SOPS_AGE_KEY", "")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", "")
	code, stdout, stderr := p.run("build", "--decrypt")
	if code != 2 || stdout != "" || !strings.Contains(stderr, "--decrypt needs an age key") {
		t.Errorf("build --decrypt without a key: exit %d\n%s%s", code, stdout, stderr)
	}
	other := filepath.Join(t.TempDir(), "other.agekey")
	if _, err := secrets.WriteKeyPair(other, time.Now()); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = p.run("build", "--decrypt", "--age-key-file", other)
	if code != 2 || !strings.Contains(stderr, "none of the age keys can decrypt this file") {
		t.Errorf("build --decrypt with a key for other files: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := p.run("build", "--decrypt", "--age-key-file", filepath.Join(p.dir, "examples", "demo.agekey")); code != 0 {
		t.Errorf("build --decrypt with the demo key: exit %d\n%s", code, stderr)
	}
	for cmd, want := range map[string]string{
		"build": "0  every selected Kustomization built",
		"diff":  "0  no differences",
	} {
		_, help, _ := run(t, cmd, "--help")
		if !strings.Contains(help, want) || strings.Contains(help, "in sync with the spec") || strings.Contains(help, "drift") {
			t.Errorf("%s --help:\n%s", cmd, help)
		}
	}
}

// A Kustomization of the user's own with prune: false: an object it no longer builds stays in the cluster, and diff
// says so on the object and in the summary, in text and JSON.
func TestDiffNamesWhatFluxLeavesInTheCluster(t *testing.T) {
	p := newProject(t)
	p.write("clusters/kronform/apps.yaml", "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n"+
		"  name: apps\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./apps\n  prune: false\n"+
		"  sourceRef:\n    kind: GitRepository\n    name: flux-system\n")
	p.write("apps/a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: default\ndata:\n  x: '1'\n")
	p.write("apps/b.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  namespace: default\ndata:\n  x: '1'\n")
	gitRepo(t, p.dir)
	if err := os.Remove(p.path("apps/b.yaml")); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := p.run("diff", "--ref", "HEAD")
	if code != 1 || !strings.HasPrefix(stdout, "- kronform/ConfigMap/default/b (removed; Flux leaves it in the cluster)\n") ||
		!strings.Contains(stdout, "# Flux leaves it in the cluster: Kustomization kronform/apps has prune: false\n") ||
		!strings.HasSuffix(stdout, "0 added, 0 changed, 1 removed, 1 of them left in the cluster by Flux (HEAD -> working tree)\n") {
		t.Fatalf("diff: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = p.run("diff", "--ref", "HEAD", "--output", "json")
	var rep struct {
		Summary struct{ Removed, KeptInCluster int }
		Objects []struct{ Key, KeptInCluster string }
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if code != 1 || rep.Summary.Removed != 1 || rep.Summary.KeptInCluster != 1 || len(rep.Objects) != 1 ||
		rep.Objects[0].KeptInCluster != "Kustomization kronform/apps has prune: false" {
		t.Errorf("json: exit %d, %+v", code, rep)
	}
}
