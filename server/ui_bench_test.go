package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storetest"
	"github.com/cairn-cdr/cairn/server"
	"github.com/cairn-cdr/cairn/sqlite"
)

// feedBench is a server on a store of benchDetections detection groups,
// each on its own Tetragon exec, made once per benchmark run.
var feedBench struct {
	once   sync.Once
	err    error
	srv    *httptest.Server
	client *http.Client
	id     string // a detection in the middle of the set
}

const benchDetections = 100_000

func setupFeedBench(b *testing.B) {
	feedBench.once.Do(func() {
		ctx := context.Background()
		dir, err := mkdirTemp()
		if err != nil {
			feedBench.err = err
			return
		}
		st, err := sqlite.Open(ctx, filepath.Join(dir, "feed.db"), sqlite.Options{})
		if err != nil {
			feedBench.err = err
			return
		}
		start := time.Now().Add(-25 * time.Hour)
		rules := []string{"Reverse Shell", "Shell in Container", "Crypto Miner", "Sensitive File Read", "Drift Executable",
			"Package Manager in Container", "Instance Metadata Access", "Data Archiving", "Remote Copy", "Web Shell"}
		const batch = 2000
		for lo := 0; lo < benchDetections; lo += batch {
			evs := make([]cairn.Event, 0, batch)
			ds := make([]cairn.Detection, 0, batch)
			for i := lo; i < lo+batch; i++ {
				at := start.Add(time.Duration(i) * 900 * time.Millisecond) // spread over 25 h
				ev := storetest.Tetragon(i, at)
				evs = append(evs, ev)
				ds = append(ds, cairn.Detection{ID: fmt.Sprintf("bench-%07d", i), Time: at, Rule: rules[i%len(rules)], Source: "falco/syscall",
					Priority: "WARNING", Severity: int64(i % 5), Output: fmt.Sprintf("%s (cmd=%s pod=%s)", rules[i%len(rules)], ev.Process.Args, ev.K8s.Pod),
					EventIDs: []string{ev.ID}, Entities: cairn.EntitiesOf(&ev), Count: 1, LastTime: at})
			}
			if _, err := st.WriteEvents(ctx, evs); err != nil {
				feedBench.err = err
				return
			}
			if err := st.WriteDetections(ctx, ds, evs); err != nil {
				feedBench.err = err
				return
			}
		}
		var toks server.MemTokens
		secret, err := toks.NewToken("bench", server.RoleAnalyst)
		if err != nil {
			feedBench.err = err
			return
		}
		feedBench.srv = httptest.NewServer(server.New(server.Config{Store: st, Tokens: &toks}))
		jar, _ := cookiejar.New(nil)
		feedBench.client = &http.Client{Jar: jar}
		resp, err := feedBench.client.PostForm(feedBench.srv.URL+"/login", url.Values{"token": {secret}})
		if err != nil {
			feedBench.err = err
			return
		}
		resp.Body.Close()
		feedBench.id = fmt.Sprintf("bench-%07d", benchDetections/2)
	})
	if feedBench.err != nil {
		b.Fatal(feedBench.err)
	}
}

// benchDir holds the benchmark's store, built once per test binary and
// removed by TestMain.
var benchDir string

func mkdirTemp() (string, error) {
	var err error
	benchDir, err = os.MkdirTemp("", "cairn-feed-bench")
	return benchDir, err
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// BenchmarkUIFeed renders the feed's pages over 100,000 detection groups:
// the newest page with its facet counts (one query for the page, seven
// counts), filtered by a field of the triggering event, by the facets,
// the second page (cursor), and one detection's page with its process
// tree and context.
func BenchmarkUIFeed(b *testing.B) {
	setupFeedBench(b)
	for _, bc := range []struct{ name, path string }{
		{"newest", "/"},
		{"filter-event-field", "/?q=" + url.QueryEscape("k8s.ns.name=payments and proc.cmdline contains \"10.0.7.\"")},
		{"facets", "/?status=new&sev=high&range=24h"},
		{"detection", "/detections/" + feedBench.id},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				resp, err := feedBench.client.Get(feedBench.srv.URL + bc.path)
				if err != nil {
					b.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "</html>") {
					b.Fatalf("%s: %d %.300s", bc.path, resp.StatusCode, body)
				}
			}
		})
	}
}
