package testenv

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// Chart is a Helm chart packed by PackChart.
type Chart struct {
	Name    string
	Version string
	// Metadata is the whole Chart.yaml.
	Metadata map[string]any
	// Archive is the .tgz, with every file under a top folder named Name.
	Archive []byte
}

// PackChart packs the chart in dir the way `helm package` lays it out: a
// gzipped tar whose files sit under a folder named after the chart. The
// archive is deterministic (sorted, fixed times and modes).
func PackChart(dir string) (*Chart, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "Chart.yaml"))
	if err != nil {
		return nil, fmt.Errorf("pack chart: %w", err)
	}
	var md map[string]any
	if err := yaml.Unmarshal(raw, &md); err != nil {
		return nil, fmt.Errorf("pack chart: Chart.yaml: %w", err)
	}
	name, _ := md["name"].(string)
	version, _ := md["version"].(string)
	if name == "" || version == "" {
		return nil, fmt.Errorf("pack chart: %s/Chart.yaml has no name or version", dir)
	}

	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	mtime := time.Unix(0, 0)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil // folders are implied; the module cache has no links
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		hdr := &tar.Header{
			Name:     path.Join(name, filepath.ToSlash(rel)),
			Mode:     0o644,
			Size:     int64(len(data)),
			ModTime:  mtime,
			Typeflag: tar.TypeReg,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = gz.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("pack chart %s: %w", dir, err)
	}
	return &Chart{Name: name, Version: version, Metadata: md, Archive: buf.Bytes()}, nil
}

// helmMetadataFields are the JSON fields of Helm's chart.Metadata, which
// `helm repo index` copies from Chart.yaml into index.yaml.
var helmMetadataFields = []string{
	"name", "home", "sources", "version", "description", "keywords", "maintainers", "icon", "apiVersion",
	"condition", "tags", "appVersion", "deprecated", "annotations", "kubeVersion", "dependencies", "type",
}

// StartChartServer packs the chart in chartDir and serves it as a Helm
// repository on 127.0.0.1 until the test ends: index.yaml and
// NAME-VERSION.tgz. It returns the repository URL (for a HelmRepository's
// spec.url) and the packed chart.
func StartChartServer(t testing.TB, chartDir string) (string, *Chart) {
	t.Helper()
	chart, err := PackChart(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	file := fmt.Sprintf("%s-%s.tgz", chart.Name, chart.Version)
	sum := sha256.Sum256(chart.Archive)
	// An index entry is the chart's metadata plus where and when. Helm
	// decodes it strictly, so only the fields of its chart.Metadata go in
	// (Cilium's Chart.yaml also has displayName), and it skips entries
	// without apiVersion, name or version.
	entry := map[string]any{}
	for _, k := range helmMetadataFields {
		if v, ok := chart.Metadata[k]; ok {
			entry[k] = v
		}
	}
	entry["urls"] = []string{srv.URL + "/" + file}
	entry["digest"] = hex.EncodeToString(sum[:])
	entry["created"] = time.Now().UTC().Format(time.RFC3339)
	index, err := yaml.Marshal(map[string]any{
		"apiVersion": "v1",
		"entries":    map[string]any{chart.Name: []any{entry}},
		"generated":  time.Now().UTC().Format(time.RFC3339),
	})
	if err != nil {
		t.Fatal(err)
	}
	mux.HandleFunc("GET /index.yaml", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-yaml")
		_, _ = w.Write(index)
	})
	mux.HandleFunc("GET /"+file, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/gzip")
		_, _ = w.Write(chart.Archive)
	})
	return srv.URL, chart
}
