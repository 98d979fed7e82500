package preview

import (
	"errors"
	"testing"
)

// A file decrypted for a build holds secret values, whatever it looks like: errors of the build are redacted.
func TestErrorsOfBuildsOfDecryptedFilesAreRedacted(t *testing.T) {
	s, err := FromFiles(map[string][]byte{"app/c.env": []byte("x=y\n")})
	if err != nil {
		t.Fatal(err)
	}
	msg := "env source files: [c.env]: line [1] has invalid utf8 bytes : CANARY-s3cr3t"
	for _, decrypted := range []bool{false, true} {
		in := newInputs(s)
		if _, err := in.over(s.fs).ReadFile("/app/c.env"); err != nil {
			t.Fatal(err)
		}
		in.decrypted["/app/c.env"] = decrypted
		got := in.redact(errors.New(msg)).Error()
		if want := map[bool]string{false: msg, true: "env source files: [c.env]: line [1] has invalid utf8 bytes : (not shown)"}[decrypted]; got != want {
			t.Errorf("decrypted %v: got %q, want %q", decrypted, got, want)
		}
	}
}
