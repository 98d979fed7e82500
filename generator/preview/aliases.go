package preview

import (
	"bytes"
	"errors"
	"fmt"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// errLoopingAlias is the answer to a YAML file with an alias inside the node its anchor names (data: &d {a: *d}).
// kustomize follows aliases as it walks a resource, so it walks such a node forever: the process dies of a stack
// overflow, which no caller can recover from. Flux's kustomize-controller runs the same code, so the file would
// crash it on every reconcile. Every read of the tree goes through loopingAlias first.
var errLoopingAlias = errors.New("a YAML alias stands inside the node its anchor names, so the node holds itself " +
	"forever: kustomize, and Flux's kustomize-controller with it, would follow it without end and crash")

// loopingAlias says where the first alias is that makes a document of data hold itself, as errLoopingAlias after
// "LINE:COL: *ANCHOR: "; nil when there is none, or when data is not YAML (kustomize says what is wrong with that). A file
// without both an anchor and an alias character is not parsed.
func loopingAlias(data []byte) error {
	if !bytes.ContainsRune(data, '&') || !bytes.ContainsRune(data, '*') {
		return nil
	}
	dec := kyaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc kyaml.Node
		if err := dec.Decode(&doc); err != nil {
			return nil // the end, or not YAML (kustomize says so)
		}
		if at := loopIn(&doc, map[*kyaml.Node]bool{}, map[*kyaml.Node]bool{}); at != nil {
			return fmt.Errorf("%d:%d: *%s: %w", at.Line, at.Column, at.Value, errLoopingAlias)
		}
	}
}

// loopIn walks n as kustomize does, following aliases, and returns the alias that leads back into a node it is
// still inside. A node walked whole is not walked again, so a file of many aliases to one anchor costs its size.
func loopIn(n *kyaml.Node, inside, done map[*kyaml.Node]bool) *kyaml.Node {
	if n == nil || done[n] {
		return nil
	}
	inside[n] = true
	defer func() { delete(inside, n); done[n] = true }()
	if n.Kind == kyaml.AliasNode {
		if inside[n.Alias] {
			return n
		}
		return loopIn(n.Alias, inside, done)
	}
	for _, c := range n.Content {
		if at := loopIn(c, inside, done); at != nil {
			return at
		}
	}
	return nil
}
