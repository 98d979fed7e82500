package spec

// Secret is a Kubernetes Secret whose values come from outside the spec and are written SOPS-encrypted.
type Secret struct {
	Name      string                  `json:"name"`
	Namespace string                  `json:"namespace"`
	Type      string                  `json:"type,omitempty" jsonschema:"minLength=1,description=Secret type (default Opaque)."`
	Data      map[string]SecretSource `json:"data" jsonschema:"description=Key -> where its value comes from."`
}

// SecretSource names where one value is read from: exactly one of an environment variable or a file.
type SecretSource struct {
	Env  string `json:"env,omitempty" jsonschema:"description=Environment variable holding the value."`
	File string `json:"file,omitempty" jsonschema:"description=File holding the value; relative to the spec file."`
}
