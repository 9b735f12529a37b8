package server

// route is one endpoint: the table registers the handlers and is checked
// against the OpenAPI document by a test, so that neither lists an
// endpoint the other lacks.
type route struct {
	method string
	// path is the full path in ServeMux syntax: /api/v1/events/{id}.
	path string
	// role is the least role allowed; "" serves without a token.
	role string
	// query are the query parameters the endpoint takes; any other is
	// rejected.
	query  []string
	handle handlerFunc
}

// pattern is the route's ServeMux pattern.
func (rt route) pattern() string { return rt.method + " " + rt.path }

// apiPrefix is where the API lives.
const apiPrefix = "/api/v1"

// routes is the route table.
func (s *server) routes() []route {
	page := []string{"filter", "since", "until", "limit", "cursor"}
	return []route{
		{method: "GET", path: "/healthz", handle: s.healthz},
		{method: "GET", path: apiPrefix + "/openapi.json", handle: serveOpenAPI},

		{method: "GET", path: apiPrefix + "/events", role: RoleViewer, query: append(page, "oldest"), handle: s.listEvents},
		{method: "GET", path: apiPrefix + "/events/{id}", role: RoleViewer, handle: s.getEvent},
		{method: "GET", path: apiPrefix + "/detections", role: RoleViewer, query: page, handle: s.listDetections},
		{method: "GET", path: apiPrefix + "/stats/detections", role: RoleViewer, query: []string{"filter", "since", "until"}, handle: s.detectionFacets},
		{method: "GET", path: apiPrefix + "/detections/{id}", role: RoleViewer, handle: s.getDetection},
		{method: "PATCH", path: apiPrefix + "/detections/{id}", role: RoleAnalyst, handle: s.patchDetection},
		{method: "GET", path: apiPrefix + "/detections/{id}/comments", role: RoleViewer, handle: s.listComments},
		{method: "POST", path: apiPrefix + "/detections/{id}/comments", role: RoleAnalyst, handle: s.addComment},
		{method: "GET", path: apiPrefix + "/trees/{id}", role: RoleViewer, query: []string{"before", "after"}, handle: s.getTree},

		{method: "GET", path: apiPrefix + "/exceptions", role: RoleViewer, handle: s.listExceptions},
		{method: "POST", path: apiPrefix + "/exceptions", role: RoleAnalyst, handle: s.addException},
		{method: "DELETE", path: apiPrefix + "/exceptions/{id}", role: RoleAnalyst, handle: s.removeException},

		{method: "GET", path: apiPrefix + "/audit", role: RoleAdmin, query: []string{"limit"}, handle: s.listAudit},

		{method: "POST", path: apiPrefix + "/ingest", role: RoleAnalyst, query: []string{"format"}, handle: s.ingestBody},
		{method: "POST", path: apiPrefix + "/ingest/falcosidekick", role: RoleAnalyst, handle: s.ingestFalcosidekick},

		{method: "POST", path: apiPrefix + "/ask", role: RoleViewer, handle: s.ask},
		{method: "GET", path: apiPrefix + "/identities", role: RoleViewer, query: []string{"filter", "status", "risk"}, handle: s.listIdentities},
		{method: "GET", path: apiPrefix + "/identities/{id}", role: RoleViewer, handle: s.getIdentity},
		{method: "POST", path: apiPrefix + "/identities/{id}/status", role: RoleAnalyst, handle: s.postIdentityStatus},
		{method: "GET", path: apiPrefix + "/identities/{id}/policy", role: RoleViewer, query: []string{"since", "until"}, handle: s.getIdentityPolicy},
		{method: "GET", path: apiPrefix + "/identities/{id}/remediation", role: RoleViewer, query: []string{"cidr"}, handle: s.getIdentityRemediation},
		{method: "GET", path: apiPrefix + "/risks", role: RoleViewer, query: []string{"filter", "since"}, handle: s.getRisks},
		{method: "GET", path: apiPrefix + "/graph", role: RoleViewer, query: []string{"filter", "since", "format"}, handle: s.getGraph},

		{method: "GET", path: apiPrefix + "/stats", role: RoleViewer, handle: s.stats},
		{method: "GET", path: apiPrefix + "/sources", role: RoleViewer, handle: s.listSources},
		{method: "GET", path: apiPrefix + "/dead-letters", role: RoleViewer, query: []string{"limit"}, handle: s.listDeadLetters},
	}
}
