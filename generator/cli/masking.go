package cli

import (
	"io"

	"github.com/kronform/kronform-gen/generator/preview"
)

// maskingWriter masks, in everything a command prints, the placeholders that preview substitutes for values that
// must not show (preview.MaskPlaceholders): whatever way a name holding one takes to the output (an object's key,
// a Kustomization's name in a header, a note or an error), it prints masked. A write that ends in what may be the
// start of one keeps that end back until the next write, or Flush, says what it is.
type maskingWriter struct {
	w       io.Writer
	pending []byte
}

func (m *maskingWriter) Write(p []byte) (int, error) {
	buf := append(m.pending, p...)
	keep := preview.PlaceholderTail(buf)
	m.pending = append([]byte(nil), buf[len(buf)-keep:]...)
	if _, err := m.w.Write(preview.MaskPlaceholders(buf[:len(buf)-keep])); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes what was kept back.
func (m *maskingWriter) Flush() error {
	if len(m.pending) == 0 {
		return nil
	}
	_, err := m.w.Write(preview.MaskPlaceholders(m.pending))
	m.pending = nil
	return err
}
