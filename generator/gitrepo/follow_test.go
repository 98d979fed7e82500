package gitrepo

import "testing"

// The forms git and Flux write one repository's URL in compare equal; other repositories, hosts and local paths do not.
func TestRepoURL(t *testing.T) {
	same := []string{
		"ssh://git@github.com/acme/fleet",
		"git@github.com:acme/fleet.git",
		"https://github.com/acme/fleet.git",
		"https://user@GitHub.com/acme/fleet/",
		"ssh://git@github.com:22/acme/fleet.git",
	}
	for _, u := range same {
		if got := repoURL(u); got != "github.com/acme/fleet" {
			t.Errorf("repoURL(%q) = %q", u, got)
		}
	}
	for _, u := range []string{"git@github.com:acme/other.git", "https://gitlab.com/acme/fleet", "/srv/git/fleet.git", "file:///srv/fleet"} {
		if repoURL(u) == "github.com/acme/fleet" {
			t.Errorf("repoURL(%q) matches github.com/acme/fleet", u)
		}
	}
	if repoURL("/srv/git/fleet.git") != repoURL("file:///srv/git/fleet") {
		t.Error("a local path and its file URL differ")
	}
}
