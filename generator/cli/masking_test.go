package cli

import (
	"bytes"
	"strings"
	"testing"
)

// A placeholder prints masked however the writes that carry it are cut.
func TestMaskingWriterMasksPlaceholdersAcrossWrites(t *testing.T) {
	const p = "KRONFORMGENMASKEDPLAIN0123456789abcdef0123456789abcdef"
	text := "name: a-" + p + "\nkey KRONFORMGENMASKEDSOPS" + strings.Repeat("f", 32) + " K KRONFORM end KRONFORMGENMASKEDPLAIN\n"
	want := "name: a-*****\nkey **SOPS** K KRONFORM end KRONFORMGENMASKEDPLAIN\n"
	for size := 1; size <= len(text); size++ {
		var out bytes.Buffer
		w := &maskingWriter{w: &out}
		for i := 0; i < len(text); i += size {
			n, err := w.Write([]byte(text[i:min(i+size, len(text))]))
			if err != nil || n != min(size, len(text)-i) {
				t.Fatalf("write: %d, %v", n, err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if out.String() != want {
			t.Fatalf("writes of %d bytes: %q", size, out.String())
		}
	}
}
