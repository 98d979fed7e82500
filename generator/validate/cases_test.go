package validate

// invalidCase is one object in testdata/invalid that kube-apiserver must refuse, with exactly what the offline
// validator says about it. The e2e test (apiserver_test.go) sends the same files to a real API server.
type invalidCase struct {
	file string
	want []string
	// serverAccepts, when set, says why a real API server takes this object although the offline validator does
	// not: the e2e test asserts that too, so it notices when upstream closes the gap.
	serverAccepts string
}

var invalidCases = []invalidCase{
	{file: "ccnp-bad-entity.yaml", want: []string{
		`ccnp-bad-entity.yaml:10:27: CiliumClusterwideNetworkPolicy bad-entity: spec.ingress[0].fromEntities[1]: Unsupported value: "bogus": supported values: "all", "world", "cluster", "cluster-mesh", "host", "init", "ingress", "unmanaged", "remote-node", "health", "none", "kube-apiserver"`,
	}},
	{file: "ccnp-end-port-out-of-range.yaml", want: []string{
		`ccnp-end-port-out-of-range.yaml:15:9: CiliumClusterwideNetworkPolicy end-port-out-of-range: spec.ingress[0].toPorts[0].ports[0].endPort: Invalid value: 70000: spec.ingress[0].toPorts[0].ports[0].endPort in body should be less than or equal to 65535`,
	}},
	{file: "ccnp-metadata-typo.yaml", want: []string{
		`ccnp-metadata-typo.yaml:5:3: CiliumClusterwideNetworkPolicy metadata-typo: metadata.lables: unknown field: not declared in the CiliumClusterwideNetworkPolicy schema`,
	}},
	{file: "ccnp-no-spec.yaml", want: []string{
		`ccnp-no-spec.yaml:1:1: CiliumClusterwideNetworkPolicy no-spec: Invalid value: spec or specs must be provided`,
	}},
	{file: "ccnp-port-out-of-range.yaml", want: []string{
		`ccnp-port-out-of-range.yaml:13:9: CiliumClusterwideNetworkPolicy port-out-of-range: spec.ingress[0].toPorts[0].ports[0].port: Invalid value: "70000": a port number must be 0-65535; the API server accepts it (the CRD pattern is loose) but the Cilium agent refuses the policy`,
	}, serverAccepts: `the CRD's port pattern ^(6553[0-5]|...|[0-9]{1,4})|(...)$ anchors only its first alternative, so "70000" matches on "7000"`},
	{file: "ccnp-unknown-field.yaml", want: []string{
		`ccnp-unknown-field.yaml:11:5: CiliumClusterwideNetworkPolicy unknown-field: spec.ingress[0].fromEntity: unknown field: not declared in the CiliumClusterwideNetworkPolicy schema`,
	}},
	{file: "helmrelease-no-chart.yaml", want: []string{
		`helmrelease-no-chart.yaml:6:1: HelmRelease kube-system/cilium: spec: Invalid value: either chart or chartRef must be set`,
	}},
	{file: "helmrelease-unknown-field.yaml", want: []string{
		`helmrelease-unknown-field.yaml:16:3: HelmRelease kube-system/cilium: spec.valuez: unknown field: not declared in the HelmRelease schema`,
	}},
	{file: "helmrelease-wrong-type.yaml", want: []string{
		`helmrelease-wrong-type.yaml:7:3: HelmRelease kube-system/cilium: spec.interval: Invalid value: "integer": spec.interval in body must be of type string: "integer"`,
	}},
	{file: "helmrepository-bad-type.yaml", want: []string{
		`helmrepository-bad-type.yaml:8:3: HelmRepository kube-system/cilium: spec.type: Unsupported value: "ftp": supported values: "default", "oci"`,
	}},
	{file: "kustomization-no-source.yaml", want: []string{
		`kustomization-no-source.yaml:6:1: Kustomization flux-system/cilium: spec.sourceRef: Required value`,
	}},
	{file: "namespace-bad-name.yaml", want: []string{
		`namespace-bad-name.yaml:4:3: Namespace Monitoring: metadata.name: Invalid value: "Monitoring": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
	}},
	{file: "secret-bad-key.yaml", want: []string{
		`secret-bad-key.yaml:8:3: Secret kube-system/api-token: data[(a key that is not valid, not shown)]: Invalid value: a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
	}},
	{file: "secret-unknown-field.yaml", want: []string{
		`secret-unknown-field.yaml:7:1: Secret kube-system/api-token: strinData: unknown field: not declared in the Secret schema`,
	}},
}
