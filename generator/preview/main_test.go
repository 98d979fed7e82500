package preview_test

import (
	"os"
	"testing"

	"github.com/kronform/kronform-gen/generator/cache"
)

// The trees these tests generate are validated with the results remembered in the run's own folder, not the user's
// cache.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kronform-gen-preview-test")
	if err != nil {
		panic(err)
	}
	os.Setenv(cache.Env, dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
