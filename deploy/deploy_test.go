package deploy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"
)

// The values the deployment files must agree on.
const (
	image       = "ghcr.io/cairn-cdr/cairn:latest"
	serverPort  = 8080
	healthzPath = "/healthz"
	namespace   = "cairn"
)

// sensorCaps are exactly the capabilities the host sensor needs:
// NET_ADMIN for the process events connector, SYS_PTRACE for other
// users' /proc/PID/exe and cwd, DAC_READ_SEARCH for their /proc files.
var sensorCaps = []string{"DAC_READ_SEARCH", "NET_ADMIN", "SYS_PTRACE"}

// obj is one decoded YAML document.
type obj = map[string]any

// doc is a Kubernetes object and the file it came from.
type doc struct {
	file string
	obj  obj
}

func (d doc) kind() string { return str(d.obj, "kind") }
func (d doc) name() string { return str(d.obj, "metadata", "name") }

// manifests decodes every YAML document under kubernetes/.
func manifests(t *testing.T) []doc {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("kubernetes", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Fatalf("kubernetes/: %d YAML files, want namespace, server, sensor and secret.example: %v", len(files), files)
	}
	var docs []doc
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var o obj
			err := dec.Decode(&o)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if o == nil {
				continue // an empty document
			}
			if str(o, "apiVersion") == "" || str(o, "kind") == "" || str(o, "metadata", "name") == "" {
				t.Fatalf("%s: a document without apiVersion, kind or metadata.name: %v", f, o)
			}
			docs = append(docs, doc{file: filepath.Base(f), obj: o})
		}
	}
	return docs
}

func find(t *testing.T, docs []doc, kind, name string) obj {
	t.Helper()
	var found []obj
	for _, d := range docs {
		if d.kind() == kind && d.name() == name {
			found = append(found, d.obj)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d objects of kind %s named %s, want 1", len(found), kind, name)
	}
	return found[0]
}

// get walks maps by key and lists by decimal index; nil when absent.
func get(v any, path ...string) any {
	for _, p := range path {
		switch x := v.(type) {
		case obj:
			v = x[p]
		case []any:
			var i int
			if _, err := fmt.Sscan(p, &i); err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func str(v any, path ...string) string {
	s, _ := get(v, path...).(string)
	return s
}

func list(v any, path ...string) []any {
	l, _ := get(v, path...).([]any)
	return l
}

func strs(v any, path ...string) []string {
	var out []string
	for _, x := range list(v, path...) {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

// containers returns a pod spec's containers and init containers.
func containers(pod obj) []obj {
	var out []obj
	for _, key := range []string{"initContainers", "containers"} {
		for _, c := range list(pod, key) {
			if m, ok := c.(obj); ok {
				out = append(out, m)
			}
		}
	}
	return out
}

// argValue returns the value of --name in args (as "--name v" or
// "--name=v") and whether it is there.
func argValue(args []string, name string) (string, bool) {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
		if a == "--"+name {
			if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				return args[i+1], true
			}
			return "", true // a boolean flag
		}
	}
	return "", false
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// checkServerPod returns what is wrong with the server's pod template.
func checkServerPod(pod obj) []string {
	var bad []string
	for _, k := range []string{"hostPID", "hostNetwork", "hostIPC"} {
		if get(pod, k) == true {
			bad = append(bad, k+" is true")
		}
	}
	for _, v := range list(pod, "volumes") {
		if get(v, "hostPath") != nil {
			bad = append(bad, "hostPath volume "+str(v, "name"))
		}
	}
	if get(pod, "securityContext", "runAsNonRoot") != true {
		bad = append(bad, "pod runAsNonRoot is not true")
	}
	cs := containers(pod)
	if len(cs) != 1 {
		return append(bad, fmt.Sprintf("%d containers, want 1", len(cs)))
	}
	c := cs[0]
	if got := str(c, "image"); got != image {
		bad = append(bad, fmt.Sprintf("image %q, want %q", got, image))
	}
	if get(c, "ports", "0", "containerPort") != serverPort || len(list(c, "ports")) != 1 {
		bad = append(bad, fmt.Sprintf("ports %v, want containerPort %d only", get(c, "ports"), serverPort))
	}
	for _, probe := range []string{"readinessProbe", "livenessProbe"} {
		if p := str(c, probe, "httpGet", "path"); p != healthzPath {
			bad = append(bad, fmt.Sprintf("%s path %q, want %s", probe, p, healthzPath))
		}
		if p := get(c, probe, "httpGet", "port"); p != serverPort {
			bad = append(bad, fmt.Sprintf("%s port %v, want %d", probe, p, serverPort))
		}
	}
	sc := get(c, "securityContext")
	if get(sc, "runAsNonRoot") != true {
		bad = append(bad, "container runAsNonRoot is not true")
	}
	if get(sc, "readOnlyRootFilesystem") != true {
		bad = append(bad, "readOnlyRootFilesystem is not true")
	}
	if get(sc, "allowPrivilegeEscalation") != false {
		bad = append(bad, "allowPrivilegeEscalation is not false")
	}
	if get(sc, "privileged") == true {
		bad = append(bad, "privileged")
	}
	if d := strs(sc, "capabilities", "drop"); !slices.Equal(d, []string{"ALL"}) {
		bad = append(bad, fmt.Sprintf("capabilities drop %v, want [ALL]", d))
	}
	if a := strs(sc, "capabilities", "add"); len(a) > 0 {
		bad = append(bad, fmt.Sprintf("capabilities add %v, want none", a))
	}
	if str(sc, "seccompProfile", "type") != "RuntimeDefault" && str(pod, "securityContext", "seccompProfile", "type") != "RuntimeDefault" {
		bad = append(bad, "no RuntimeDefault seccomp profile")
	}
	args := strs(c, "args")
	if addr, _ := argValue(args, "addr"); addr != fmt.Sprintf("0.0.0.0:%d", serverPort) {
		bad = append(bad, fmt.Sprintf("--addr %q, want 0.0.0.0:%d", addr, serverPort))
	}
	if _, ok := argValue(args, "allow-remote"); !ok {
		bad = append(bad, "no --allow-remote with a non-loopback --addr (cairn refuses to start)")
	}
	if v, _ := argValue(args, "sensor"); v != "off" {
		bad = append(bad, fmt.Sprintf("--sensor %q, want off (the sensor runs in the DaemonSet)", v))
	}
	return bad
}

// checkSensorPod returns what is wrong with the host sensor's pod
// template.
func checkSensorPod(pod obj) []string {
	var bad []string
	if get(pod, "hostPID") != true {
		bad = append(bad, "hostPID is not true")
	}
	if get(pod, "hostNetwork") != true {
		bad = append(bad, "hostNetwork is not true")
	}
	if str(pod, "dnsPolicy") != "ClusterFirstWithHostNet" {
		bad = append(bad, "dnsPolicy is not ClusterFirstWithHostNet (cluster names do not resolve on the host network)")
	}
	if get(pod, "hostIPC") == true {
		bad = append(bad, "hostIPC is true")
	}
	if get(pod, "tolerations", "0", "operator") != "Exists" || get(pod, "tolerations", "0", "key") != nil {
		bad = append(bad, "tolerations do not tolerate every taint")
	}
	cs := containers(pod)
	if len(cs) != 1 {
		return append(bad, fmt.Sprintf("%d containers, want 1", len(cs)))
	}
	c := cs[0]
	if got := str(c, "image"); got != image {
		bad = append(bad, fmt.Sprintf("image %q, want %q", got, image))
	}
	sc := get(c, "securityContext")
	if get(sc, "privileged") == true {
		bad = append(bad, "privileged")
	}
	if get(sc, "allowPrivilegeEscalation") != false {
		bad = append(bad, "allowPrivilegeEscalation is not false")
	}
	if get(sc, "readOnlyRootFilesystem") != true {
		bad = append(bad, "readOnlyRootFilesystem is not true")
	}
	if d := strs(sc, "capabilities", "drop"); !slices.Equal(d, []string{"ALL"}) {
		bad = append(bad, fmt.Sprintf("capabilities drop %v, want [ALL]", d))
	}
	add := strs(sc, "capabilities", "add")
	slices.Sort(add)
	if !slices.Equal(add, sensorCaps) {
		bad = append(bad, fmt.Sprintf("capabilities add %v, want exactly %v", add, sensorCaps))
	}
	if str(sc, "seccompProfile", "type") != "RuntimeDefault" {
		bad = append(bad, "no RuntimeDefault seccomp profile")
	}
	args := strs(c, "args")
	if _, ok := argValue(args, "allow-remote"); ok {
		bad = append(bad, "--allow-remote: the sensor's API must stay on the node's loopback")
	}
	if addr, _ := argValue(args, "addr"); !isLoopback(addr) {
		bad = append(bad, fmt.Sprintf("--addr %q is not a loopback address", addr))
	}
	if v, _ := argValue(args, "sensor"); v != "on" {
		bad = append(bad, fmt.Sprintf("--sensor %q, want on", v))
	}
	// The DSN holds a password: it comes from a Secret as CAIRN_DB, never
	// in the arguments, which the sensor itself records.
	if _, ok := argValue(args, "db"); ok {
		bad = append(bad, "--db in args: pass the DSN as CAIRN_DB from the Secret")
	}
	for _, a := range append(strs(c, "command"), args...) {
		if strings.Contains(a, "://") {
			bad = append(bad, fmt.Sprintf("a URL in the command line: %q", a))
		}
	}
	var fromSecret bool
	for _, e := range list(c, "env") {
		if str(e, "name") == "CAIRN_DB" {
			fromSecret = str(e, "valueFrom", "secretKeyRef", "name") != "" && str(e, "valueFrom", "secretKeyRef", "key") != "" && get(e, "value") == nil
		}
	}
	if !fromSecret {
		bad = append(bad, "no CAIRN_DB env from a secretKeyRef")
	}
	// The sensor reads /proc and the passwd file beside it
	// (ProcRoot/../etc/passwd with ProcRoot /proc), so the node's
	// passwd must be at /etc/passwd.
	var passwd bool
	for _, m := range list(c, "volumeMounts") {
		if str(m, "mountPath") != "/etc/passwd" {
			continue
		}
		for _, v := range list(pod, "volumes") {
			if str(v, "name") == str(m, "name") && str(v, "hostPath", "path") == "/etc/passwd" {
				passwd = true
			}
		}
	}
	if !passwd {
		bad = append(bad, "the node's /etc/passwd is not mounted at /etc/passwd")
	}
	return bad
}

// checkHostPaths returns every hostPath volume that some container
// mounts writable.
func checkHostPaths(pod obj) []string {
	host := map[string]bool{}
	for _, v := range list(pod, "volumes") {
		if get(v, "hostPath") != nil {
			host[str(v, "name")] = true
		}
	}
	var bad []string
	for _, c := range containers(pod) {
		for _, m := range list(c, "volumeMounts") {
			if host[str(m, "name")] && get(m, "readOnly") != true {
				bad = append(bad, fmt.Sprintf("container %s mounts hostPath volume %s writable at %s", str(c, "name"), str(m, "name"), str(m, "mountPath")))
			}
		}
	}
	return bad
}

func report(t *testing.T, what string, bad []string) {
	t.Helper()
	for _, b := range bad {
		t.Errorf("%s: %s", what, b)
	}
}

func TestServer(t *testing.T) {
	docs := manifests(t)
	dep := find(t, docs, "Deployment", "cairn-server")
	if r := get(dep, "spec", "replicas"); r != 1 {
		t.Errorf("server replicas %v, want 1 (SQLite is a single writer)", r)
	}
	if s := str(dep, "spec", "strategy", "type"); s != "Recreate" {
		t.Errorf("server strategy %q, want Recreate (a rolling update runs two writers on one SQLite file)", s)
	}
	pod, _ := get(dep, "spec", "template", "spec").(obj)
	report(t, "server", checkServerPod(pod))

	// /data, where the SQLite file lives, is the PVC.
	claim := ""
	for _, v := range list(pod, "volumes") {
		for _, m := range list(pod, "containers", "0", "volumeMounts") {
			if str(m, "mountPath") == "/data" && str(m, "name") == str(v, "name") {
				claim = str(v, "persistentVolumeClaim", "claimName")
			}
		}
	}
	if claim == "" {
		t.Fatal("server: /data is not a PersistentVolumeClaim")
	}
	find(t, docs, "PersistentVolumeClaim", claim)
	if db, _ := argValue(strs(pod, "containers", "0", "args"), "db"); !strings.HasPrefix(db, "/data/") {
		t.Errorf("server --db %q, want a file under /data (the PVC)", db)
	}

	svc := find(t, docs, "Service", "cairn")
	if ty := str(svc, "spec", "type"); ty != "ClusterIP" {
		t.Errorf("service type %q, want ClusterIP (expose it through a TLS ingress)", ty)
	}
	ports := list(svc, "spec", "ports")
	if len(ports) != 1 || get(ports[0], "targetPort") != serverPort || get(ports[0], "port") != serverPort {
		t.Errorf("service ports %v, want port and targetPort %d", ports, serverPort)
	}
	podLabels, _ := get(dep, "spec", "template", "metadata", "labels").(obj)
	sel, _ := get(svc, "spec", "selector").(obj)
	if len(sel) == 0 {
		t.Fatal("service has no selector")
	}
	for k, v := range sel {
		if podLabels[k] != v {
			t.Errorf("service selector %s=%v does not match the server pod's labels %v", k, v, podLabels)
		}
	}
}

func TestSensor(t *testing.T) {
	docs := manifests(t)
	ds := find(t, docs, "DaemonSet", "cairn-sensor")
	pod, _ := get(ds, "spec", "template", "spec").(obj)
	report(t, "sensor", checkSensorPod(pod))

	// The Secret the DSN comes from is the one secret.example.yaml shows.
	for _, e := range list(pod, "containers", "0", "env") {
		if str(e, "name") != "CAIRN_DB" {
			continue
		}
		name, key := str(e, "valueFrom", "secretKeyRef", "name"), str(e, "valueFrom", "secretKeyRef", "key")
		sec := find(t, docs, "Secret", name)
		if _, ok := get(sec, "stringData", key).(string); !ok {
			t.Errorf("secret %s has no stringData.%s", name, key)
		}
	}
}

func TestHostPathsReadOnly(t *testing.T) {
	var pods int
	for _, d := range manifests(t) {
		pod, ok := get(d.obj, "spec", "template", "spec").(obj)
		if !ok {
			continue
		}
		pods++
		report(t, d.file+" "+d.name(), checkHostPaths(pod))
	}
	if pods < 2 {
		t.Fatalf("%d pod templates, want the server's and the sensor's", pods)
	}
}

func TestNamespace(t *testing.T) {
	docs := manifests(t)
	find(t, docs, "Namespace", namespace)
	for _, d := range docs {
		if d.kind() == "Namespace" {
			continue
		}
		if ns := str(d.obj, "metadata", "namespace"); ns != namespace {
			t.Errorf("%s %s/%s: namespace %q, want %q", d.file, d.kind(), d.name(), ns, namespace)
		}
	}
}

// TestChecksFail shows that the checks catch the mistakes they are for,
// on copies of the real manifests with one thing changed each.
func TestChecksFail(t *testing.T) {
	docs := manifests(t)
	podOf := func(kind, name string) obj {
		var o obj
		b, _ := json.Marshal(find(t, docs, kind, name))
		if err := json.Unmarshal(b, &o); err != nil {
			t.Fatal(err)
		}
		// JSON turns ints into float64; back to int for the port checks.
		return fixInts(get(o, "spec", "template", "spec")).(obj)
	}
	sensorEdits := map[string]func(c, pod obj){
		"extra capability": func(c, _ obj) {
			sc := c["securityContext"].(obj)["capabilities"].(obj)
			sc["add"] = append(sc["add"].([]any), "SYS_ADMIN")
		},
		"missing capability": func(c, _ obj) {
			c["securityContext"].(obj)["capabilities"].(obj)["add"] = []any{"NET_ADMIN", "SYS_PTRACE"}
		},
		"privileged":       func(c, _ obj) { c["securityContext"].(obj)["privileged"] = true },
		"no hostPID":       func(_, pod obj) { delete(pod, "hostPID") },
		"allow-remote":     func(c, _ obj) { c["args"] = append(c["args"].([]any), "--allow-remote") },
		"dsn in arguments": func(c, _ obj) { c["args"] = append(c["args"].([]any), "--db=postgres://u:p@h/db") },
		"passwd elsewhere": func(c, _ obj) { c["volumeMounts"].([]any)[0].(obj)["mountPath"] = "/host/etc/passwd" },
	}
	for name, edit := range sensorEdits {
		pod := podOf("DaemonSet", "cairn-sensor")
		edit(pod["containers"].([]any)[0].(obj), pod)
		if bad := checkSensorPod(pod); len(bad) == 0 {
			t.Errorf("sensor with %s: no problem found", name)
		}
	}
	serverEdits := map[string]func(c, pod obj){
		"writable root":   func(c, _ obj) { c["securityContext"].(obj)["readOnlyRootFilesystem"] = false },
		"escalation":      func(c, _ obj) { delete(c["securityContext"].(obj), "allowPrivilegeEscalation") },
		"hostNetwork":     func(_, pod obj) { pod["hostNetwork"] = true },
		"probe port":      func(c, _ obj) { c["livenessProbe"].(obj)["httpGet"].(obj)["port"] = 9090 },
		"keeps some caps": func(c, _ obj) { c["securityContext"].(obj)["capabilities"].(obj)["drop"] = []any{"NET_RAW"} },
		"root allowed":    func(_, pod obj) { pod["securityContext"].(obj)["runAsNonRoot"] = false },
	}
	for name, edit := range serverEdits {
		pod := podOf("Deployment", "cairn-server")
		edit(pod["containers"].([]any)[0].(obj), pod)
		if bad := checkServerPod(pod); len(bad) == 0 {
			t.Errorf("server with %s: no problem found", name)
		}
	}
	pod := podOf("DaemonSet", "cairn-sensor")
	pod["containers"].([]any)[0].(obj)["volumeMounts"].([]any)[0].(obj)["readOnly"] = false
	if bad := checkHostPaths(pod); len(bad) != 1 {
		t.Errorf("writable hostPath mount: %v, want one problem", bad)
	}
}

func fixInts(v any) any {
	switch x := v.(type) {
	case obj:
		for k, e := range x {
			x[k] = fixInts(e)
		}
	case []any:
		for i, e := range x {
			x[i] = fixInts(e)
		}
	case float64:
		if x == float64(int(x)) {
			return int(x)
		}
	}
	return v
}

// dockerfile is the instructions of a Dockerfile by stage: continuation
// lines joined, comments dropped.
type dockerfile struct{ stages [][]string }

func parseDockerfile(t *testing.T, path string) dockerfile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var df dockerfile
	var cur strings.Builder
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if s, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(line)
		ins := cur.String()
		cur.Reset()
		if strings.EqualFold(firstWord(ins), "FROM") {
			df.stages = append(df.stages, nil)
		}
		if len(df.stages) == 0 {
			continue // ARG before the first FROM
		}
		df.stages[len(df.stages)-1] = append(df.stages[len(df.stages)-1], ins)
	}
	if len(df.stages) < 2 {
		t.Fatalf("%s: %d stages, want a builder and a final stage", path, len(df.stages))
	}
	return df
}

func firstWord(s string) string { w, _, _ := strings.Cut(s, " "); return w }

// instructions returns the arguments of the stage's instructions of one
// kind, in order.
func instructions(stage []string, kind string) []string {
	var out []string
	for _, ins := range stage {
		if strings.EqualFold(firstWord(ins), kind) {
			out = append(out, strings.TrimSpace(ins[len(kind):]))
		}
	}
	return out
}

func TestDockerfile(t *testing.T) {
	df := parseDockerfile(t, "Dockerfile")
	build, final := df.stages[0], df.stages[len(df.stages)-1]

	// The builder: a static, pure-Go binary with the version stamped.
	if from := instructions(build, "FROM"); !strings.HasPrefix(from[0], "golang:") {
		t.Errorf("builder FROM %q, want a golang image", from[0])
	}
	var cgoOff, built bool
	for _, ins := range build {
		if strings.Contains(ins, "CGO_ENABLED=0") && (strings.EqualFold(firstWord(ins), "ENV") || strings.EqualFold(firstWord(ins), "RUN")) {
			cgoOff = true
		}
		if strings.EqualFold(firstWord(ins), "RUN") && strings.Contains(ins, "go build") {
			if !cgoOff {
				t.Errorf("go build runs before CGO_ENABLED=0 is set: %q", ins)
			}
			for _, want := range []string{"-trimpath", "-X main.version=${VERSION}", "-s -w", "./cmd/cairn"} {
				if !strings.Contains(ins, want) {
					t.Errorf("go build lacks %s: %q", want, ins)
				}
			}
			built = true
		}
	}
	if !built {
		t.Error("the builder stage has no go build")
	}

	// The final stage: distroless or scratch, non-root, port 8080.
	from := instructions(final, "FROM")[0]
	if !strings.HasPrefix(from, "gcr.io/distroless/static") && from != "scratch" {
		t.Errorf("final FROM %q, want distroless/static or scratch", from)
	}
	users := instructions(final, "USER")
	if len(users) == 0 {
		t.Fatal("final stage has no USER: it would run as root")
	}
	if u, _, _ := strings.Cut(users[len(users)-1], ":"); u == "0" || u == "root" || u == "" {
		t.Errorf("final USER %q is root", users[len(users)-1])
	}
	if u := users[len(users)-1]; u != "65532:65532" {
		t.Errorf("final USER %q, want 65532:65532 (distroless nonroot, as server.yaml's runAsUser)", u)
	}
	if e := instructions(final, "EXPOSE"); !slices.Contains(e, "8080") {
		t.Errorf("EXPOSE %v, want 8080", e)
	}
	var entry []string
	if err := json.Unmarshal([]byte(lastOf(instructions(final, "ENTRYPOINT"))), &entry); err != nil || !slices.Equal(entry, []string{"/cairn"}) {
		t.Errorf("ENTRYPOINT %v (%v), want [\"/cairn\"]", entry, err)
	}
	cmd := dockerCMD(t, df)
	if len(cmd) == 0 || cmd[0] != "serve" {
		t.Errorf("CMD %v, want serve ...", cmd)
	}
	if addr, _ := argValue(cmd, "addr"); addr == "" || isLoopback(addr) {
		t.Errorf("CMD --addr %q: a container must listen beyond its loopback", addr)
	}
	if _, ok := argValue(cmd, "allow-remote"); !ok {
		t.Errorf("CMD %v has a non-loopback --addr but no --allow-remote: cairn would refuse to start", cmd)
	}
	if v, _ := argValue(cmd, "sensor"); v != "off" {
		t.Errorf("CMD --sensor %q, want off", v)
	}
}

func lastOf(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}

// dockerCMD is the final stage's CMD in exec (JSON) form.
func dockerCMD(t *testing.T, df dockerfile) []string {
	t.Helper()
	var cmd []string
	raw := lastOf(instructions(df.stages[len(df.stages)-1], "CMD"))
	if err := json.Unmarshal([]byte(raw), &cmd); err != nil {
		t.Fatalf("CMD %q is not in exec (JSON) form: %v", raw, err)
	}
	return cmd
}

// parseUnit returns the settings of a systemd unit's [Service] section; a key set
// more than once keeps each value.
func parseUnit(t *testing.T, path string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	svc := map[string][]string{}
	section := ""
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "["):
			section = line
		case section == "[Service]":
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s: %q is not KEY=VALUE", path, line)
			}
			svc[k] = append(svc[k], v)
		}
	}
	return svc
}

func TestSystemdUnit(t *testing.T) {
	svc := parseUnit(t, filepath.Join("systemd", "cairn.service"))
	one := func(k string) string {
		if len(svc[k]) != 1 {
			t.Errorf("%s set %d times, want once", k, len(svc[k]))
			return ""
		}
		return svc[k][0]
	}
	cmdline := strings.Fields(one("ExecStart"))
	if len(cmdline) < 2 || cmdline[0] != "/usr/local/bin/cairn" || cmdline[1] != "serve" {
		t.Errorf("ExecStart %v, want /usr/local/bin/cairn serve ...", cmdline)
	}
	if addr, _ := argValue(cmdline, "addr"); !isLoopback(addr) {
		t.Errorf("ExecStart --addr %q, want a loopback address", addr)
	}
	if _, ok := argValue(cmdline, "allow-remote"); ok {
		t.Error("ExecStart has --allow-remote")
	}
	state := one("StateDirectory")
	if db, _ := argValue(cmdline, "db"); state == "" || !strings.HasPrefix(db, "/var/lib/"+state+"/") {
		t.Errorf("--db %q is not under StateDirectory /var/lib/%s", db, state)
	}
	if !slices.Contains(strings.Fields(one("ReadWritePaths")), "/var/lib/"+state) {
		t.Errorf("ReadWritePaths %q lacks the state directory /var/lib/%s", svc["ReadWritePaths"], state)
	}
	for k, want := range map[string]string{"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes", "Restart": "on-failure"} {
		if got := one(k); got != want {
			t.Errorf("%s=%q, want %q", k, got, want)
		}
	}
	var wantCaps []string
	for _, c := range sensorCaps {
		wantCaps = append(wantCaps, "CAP_"+c)
	}
	for _, k := range []string{"CapabilityBoundingSet", "AmbientCapabilities"} {
		got := strings.Fields(one(k))
		slices.Sort(got)
		if !slices.Equal(got, wantCaps) {
			t.Errorf("%s %v, want exactly %v", k, got, wantCaps)
		}
	}
	for _, k := range []string{"PrivateNetwork", "PrivateUsers", "ProtectProc"} {
		if v := svc[k]; len(v) > 0 && v[0] != "no" && v[0] != "default" {
			t.Errorf("%s=%v hides the host's processes or connector from the sensor", k, v)
		}
	}
	if fams := strings.Fields(one("RestrictAddressFamilies")); !slices.Contains(fams, "AF_NETLINK") {
		t.Errorf("RestrictAddressFamilies %v lacks AF_NETLINK, which the sensor's connector socket is", fams)
	}
}

var (
	helpOnce sync.Once
	helpText string
	helpErr  error
)

// serveHelp is the output of `cairn serve -h`, built once.
func serveHelp(t *testing.T) string {
	t.Helper()
	helpOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cairn-deploy-test")
		if err != nil {
			helpErr = err
			return
		}
		defer os.RemoveAll(dir)
		bin := filepath.Join(dir, "cairn")
		gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
		if out, err := exec.Command(gobin, "build", "-o", bin, "../cmd/cairn").CombinedOutput(); err != nil {
			helpErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		out, err := exec.Command(bin, "serve", "-h").CombinedOutput()
		if err != nil {
			helpErr = fmt.Errorf("cairn serve -h: %v\n%s", err, out)
			return
		}
		helpText = string(out)
	})
	if helpErr != nil {
		t.Fatal(helpErr)
	}
	return helpText
}

// flagNames returns the flag names in a command line: --name, -name and
// --name=value.
func flagNames(args []string) []string {
	var names []string
	for _, a := range args {
		if !strings.HasPrefix(a, "-") || a == "-" || a == "--" {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		names = append(names, name)
	}
	return names
}

func TestFlagsExist(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cairn")
	}
	lines := map[string][]string{}
	for _, d := range manifests(t) {
		pod, ok := get(d.obj, "spec", "template", "spec").(obj)
		if !ok {
			continue
		}
		for _, c := range containers(pod) {
			lines[d.file+" "+str(c, "name")] = append(strs(c, "command"), strs(c, "args")...)
		}
	}
	lines["Dockerfile CMD"] = dockerCMD(t, parseDockerfile(t, "Dockerfile"))
	lines["cairn.service ExecStart"] = strings.Fields(parseUnit(t, filepath.Join("systemd", "cairn.service"))["ExecStart"][0])

	help := serveHelp(t)
	var checked int
	for where, args := range lines {
		if !slices.Contains(args, "serve") {
			t.Errorf("%s: %v does not run cairn serve", where, args)
		}
		for _, name := range flagNames(args) {
			// flag.PrintDefaults lists each flag as "  -name ...".
			if !regexp.MustCompile(`(?m)^\s+-` + regexp.QuoteMeta(name) + `(\s|$)`).MatchString(help) {
				t.Errorf("%s: cairn serve has no flag -%s", where, name)
			}
			checked++
		}
	}
	if checked < 10 {
		t.Errorf("checked %d flags, want the server's, sensor's, Dockerfile's and unit's", checked)
	}
	// The check itself: a flag cairn serve lacks is caught.
	if regexp.MustCompile(`(?m)^\s+-proc(\s|$)`).MatchString(help) {
		t.Log("cairn serve now has -proc: the sensor could read a /host/proc with /host/etc/passwd beside it")
	}
	if regexp.MustCompile(`(?m)^\s+-no-such-flag(\s|$)`).MatchString(help) {
		t.Error("the flag check matches a flag that does not exist")
	}
}
