package validate

import (
	"os"
	"testing"

	"github.com/kronform/kronform-gen/generator/cache"
)

// Every test validates for real: the cache of valid files starts empty in each run.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kronform-gen-cache-")
	if err != nil {
		panic(err)
	}
	os.Setenv(cache.Env, dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
