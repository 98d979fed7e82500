package preview_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/kronform/kronform-gen/generator/preview"
)

// A kustomization in a pull request may name remote resources: an HTTP URL (perhaps the runner's metadata endpoint)
// or a git base. build and diff fetch nothing: both fail with ErrRemote, and the server never sees a request.
func TestBuildFetchesNothing(t *testing.T) {
	var hits atomic.Int32
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fetched}\n"))
	}))
	defer server.Close()

	// A git repository on disk holding a base, named the way kustomize clones one.
	repo := t.TempDir()
	os.WriteFile(filepath.Join(repo, "kustomization.yaml"), []byte("resources: [cm.yaml]\n"), 0o644)
	os.WriteFile(filepath.Join(repo, "cm.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cloned}\n"), 0o644)
	for _, args := range [][]string{{"init", "-q"}, {"add", "."}, {"-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base"}} {
		if out, err := exec.Command("git", append([]string{"-C", repo}, args...)...).CombinedOutput(); err != nil {
			t.Skipf("git: %v\n%s", err, out)
		}
	}

	flux := "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps, namespace: flux-system}\n" +
		"spec: {interval: 10m, path: ./apps, prune: true, sourceRef: {kind: GitRepository, name: flux-system}}\n"
	for name, resource := range map[string]string{
		"http file": server.URL + "/cm.yaml",
		"git base":  "file://" + repo + "?ref=HEAD",
	} {
		src, ks := fromFiles(t, map[string][]byte{
			"clusters/a/apps.yaml":    []byte(flux),
			"apps/kustomization.yaml": []byte("resources:\n- " + resource + "\n"),
		})
		_, err := src.Build(ks, preview.Options{})
		if !errors.Is(err, preview.ErrRemote) {
			t.Errorf("%s: %v, want ErrRemote", name, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the server was asked %d time(s)", n)
	}
}
