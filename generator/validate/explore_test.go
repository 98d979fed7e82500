package validate

import "testing"

func TestExplore(t *testing.T) {
	s, err := DefaultSchemas()
	if err != nil {
		t.Fatal(err)
	}
	t.Log(s.Kinds())
	for _, f := range s.File("x.yaml", []byte(`apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: Bad_Name
  lables: {a: b}
spec:
  nodeSelector: {}
  ingress:
  - fromEntities: [bogus]
    fromEntity: [x]
    toPorts:
    - ports:
      - port: "70000"
        protocol: TCP
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: cilium, namespace: kube-system}
spec:
  interval: 10
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: cilium, namespace: kube-system}
spec:
  interval: 10m
---
apiVersion: v1
kind: Secret
metadata: {name: s, namespace: x}
type: kubernetes.io/tls
data:
  "bad key": Zm9v
  tls.crt: not base64!
extra: 1
---
apiVersion: v1
kind: Secret
metadata: {name: s, namespace: x}
stringData:
  "tls.crt": ENC[AES256_GCM,data:abc=,iv:x,tag:y,type:str]
data:
  "k": ENC[AES256_GCM,data:abc=,iv:x,tag:y,type:str]
sops:
  mac: x
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
`)) {
		t.Log(f)
	}
}
