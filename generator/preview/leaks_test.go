package preview_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kronform/kronform-gen/generator/preview"
)

// Aliases of aliases make a file of a few lines hold 10^12 values: check reads each node once, and ends.
func TestPlaintextSecretsOnAliasesOfAliases(t *testing.T) {
	const enc = `"ENC[AES256_GCM,data:a,iv:b,tag:c,type:str]"`
	var b strings.Builder
	fmt.Fprintf(&b, "l0: &l0 [%s]\n", strings.Repeat(enc+", ", 9)+enc)
	for i := 1; i < 12; i++ {
		fmt.Fprintf(&b, "l%d: &l%d [%s*l%d]\n", i, i, strings.Repeat(fmt.Sprintf("*l%d, ", i-1), 9), i-1)
	}
	b.WriteString("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  k: *l11\n  j: [*l11, CANARY]\n")
	done := make(chan []preview.PlaintextSecret, 1)
	go func() {
		found, _ := preview.PlaintextSecrets([]byte(b.String()), nil)
		done <- found
	}()
	select {
	case found := <-done:
		if len(found) != 1 || strings.Join(found[0].Keys, " ") != "data.j" {
			t.Errorf("PlaintextSecrets = %+v, want data.j alone", found)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("PlaintextSecrets still walking the aliases after 20s")
	}
}
