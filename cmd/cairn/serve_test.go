package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestServe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var errb strings.Builder
	e := &env{stdin: strings.NewReader(""), stdout: pw, stderr: &errb, getenv: func(string) string { return "" }}
	done := make(chan int, 1)
	db := filepath.Join(t.TempDir(), "s.db")
	go func() { done <- run(ctx, e, []string{"serve", "--db", db, "--addr", "127.0.0.1:0", "--demo"}) }()
	sc := bufio.NewScanner(pr)
	var url, token string
	for (url == "" || token == "") && sc.Scan() {
		l := sc.Text()
		if i := strings.Index(l, "http://"); i >= 0 {
			url = strings.Fields(l[i:])[0]
		}
		if i := strings.Index(l, "not stored): "); i >= 0 {
			token = strings.TrimSpace(l[i+len("not stored): "):])
		}
	}
	go io.Copy(io.Discard, pr)
	if url == "" || token == "" {
		t.Fatalf("no address or token printed; stderr: %s", errb.String())
	}
	get := func(path, tok string) (int, string) {
		req, _ := http.NewRequest("GET", url+path, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz", ""); code != 200 {
		t.Errorf("healthz = %d", code)
	}
	if code, _ := get("/api/v1/detections", ""); code != 401 {
		t.Errorf("no token = %d, want 401", code)
	}
	if code, body := get("/api/v1/detections?filter=rule.name%3D%22Reverse%20Shell%22", token); code != 200 || !strings.Contains(body, "Reverse Shell") {
		t.Errorf("detections = %d %.200s", code, body)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exited %d: %s", code, errb.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func TestServeRefusesRemoteWithoutTLS(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	if code, _, errs := cli(t, "", "serve", "--db", db, "--addr", "0.0.0.0:0"); code != exitUsage || !strings.Contains(errs, "--allow-remote") {
		t.Errorf("serve on 0.0.0.0 = %d %s", code, errs)
	}
}
