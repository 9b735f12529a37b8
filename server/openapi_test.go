package server

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn/sqlite"
)

// openAPIDoc is the part of the document the checks read.
type openAPIDoc struct {
	OpenAPI    string                          `json:"openapi"`
	Paths      map[string]map[string]openAPIOp `json:"paths"`
	Components struct {
		Parameters map[string]openAPIParam `json:"parameters"`
	} `json:"components"`
}

type openAPIOp struct {
	OperationID string            `json:"operationId"`
	Description string            `json:"description"`
	Parameters  []openAPIParam    `json:"parameters"`
	Security    *[]map[string]any `json:"security"`
	Responses   map[string]any    `json:"responses"`
}

type openAPIParam struct {
	Ref      string `json:"$ref"`
	Name     string `json:"name"`
	In       string `json:"in"`
	Required bool   `json:"required"`
}

var httpMethods = []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}

func loadOpenAPI(t *testing.T) openAPIDoc {
	t.Helper()
	var doc openAPIDoc
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Fatalf("openapi %q, want 3.1.x", doc.OpenAPI)
	}
	return doc
}

// The document describes every route the server serves and no other:
// same methods, path parameters, query parameters, and security (none
// exactly where the route needs no token).
func TestOpenAPICoversRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	routes := (&server{}).routes()
	served := map[string]route{}
	for _, rt := range routes {
		if _, dup := served[rt.pattern()]; dup {
			t.Errorf("route %s listed twice", rt.pattern())
		}
		served[rt.pattern()] = rt
	}
	documented := map[string]bool{}
	opIDs := map[string]bool{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if !slices.Contains(httpMethods, method) {
				continue // parameters, summary: not an operation
			}
			pattern := strings.ToUpper(method) + " " + path
			documented[pattern] = true
			rt, ok := served[pattern]
			if !ok {
				t.Errorf("the document names %s, which the server does not serve", pattern)
				continue
			}
			if op.OperationID == "" || opIDs[op.OperationID] {
				t.Errorf("%s: missing or repeated operationId %q", pattern, op.OperationID)
			}
			opIDs[op.OperationID] = true
			var query, pathParams []string
			for _, p := range op.Parameters {
				if p.Ref != "" {
					name := strings.TrimPrefix(p.Ref, "#/components/parameters/")
					var ok bool
					if p, ok = doc.Components.Parameters[name]; !ok {
						t.Errorf("%s: parameter %s is not defined", pattern, p.Ref)
						continue
					}
				}
				switch p.In {
				case "query":
					query = append(query, p.Name)
				case "path":
					if !p.Required {
						t.Errorf("%s: path parameter %s not required", pattern, p.Name)
					}
					pathParams = append(pathParams, p.Name)
				}
			}
			sort.Strings(query)
			want := slices.Clone(rt.query)
			sort.Strings(want)
			if !slices.Equal(query, want) {
				t.Errorf("%s: documented query parameters %v, served %v", pattern, query, want)
			}
			var wantPath []string
			for _, m := range regexp.MustCompile(`\{(\w+)\}`).FindAllStringSubmatch(path, -1) {
				wantPath = append(wantPath, m[1])
			}
			if !slices.Equal(pathParams, wantPath) {
				t.Errorf("%s: documented path parameters %v, the path has %v", pattern, pathParams, wantPath)
			}
			noAuth := op.Security != nil && len(*op.Security) == 0
			if noAuth != (rt.role == "") {
				t.Errorf("%s: documented without security %v, served without a token %v", pattern, noAuth, rt.role == "")
			}
			if rt.role != "" && (op.Responses["401"] == nil || op.Responses["403"] == nil) {
				t.Errorf("%s: needs a token but documents no 401 or 403", pattern)
			}
			if rt.role != "" && !strings.Contains(op.Description, "Role: "+rt.role) {
				t.Errorf("%s: the description does not name the role %s", pattern, rt.role)
			}
		}
	}
	for pattern := range served {
		if !documented[pattern] {
			t.Errorf("the server serves %s, which the document lacks", pattern)
		}
	}
	for _, rt := range routes {
		if rt.role != "" && roleRank[rt.role] == 0 {
			t.Errorf("%s: unknown role %q", rt.pattern(), rt.role)
		}
		if rt.path != "/healthz" && !strings.HasPrefix(rt.path, apiPrefix+"/") {
			t.Errorf("%s: outside %s", rt.pattern(), apiPrefix)
		}
	}
}

// The mux serves exactly the table: each route's request reaches its
// pattern, and a method the table does not list on a path reaches none.
func TestMuxServesRouteTable(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := New(Config{Store: st, Tokens: &MemTokens{}}).(*server)
	methodsOf := map[string][]string{}
	for _, rt := range s.routes() {
		path := strings.ReplaceAll(rt.path, "{id}", "some-id")
		req := httptest.NewRequest(rt.method, path, nil)
		if _, pattern := s.mux.Handler(req); pattern != rt.pattern() {
			t.Errorf("%s %s reaches %q, want %q", rt.method, path, pattern, rt.pattern())
		}
		methodsOf[path] = append(methodsOf[path], rt.method)
	}
	for path, methods := range methodsOf {
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			if slices.Contains(methods, m) {
				continue
			}
			if _, pattern := s.mux.Handler(httptest.NewRequest(m, path, nil)); pattern != "" {
				t.Errorf("%s %s reaches %q, which the table does not list", m, path, pattern)
			}
		}
	}
}

// Every $ref in the document resolves.
func TestOpenAPIRefsResolve(t *testing.T) {
	var doc any
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	n := 0
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				n++
				if resolve(doc, ref) == nil {
					t.Errorf("$ref %s does not resolve", ref)
				}
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(doc)
	if n < 20 {
		t.Fatalf("only %d $refs: the walk is broken", n)
	}
}

func resolve(doc any, ref string) any {
	path, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil
	}
	v := doc
	for _, part := range strings.Split(path, "/") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[part]
	}
	return v
}
