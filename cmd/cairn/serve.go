package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/assist"
	"github.com/cairn-cdr/cairn/config"
	"github.com/cairn-cdr/cairn/decode"
	"github.com/cairn-cdr/cairn/demo"
	"github.com/cairn-cdr/cairn/field"
	"github.com/cairn-cdr/cairn/geo"
	"github.com/cairn-cdr/cairn/health"
	"github.com/cairn-cdr/cairn/ingest"
	"github.com/cairn-cdr/cairn/internal/termsafe"
	"github.com/cairn-cdr/cairn/metrics"
	"github.com/cairn-cdr/cairn/notify"
	"github.com/cairn-cdr/cairn/sensor"
	"github.com/cairn-cdr/cairn/server"
)

// processStart is when the process started, for process_start_time_seconds.
var processStart = time.Now()

func runServe(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "serve", "",
		"Serves the web UI at / (log in with a token), the JSON API under /api/v1 (OpenAPI document at\n"+
			"/api/v1/openapi.json) and /healthz.\n"+
			"Serves Prometheus metrics at /metrics without a token (counts only: events by source, duplicates, dead letters,\n"+
			"detections by severity, rule evaluation time, batches); behind --allow-remote, filter /metrics at the proxy if needed.\n"+
			"Requests carry a token's secret as Authorization: Bearer SECRET; tokens are kept in the store (cairn tokens).\n"+
			"On first start, when the store has no token, creates one named admin and prints its secret and a login\n"+
			"link for the web UI once.\n"+
			"Listens on loopback unless --allow-remote: the API has no TLS of its own (put it behind a TLS proxy).")
	db := dbFlag(fs, e)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	withDemo := fs.Bool("demo", false, "load the demo scenarios into the store first")
	allowRemote := fs.Bool("allow-remote", false, "listen on a non-loopback address without TLS (behind a TLS proxy)")
	var rules rulesFlag
	fs.Var(&rules, "rules", "rules file or directory (Falco or Sigma) beside cairn's pack (repeatable)")
	noPack := fs.Bool("no-default-rules", false, "do not load cairn's own rule pack and analytics")
	ranges := fs.String("aws-ip-ranges", "", "AWS's ip-ranges.json for the instance-credentials analytic")
	webhook := fs.String("notify-webhook", "", "POST each new detection at or above --notify-severity as JSON to this URL")
	slack := fs.String("notify-slack", "", "post a line per new detection at or above --notify-severity to this Slack-compatible incoming webhook")
	notifySev := fs.String("notify-severity", "high", "lowest severity notified: info|low|medium|high|critical")
	llm := addLLMFlags(fs)
	var postureFiles rulesFlag
	fs.Var(&postureFiles, "posture", "IAM posture: aws iam get-account-authorization-details JSON or a credential report CSV (repeatable); weighs in identities' risk")
	geoPath := fs.String("geoip", "", "MaxMind-format location database file or directory (make geoip fetches a free one into ./geoip) for identities' source addresses")
	var followPaths rulesFlag
	fs.Var(&followPaths, "follow", "a Tetragon or Falco export file to follow like tail -F, across rotation and restarts (repeatable; globs allowed)")
	checkpoints := fs.String("checkpoints", "", "where the followed files' positions and the watched directories' files read are kept (needed with --follow and --watch)")
	ctS3 := fs.String("cloudtrail-s3", "", "read CloudTrail files from s3://bucket/prefix as they are delivered (credentials and region: the standard AWS chain)")
	ctS3Region := fs.String("cloudtrail-s3-region", "", "the bucket's region (default: the AWS chain's)")
	ctS3Endpoint := fs.String("cloudtrail-s3-endpoint", "", "an S3-compatible endpoint instead of AWS's (tests, MinIO)")
	var watchDirs rulesFlag
	fs.Var(&watchDirs, "watch", "a directory to watch for new CloudTrail (or other record) files, each read once (repeatable)")
	configPath := fs.String("config", "", "a configuration file (YAML; cairn config check FILE checks it); flags on the command line win")
	sensorMode := fs.String("sensor", "auto", "the built-in host sensor (this machine's processes, Linux): on, off, or auto (on when permitted)")
	componentsFlag := fs.String("components", "all", "what this node runs: ingest (sources and the ingest API publish), detect (a bus worker), api (the API and web UI), or all; all but all need --bus")
	bf := addBusFlags(fs, e)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	var retention config.Retention
	if *configPath != "" {
		c, err := readConfig(*configPath)
		if err != nil {
			fmt.Fprintf(e.stderr, "cairn serve: --config %s:\n%v\n", termsafe.String(*configPath), err)
			return exitUsage
		}
		if err := applyConfig(fs, c); err != nil {
			return fail(e, err)
		}
		retention = c.Retention
	}
	notifier, err := newNotifier(*webhook, *slack, *notifySev)
	if err != nil {
		fmt.Fprintf(e.stderr, "cairn serve: %v\n", err)
		return exitUsage
	}
	var onDetections func([]cairn.Detection)
	if notifier != nil {
		onDetections = notifier.Notify
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			notifier.Close(ctx)
		}()
	}
	if !noArguments(e, fs) {
		return exitUsage
	}
	llmConfig, err := llm.config(e)
	if err != nil {
		fmt.Fprintf(e.stderr, "cairn serve: %v\n", err)
		return exitUsage
	}
	if *sensorMode != "on" && *sensorMode != "off" && *sensorMode != "auto" {
		fmt.Fprintf(e.stderr, "cairn serve: --sensor takes on, off or auto, not %q\n", *sensorMode)
		return exitUsage
	}
	comps, err := parseComponents(*componentsFlag)
	if err != nil {
		fmt.Fprintf(e.stderr, "cairn serve: %v\n", err)
		return exitUsage
	}
	scaled := *bf.url != ""
	if !scaled && comps.ingest != comps.detect {
		fmt.Fprintf(e.stderr, "cairn serve: --components: ingest and detect run apart only over a bus (--bus nats://...)\n")
		return exitUsage
	}
	if scaled && *withDemo {
		fmt.Fprintf(e.stderr, "cairn serve: --demo loads the store in-process; run it without --bus\n")
		return exitUsage
	}
	if !comps.ingest && (*sensorMode == "on" || len(followPaths)+len(watchDirs) > 0 || *ctS3 != "") {
		fmt.Fprintf(e.stderr, "cairn serve: --sensor=on, --follow, --watch and --cloudtrail-s3 are sources: they need the ingest component\n")
		return exitUsage
	}
	if !comps.ingest {
		*sensorMode = "off"
	}
	if !*allowRemote && !loopback(*addr) {
		fmt.Fprintf(e.stderr, "cairn serve: %s is not a loopback address; the API has no TLS of its own: put it behind a TLS proxy and pass --allow-remote\n", *addr)
		return exitUsage
	}
	st, err := openStore(ctx, *db)
	if err != nil {
		return fail(e, err)
	}
	defer st.Close()
	rs, err := loadRuleSets(e, rules, *noPack, *ranges)
	if err != nil {
		return fail(e, err)
	}
	dets, err := rs.detectors()
	if err != nil {
		return fail(e, err)
	}
	if *withDemo {
		sc, err := demo.Generate(demo.Options{Seed: 1, Now: time.Now()})
		if err != nil {
			return fail(e, err)
		}
		if _, err := ingestDemo(ctx, st, sc, dets); err != nil {
			return fail(e, err)
		}
	}
	reg := metrics.NewRegistry()
	// Source health: every source's stream is watched; a silent one
	// raises a detection.
	hm := health.New(health.Options{})
	hm.Register(reg)
	reg.GaugeFunc("cairn_store_bytes", "The store's size on disk.", func() float64 {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if s, err := st.Stats(sctx); err == nil {
			return float64(s.Bytes)
		}
		return 0
	})
	dets.other = append(dets.other, hm)
	metrics.RegisterProcess(reg, processStart)
	ingestMetrics := metrics.NewIngest(reg)
	// One set of detectors for the server's life, so that correlation
	// windows and analytics span requests; the server runs one ingest at
	// a time.
	var mu sync.Mutex
	ingestFn := func(ctx context.Context, inputs []ingest.Input, format decode.Format) (*ingest.Report, error) {
		mu.Lock()
		defer mu.Unlock()
		return ingest.Run(ctx, inputs, ingest.Options{Store: st, Format: format, Tree: ingest.NewTree(ctx, st),
			Rules: dets.falco, Detectors: dets.other, Metrics: ingestMetrics, OnDetections: onDetections})
	}
	// sourceIngest is what the watched directories and the S3 bucket
	// go through; in scale-out mode it waits while the bus is full.
	sourceIngest := ingestFn
	log := slog.New(slog.NewTextHandler(e.stderr, nil))
	var publish func(context.Context, []cairn.Event) error
	if scaled {
		w := &detectWorker{st: st, rs: rs, im: ingestMetrics, onDetections: onDetections, log: log}
		var direct func(context.Context, []cairn.Event) error
		var stop func()
		publish, direct, stop, err = scaleOut(ctx, e, bf, comps.detect, w, hm)
		if err != nil {
			return fail(e, err)
		}
		defer stop()
		ingestFn = func(ctx context.Context, inputs []ingest.Input, format decode.Format) (*ingest.Report, error) {
			return ingest.Run(ctx, inputs, ingest.Options{Store: st, Format: format, Publish: direct, Metrics: ingestMetrics})
		}
		sourceIngest = func(ctx context.Context, inputs []ingest.Input, format decode.Format) (*ingest.Report, error) {
			return ingest.Run(ctx, inputs, ingest.Options{Store: st, Format: format, Publish: publish, Metrics: ingestMetrics})
		}
	}
	if !comps.ingest {
		ingestFn = nil
	}
	var secret string
	if comps.api {
		if secret, err = firstToken(ctx, e, st); err != nil {
			return fail(e, err)
		}
	}
	geoDB, geoCredit, err := openGeo(*geoPath)
	if err != nil {
		return fail(e, err)
	}
	pos, err := loadPosture(postureFiles)
	if err != nil {
		return fail(e, err)
	}
	defer geoDB.Close()
	lp := livePipeline{st: st, rs: rs, hm: hm, im: ingestMetrics, onDetections: onDetections, log: log, publish: publish}
	stopSensor, err := startSensor(ctx, e, *sensorMode, lp, reg)
	if err != nil {
		return fail(e, err)
	}
	defer stopSensor()
	stopFollow, err := startFollow(ctx, e, followPaths, *checkpoints, lp)
	if err != nil {
		return fail(e, err)
	}
	defer stopFollow()
	stopWatch, err := startWatchDirs(ctx, e, watchDirs, *checkpoints, watchInterval, sourceIngest, log)
	if err != nil {
		return fail(e, err)
	}
	defer stopWatch()
	if err := startS3(ctx, e, *ctS3, *ctS3Region, *ctS3Endpoint, *checkpoints, sourceIngest, log); err != nil {
		return fail(e, err)
	}
	go retain(ctx, st, retention, time.Hour, log)
	if comps.ingest {
		go watchSources(ctx, hm, st, onDetections, log)
	}
	if !comps.api {
		<-ctx.Done()
		return exitOK
	}
	h := server.New(server.Config{Store: st, Ingest: ingestFn, Tokens: server.StoreTokens{Store: st}, Version: version, Logger: log, Metrics: reg,
		Assistant: assist.New(st, assist.Options{Describe: assist.Descriptions(rs.falco, rs.sigma), LLM: llmConfig}),
		GeoIP:     geoDB, GeoIPCredit: geoCredit, Posture: pos, Health: hm})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fail(e, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	fmt.Fprintf(e.stdout, "cairn serve: listening on http://%s (web UI at /, API under /api/v1)\n", ln.Addr())
	if secret != "" {
		fmt.Fprintf(e.stdout, "log in to the web UI (this link holds the admin token; shown once): http://%s/login#token=%s\n", ln.Addr(), secret)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(shut); err != nil {
			return fail(e, err)
		}
		return exitOK
	case err := <-done:
		if errors.Is(err, http.ErrServerClosed) {
			return exitOK
		}
		return fail(e, err)
	}
}

// firstToken creates a token named admin when the store has no token at
// all, prints its secret and returns it, once; later starts print and
// return no secret. When every stored token is revoked, it says how to
// create one.
func firstToken(ctx context.Context, e *env, st cairn.TokenStore) (string, error) {
	ts, err := st.Tokens(ctx)
	if err != nil {
		return "", err
	}
	if len(ts) > 0 {
		if !slices.ContainsFunc(ts, func(t cairn.APIToken) bool { return !t.Revoked }) {
			fmt.Fprintln(e.stderr, "cairn serve: every token is revoked; create one with: cairn tokens create --role admin --name NAME")
		}
		return "", nil
	}
	secret, err := createToken(ctx, st, "admin", server.RoleAdmin, actor(e))
	if cairn.ErrorCode(err) == cairn.ECONFLICT {
		return "", nil // another cairn serve created it just now
	} else if err != nil {
		return "", err
	}
	fmt.Fprintf(e.stdout, "admin token (shown once): %s\n", secret)
	fmt.Fprintln(e.stdout, "create a token per person or script with: cairn tokens create --role viewer|analyst|admin --name NAME")
	return secret, nil
}

// loopback reports whether addr's host is a loopback address or name.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// newNotifier makes the notifier of the --notify flags, nil when none is
// set.
func newNotifier(webhook, slack, severity string) (*notify.Notifier, error) {
	min, ok := field.SeverityRank(severity)
	if !ok {
		return nil, fmt.Errorf("--notify-severity %q: want info, low, medium, high or critical", severity)
	}
	var targets []notify.Target
	for _, t := range []notify.Target{{Kind: notify.KindWebhook, URL: webhook}, {Kind: notify.KindSlack, URL: slack}} {
		if t.URL == "" {
			continue
		}
		t.MinSeverity = min
		if err := t.Validate(); err != nil {
			return nil, err
		}
		targets = append(targets, t)
	}
	if len(targets) == 0 {
		return nil, nil
	}
	return notify.New(targets, notify.Options{}), nil
}

// startSensor starts the host sensor as mode asks, feeding its events
// through their own process table and detectors (the API's ingest keeps
// its own) into the store within a fraction of a second, and returns
// what stops it. auto says at start-up why the sensor is off, and how to
// turn it on.
func startSensor(ctx context.Context, e *env, mode string, lp livePipeline, reg *metrics.Registry) (func(), error) {
	log := lp.log
	nothing := func() {}
	if mode == "off" {
		return nothing, nil
	}
	if err := sensor.Available(); err != nil {
		if mode == "on" {
			return nil, cairn.Errorf(cairn.EINVALID, "--sensor=on: %v", err)
		}
		fmt.Fprintf(e.stdout, "host sensor: off (%v; --sensor=off silences this)\n", err)
		return nothing, nil
	}
	sn, err := sensor.New(sensor.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	live, err := lp.start(sctx)
	if err != nil {
		cancel()
		return nil, err
	}
	stat := func(get func(sensor.Stats) int64) func() float64 {
		return func() float64 { return float64(get(sn.Stats())) }
	}
	reg.GaugeFunc("cairn_sensor_execs_total", "Processes the host sensor saw executing.", stat(func(s sensor.Stats) int64 { return s.Execs }))
	reg.GaugeFunc("cairn_sensor_lost_total", "Times the kernel dropped process events (the sensor then walks /proc again).", stat(func(s sensor.Stats) int64 { return s.Lost + s.Dropped }))
	reg.GaugeFunc("cairn_sensor_partial_total", "Processes gone before /proc was read, kept with what the kernel reported.", stat(func(s sensor.Stats) int64 { return s.Partial }))
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := sn.Run(sctx, func(ev cairn.Event) {
			if err := live.Add(ev); err != nil && sctx.Err() == nil {
				log.Error("host sensor: store", "err", err)
			}
		})
		if err != nil && sctx.Err() == nil {
			log.Error("host sensor stopped", "err", err)
		}
	}()
	host, _ := os.Hostname()
	fmt.Fprintf(e.stdout, "host sensor: on (this machine's processes, host %s)\n", termsafe.String(host))
	return func() {
		cancel()
		<-done
		if _, err := live.Close(); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("host sensor: last batch", "err", err)
		}
	}, nil
}

// openGeo opens the location database at path ("" for none) and returns
// the attribution its licence asks for, recognised by the file names
// `make geoip` leaves.
func openGeo(path string) (*geo.DB, string, error) {
	if path == "" {
		return nil, "", nil
	}
	db, err := geo.Open(path)
	if err != nil {
		return nil, "", err
	}
	lower := strings.ToLower(path + " " + db.Source())
	if entries, err := os.ReadDir(path); err == nil {
		for _, en := range entries {
			lower += " " + strings.ToLower(en.Name())
		}
	}
	credit := ""
	switch {
	case strings.Contains(lower, "dbip") || strings.Contains(lower, "db-ip"):
		credit = "IP Geolocation by DB-IP (https://db-ip.com), CC BY 4.0."
	case strings.Contains(lower, "geolite"):
		credit = "This product includes GeoLite2 data created by MaxMind, available from https://www.maxmind.com."
	}
	return db, credit, nil
}

// watchSources checks the sources' health every minute and stores the
// detections of silent streams (the same silence keeps its id, so it is
// stored once); each is notified once.
func watchSources(ctx context.Context, hm *health.Monitor, st cairn.Store, notify func([]cairn.Detection), log *slog.Logger) {
	notified := map[string]bool{}
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ds := hm.Check()
		if len(ds) == 0 {
			continue
		}
		if err := st.WriteDetections(ctx, ds, nil); err != nil {
			if ctx.Err() == nil {
				log.Error("source health: store", "err", err)
			}
			continue
		}
		var fresh []cairn.Detection
		for _, d := range ds {
			if !notified[d.ID] {
				notified[d.ID] = true
				fresh = append(fresh, d)
			}
		}
		if notify != nil && len(fresh) > 0 {
			notify(fresh)
		}
	}
}
