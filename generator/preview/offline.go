package preview

import (
	"errors"
	"net/http"
	"os"
	"strings"
	"sync"
)

// ErrRemote is the answer to every remote resource, base or file a kustomization names.
var ErrRemote = errors.New("kronform-gen builds offline and fetches nothing: a kustomization names a remote " +
	"resource, base or file (kustomize-controller would fetch it, unless run with --no-remote-bases)")

// goOffline makes sure kustomize's engine fetches nothing, once per process, before its first build. kustomize
// reads a URL in a kustomization with a plain http.Client (so over http.DefaultTransport) and clones a git base by
// running git. build and diff run on the trees of pull requests in CI: a URL there could reach the runner's internal
// network (a cloud metadata endpoint), and its answer would be printed. HTTP therefore fails with ErrRemote, and git
// is allowed no transport at all (GIT_ALLOW_PROTOCOL empty); kronform-gen itself never uses either.
var goOffline = sync.OnceFunc(func() {
	http.DefaultTransport = refuseTransport{}
	os.Setenv("GIT_ALLOW_PROTOCOL", "")
	os.Setenv("GIT_TERMINAL_PROMPT", "0")
})

type refuseTransport struct{}

func (refuseTransport) RoundTrip(*http.Request) (*http.Response, error) { return nil, ErrRemote }

// remoteError turns kustomize's error for a refused fetch into ErrRemote's words, keeping kustomize's own text (it
// names the reference); other errors pass unchanged.
func remoteError(err error) error {
	if err == nil || errors.Is(err, ErrRemote) {
		return err
	}
	if msg := err.Error(); strings.Contains(msg, ErrRemote.Error()) || strings.Contains(msg, "not allowed") && strings.Contains(msg, "git") {
		return errors.Join(ErrRemote, err)
	}
	return err
}
