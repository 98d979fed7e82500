package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// APIServer is an etcd plus kube-apiserver pair listening on 127.0.0.1
// only, with an admin (system:masters) token.
type APIServer struct {
	// URL is the https address of kube-apiserver.
	URL string
	// KubeconfigPath is a kubeconfig file for the admin user.
	KubeconfigPath string
	// Config is a client config for the admin user.
	Config *rest.Config
	// Dynamic is a dynamic client built from Config.
	Dynamic dynamic.Interface

	mapper *restmapper.DeferredDiscoveryRESTMapper
	etcd   *process
	apisrv *process
}

// How long each program gets to become ready. kube-apiserver is usually
// ready in about 3 s on a 2-core machine; the margin is for busy CI runners.
const (
	etcdReadyTimeout      = 30 * time.Second
	apiServerReadyTimeout = 90 * time.Second
)

// StartAPIServer starts etcd and kube-apiserver with fresh state in
// temporary folders and waits for /readyz. Like Require, it skips the test
// unless KRONFORM_E2E=1 is set. Both are stopped when the test
// ends (kube-apiserver first, then etcd), whether it passed or not; on
// failure the end of their logs is printed.
func StartAPIServer(t testing.TB) *APIServer {
	t.Helper()
	require(t, Etcd, KubeAPIServer)
	etcdBin, err := Etcd.Find()
	if err != nil {
		t.Fatal(err)
	}
	apiBin, err := KubeAPIServer.Find()
	if err != nil {
		t.Fatal(err)
	}
	// Created before the cleanup below is registered, so it is removed
	// after the processes that use it have stopped.
	dir := t.TempDir()

	a := &APIServer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("testenv: API server logs:\n%s", a.LogTail(40))
		}
		a.stop(t)
	})

	start := time.Now()
	var etcdURL string
	a.etcd, etcdURL, err = startEtcd(etcdBin, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.startAPIServer(apiBin, dir, etcdURL); err != nil {
		t.Fatal(err) // the cleanup prints the logs
	}
	t.Logf("testenv: kube-apiserver %s ready at %s in %v", KubeAPIServer.Version, a.URL, time.Since(start).Round(time.Millisecond))
	return a
}

// startEtcd starts a one-member etcd and returns its client URL.
func startEtcd(bin, dir string) (*process, string, error) {
	clientAddr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	peerAddr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	clientURL, peerURL := "http://"+clientAddr, "http://"+peerAddr
	p, err := startProcess("etcd", bin, []string{
		"--name=testenv",
		"--data-dir=" + filepath.Join(dir, "etcd"),
		"--listen-client-urls=" + clientURL,
		"--advertise-client-urls=" + clientURL,
		"--listen-peer-urls=" + peerURL,
		"--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=testenv=" + peerURL,
		// The data is thrown away after the test: durability only costs time.
		"--unsafe-no-fsync=true",
		"--log-level=warn",
	}, minimalEnv(dir), dir)
	if err != nil {
		return nil, "", err
	}
	client := &http.Client{Timeout: time.Second}
	err = waitFor(p, etcdReadyTimeout, "healthy etcd", func() error {
		resp, err := client.Get(clientURL + "/health")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/health: %s", resp.Status)
		}
		return nil
	})
	if err != nil {
		p.stop()
		return nil, "", fmt.Errorf("%w\n%s", err, p.describe(40))
	}
	return p, clientURL, nil
}

func (a *APIServer) startAPIServer(bin, dir, etcdURL string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	caPEM, err := writeServingCert(dir)
	if err != nil {
		return err
	}
	saKey := filepath.Join(dir, "service-account.key")
	if err := writeECKey(saKey); err != nil {
		return err
	}
	token, err := randomToken()
	if err != nil {
		return err
	}
	tokenFile := filepath.Join(dir, "tokens.csv")
	// token,user,uid,"groups"
	if err := os.WriteFile(tokenFile, []byte(token+`,testenv-admin,testenv-admin,"system:masters"`+"\n"), 0o600); err != nil {
		return fmt.Errorf("write token file: %w", err)
	}

	a.URL = fmt.Sprintf("https://127.0.0.1:%d", port)
	a.apisrv, err = startProcess("kube-apiserver", bin, []string{
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", port),
		"--etcd-servers=" + etcdURL,
		"--cert-dir=" + filepath.Join(dir, "certs"),
		"--tls-cert-file=" + filepath.Join(dir, "serving.crt"),
		"--tls-private-key-file=" + filepath.Join(dir, "serving.key"),
		"--token-auth-file=" + tokenFile,
		"--service-account-key-file=" + saKey,
		"--service-account-signing-key-file=" + saKey,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=10.96.0.0/16",
		// No kubelet and no other control-plane member: the kubernetes
		// Service endpoints are not reconciled.
		"--endpoint-reconciler-type=none",
		"--authorization-mode=RBAC",
		// Cilium's DaemonSet runs privileged containers.
		"--allow-privileged=true",
		"--v=1",
	}, minimalEnv(dir), dir)
	if err != nil {
		return err
	}

	a.Config = &rest.Config{
		Host:            a.URL,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: caPEM},
		QPS:             100,
		Burst:           200,
		Timeout:         30 * time.Second,
	}
	if err := a.waitReady(); err != nil {
		return err
	}
	if a.Dynamic, err = dynamic.NewForConfig(a.Config); err != nil {
		return fmt.Errorf("dynamic client: %w", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(a.Config)
	if err != nil {
		return fmt.Errorf("discovery client: %w", err)
	}
	a.mapper = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	a.KubeconfigPath = filepath.Join(dir, "kubeconfig")
	return writeKubeconfig(a.KubeconfigPath, a.URL, token, caPEM)
}

func (a *APIServer) waitReady() error {
	transport, err := rest.TransportFor(a.Config)
	if err != nil {
		return fmt.Errorf("transport: %w", err)
	}
	client := &http.Client{Transport: transport, Timeout: 2 * time.Second}
	return waitReadyz(a.apisrv, apiServerReadyTimeout, client, a.URL+"/readyz")
}

// waitReadyz waits until a process's /readyz answers 200, or the process exits, or the timeout passes.
func waitReadyz(p *process, timeout time.Duration, client *http.Client, url string) error {
	return waitFor(p, timeout, "/readyz", func() error {
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/readyz: %s", resp.Status)
		}
		return nil
	})
}

// stop ends kube-apiserver, waits for it, then ends etcd.
func (a *APIServer) stop(t testing.TB) {
	for _, p := range []*process{a.apisrv, a.etcd} {
		if p == nil {
			continue
		}
		start := time.Now()
		peak := p.stop()
		t.Logf("testenv: stopped %s in %v (peak RSS %s)", p.name, time.Since(start).Round(time.Millisecond), formatBytes(peak))
	}
}

// LogTail returns the last n lines of the etcd and kube-apiserver logs.
func (a *APIServer) LogTail(n int) string {
	var parts []string
	for _, p := range []*process{a.etcd, a.apisrv} {
		if p != nil {
			parts = append(parts, p.describe(n))
		}
	}
	return strings.Join(parts, "\n")
}

// minimalEnv is the whole environment of a started program: nothing from
// the developer's shell (proxies, cloud credentials, KUBECONFIG) leaks in.
func minimalEnv(home string, extra ...string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"TMPDIR=" + home,
	}
	return append(env, extra...)
}

// writeServingCert writes a throw-away CA-signed serving certificate for
// 127.0.0.1 to dir/serving.{crt,key} and returns the CA certificate (PEM).
func writeServingCert(dir string) ([]byte, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("CA key: %w", err)
	}
	notBefore := time.Now().Add(-time.Hour)
	notAfter := time.Now().Add(24 * time.Hour)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "testenv-ca"},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("serving key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(10, 96, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("serving certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("serving key: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "serving.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "serving.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), nil
}

// writeECKey writes a new P-256 private key (PEM) to path. kube-apiserver
// signs service-account tokens with it (ES256) and verifies them with it.
func writeECKey(path string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("service-account key: %w", err)
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("service-account key: %w", err)
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
}

func randomToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func writeKubeconfig(path, server, token string, caPEM []byte) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["testenv"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos["testenv-admin"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["testenv"] = &clientcmdapi.Context{Cluster: "testenv", AuthInfo: "testenv-admin"}
	cfg.CurrentContext = "testenv"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}
