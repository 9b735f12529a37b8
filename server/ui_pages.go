package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/attack"
	"github.com/cairn-cdr/cairn/exception"
	"github.com/cairn-cdr/cairn/field"
	"github.com/cairn-cdr/cairn/treeview"
)

// feedRanges are the feed's time-range facets, newest first.
var feedRanges = []struct{ key, label string }{{"1h", "1 h"}, {"24h", "24 h"}, {"7d", "7 d"}, {"30d", "30 d"}, {"", "all"}}

// feedParams are the feed's query: the analyst's filter and the facets
// chosen.
type feedParams struct {
	Q, Status, Sev, Range, Cursor string
}

func readFeedParams(r *http.Request) feedParams {
	v := r.URL.Query()
	p := feedParams{Q: strings.TrimSpace(v.Get("q")), Status: v.Get("status"), Sev: v.Get("sev"), Range: v.Get("range"), Cursor: v.Get("cursor")}
	if !cairn.ValidStatus(p.Status) {
		p.Status = ""
	}
	if rank, ok := field.SeverityRank(p.Sev); ok {
		p.Sev = field.SeverityName(rank)
	} else {
		p.Sev = ""
	}
	if !slices.ContainsFunc(feedRanges, func(x struct{ key, label string }) bool { return x.key == p.Range }) {
		p.Range = ""
	}
	return p
}

// filter is the store filter of the analyst's and the facets' choices,
// leaving out the facet named by skip ("facets": both).
func (p feedParams) filter(skip string) string {
	var parts []string
	if p.Q != "" {
		parts = append(parts, "("+p.Q+")")
	}
	if skip == "facets" {
		return strings.Join(parts, " and ")
	}
	if p.Status != "" && skip != "status" {
		parts = append(parts, "status = "+p.Status) // a known status: no quoting needed
	}
	if p.Sev != "" && skip != "sev" {
		parts = append(parts, "severity = "+p.Sev)
	}
	return strings.Join(parts, " and ")
}

func (p feedParams) since(now time.Time, key string) time.Time {
	if key == "" {
		return time.Time{}
	}
	n, _ := strconv.Atoi(key[:len(key)-1])
	unit := time.Hour
	if strings.HasSuffix(key, "d") {
		unit = 24 * time.Hour
	}
	return now.Add(-time.Duration(n) * unit)
}

// url returns the feed's address with one parameter changed (and the
// cursor dropped unless that is what changes).
func (p feedParams) url(key, value string) string {
	v := url.Values{}
	set := func(k, x string) {
		if x != "" {
			v.Set(k, x)
		}
	}
	q := p
	switch key {
	case "status":
		q.Status = value
	case "sev":
		q.Sev = value
	case "range":
		q.Range = value
	}
	set("q", q.Q)
	set("status", q.Status)
	set("sev", q.Sev)
	set("range", q.Range)
	if key == "cursor" {
		set("cursor", value)
	}
	if len(v) == 0 {
		return "/"
	}
	return "/?" + v.Encode()
}

// facet is one clickable count.
type facet struct {
	Label, Class, URL string
	N                 int
	Active            bool
}

type feedData struct {
	P          feedParams
	Err        string
	Detections []cairn.Detection
	Next       string
	Severity   []facet
	Status     []facet
	Ranges     []facet
	Total      int
	StreamURL  string
	// Chat is the assistant panel's conversation; AssistOn says whether
	// the server has an assistant.
	Chat     []chatTurn
	AssistOn bool
}

func (s *server) uiFeed(w http.ResponseWriter, r *http.Request, sess *session) error {
	ctx := r.Context()
	now := s.now()
	p := readFeedParams(r)
	d := feedData{P: p, Chat: sess.Chat, AssistOn: s.cfg.Assistant != nil}
	since := p.since(now, p.Range)
	res, err := s.cfg.Store.QueryDetections(ctx, cairn.DetectionQuery{Filter: p.filter(""), Since: since, Cursor: p.Cursor, Limit: 50})
	if cairn.ErrorCode(err) == cairn.EINVALID {
		d.Err = cairn.ErrorMessage(err)
		return s.render(w, http.StatusOK, "feed.html", page{Title: "Detections", Nav: "feed", Sess: sess, Data: d})
	} else if err != nil {
		return err
	}
	d.Detections = res.Detections
	if res.Next != "" {
		d.Next = p.url("cursor", res.Next)
	}
	// One scan counts every facet: the query's filter alone, by
	// severity, status and age; each facet's counts then apply the other
	// facets' choices.
	var ages []time.Time
	for _, rg := range feedRanges {
		if rg.key != "" {
			ages = append(ages, p.since(now, rg.key))
		}
	}
	counts, err := s.cfg.Store.CountDetections(ctx, cairn.DetectionQuery{Filter: p.filter("facets")}, ages...)
	if err != nil {
		return err
	}
	rangeIdx := slices.IndexFunc(feedRanges, func(x struct{ key, label string }) bool { return x.key == p.Range })
	bySev, byStatus, byRange := map[int64]int{}, map[string]int{}, make([]int, len(feedRanges))
	for _, c := range counts.Counts {
		inRange := c.Age <= rangeIdx // ranges are ordered newest first, "all" last
		sevOK, statusOK := p.Sev == "" || field.SeverityName(c.Severity) == p.Sev, p.Status == "" || c.Status == p.Status
		if inRange && statusOK {
			bySev[c.Severity] += c.N
		}
		if inRange && sevOK {
			byStatus[c.Status] += c.N
		}
		if sevOK && statusOK {
			for i := c.Age; i < len(feedRanges); i++ { // in this range and every longer one
				byRange[i] += c.N
			}
		}
	}
	for rank := int64(4); rank >= 0; rank-- {
		name := field.SeverityName(rank)
		f := facet{Label: name, Class: "sev-" + name, N: bySev[rank], Active: p.Sev == name, URL: p.url("sev", name)}
		if f.Active {
			f.URL = p.url("sev", "")
		}
		d.Severity = append(d.Severity, f)
	}
	for _, st := range cairn.Statuses {
		f := facet{Label: statusName(st), Class: "st-" + st, N: byStatus[st], Active: p.Status == st, URL: p.url("status", st)}
		if f.Active {
			f.URL = p.url("status", "")
		}
		d.Status = append(d.Status, f)
	}
	for i, rg := range feedRanges {
		d.Ranges = append(d.Ranges, facet{Label: rg.label, N: byRange[i], Active: p.Range == rg.key, URL: p.url("range", rg.key)})
	}
	d.Total = byRange[rangeIdx]
	d.StreamURL = "/stream?" + url.Values{"filter": {p.filter("")}, "since": {since.Format(time.RFC3339Nano)}}.Encode()
	if since.IsZero() {
		d.StreamURL = "/stream?" + url.Values{"filter": {p.filter("")}}.Encode()
	}
	return s.render(w, http.StatusOK, "feed.html", page{Title: "Detections", Nav: "feed", Sess: sess, Data: d})
}

type eventsData struct {
	Q, Err string
	Events []cairn.Event
	Next   string
}

func (s *server) uiEvents(w http.ResponseWriter, r *http.Request, sess *session) error {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	d := eventsData{Q: q}
	pg, err := s.cfg.Store.QueryEvents(r.Context(), cairn.EventQuery{Filter: q, Cursor: r.URL.Query().Get("cursor"), Limit: 100})
	switch {
	case cairn.ErrorCode(err) == cairn.EINVALID:
		d.Err = cairn.ErrorMessage(err)
	case err != nil:
		return err
	}
	d.Events = pg.Events
	if pg.Next != "" {
		v := url.Values{"cursor": {pg.Next}}
		if q != "" {
			v.Set("q", q)
		}
		d.Next = "/events?" + v.Encode()
	}
	return s.render(w, http.StatusOK, "events.html", page{Title: "Events", Nav: "events", Sess: sess, Data: d})
}

// treeNode is a process of the drawn tree with its children.
type treeNode struct {
	treeview.Node
	Kids []*treeNode
}

// nest turns a view's lineage, children and siblings into one tree: the
// lineage a chain from the root, the event's process's children under
// it, its siblings beside it.
func nest(v *treeview.View) *treeNode {
	if v == nil || len(v.Lineage) == 0 {
		return nil
	}
	nodes := make([]*treeNode, len(v.Lineage))
	for i := range v.Lineage {
		nodes[i] = &treeNode{Node: v.Lineage[i]}
		if i > 0 {
			nodes[i-1].Kids = append(nodes[i-1].Kids, nodes[i])
		}
	}
	last := nodes[len(nodes)-1]
	for _, c := range v.Children {
		last.Kids = append(last.Kids, &treeNode{Node: c})
	}
	if len(nodes) > 1 {
		parent := nodes[len(nodes)-2]
		for _, sib := range v.Siblings {
			parent.Kids = append(parent.Kids, &treeNode{Node: sib})
		}
	}
	return nodes[0]
}

// exField is a field an exception can be made on, with the event's
// value.
type exField struct {
	Name, Value string
	Checked     bool
}

// exceptionCandidates are the fields offered when making an exception,
// the defaults first.
var exceptionCandidates = []string{
	"proc.name", "proc.pname", "container.image.repository", "proc.exepath", "proc.cmdline", "proc.pcmdline",
	"user.name", "k8s.ns.name", "k8s.pod.name", "container.name", "evt.hostname",
	"cloud.identity", "ct.name", "ct.srcip", "ct.useragent", "ct.region", "ct.user.identitytype",
}

type kv struct{ K, V string }

type detectionData struct {
	D          cairn.Detection
	Tactics    []attack.Tactic
	Techniques []attack.Technique
	Tree       *treeNode
	View       *treeview.View
	TreeNote   string
	Event      *cairn.Event
	Facts      []kv
	Raw        string
	Comments   []cairn.Comment
	Statuses   []string
	ExFields   []exField
	ExNote     string
	ExExpires  string
	ExErr      string
	Preview    *exceptionAdded
	Saved      *exceptionAdded
}

func (s *server) uiDetection(w http.ResponseWriter, r *http.Request, sess *session) error {
	d, err := s.detectionData(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.render(w, http.StatusOK, "detection.html", page{Title: d.D.Rule, Nav: "feed", Sess: sess, Data: d})
}

// detectionData reads everything the detection page shows.
func (s *server) detectionData(r *http.Request, id string) (*detectionData, error) {
	ctx := r.Context()
	det, err := s.cfg.Store.GetDetection(ctx, id)
	if err != nil {
		return nil, err
	}
	d := &detectionData{D: det, Statuses: cairn.Statuses}
	for _, id := range det.Tactics {
		if t, ok := attack.TacticByID(id); ok {
			d.Tactics = append(d.Tactics, t)
		} else {
			d.Tactics = append(d.Tactics, attack.Tactic{ID: id})
		}
	}
	for _, id := range det.Techniques {
		if t, ok := attack.TechniqueByID(id); ok {
			d.Techniques = append(d.Techniques, t)
		} else {
			d.Techniques = append(d.Techniques, attack.Technique{ID: id})
		}
	}
	if d.Comments, err = s.cfg.Store.Comments(ctx, det.ID); err != nil {
		return nil, err
	}
	view, err := treeview.Build(ctx, s.cfg.Store, det.ID, treeview.Options{Before: 10, After: 10})
	switch cairn.ErrorCode(err) {
	case "":
		d.View, d.Tree = view, nest(view)
	case cairn.EINVALID, cairn.ENOTFOUND:
		d.TreeNote = cairn.ErrorMessage(err)
	default:
		return nil, err
	}
	if len(det.EventIDs) > 0 {
		ev, err := s.cfg.Store.GetEvent(ctx, det.EventIDs[0])
		switch {
		case err == nil:
			d.Event = &ev
			d.Raw = indentJSON(ev.Raw)
			d.Facts = facts(&ev)
			for i, name := range exceptionCandidates {
				ref, err := field.Lookup(name)
				if err != nil {
					continue
				}
				v, ok := ref.Get(&ev)
				if !ok {
					continue
				}
				var text string
				switch x := v.(type) {
				case string:
					text = x
				case int64:
					text = strconv.FormatInt(x, 10)
				default:
					continue
				}
				def := exception.RuntimeFields
				if ev.Cloud != nil {
					def = exception.CloudFields
				}
				d.ExFields = append(d.ExFields, exField{Name: name, Value: text, Checked: i < len(exceptionCandidates) && slices.Contains(def, name)})
			}
		case cairn.ErrorCode(err) != cairn.ENOTFOUND:
			return nil, err
		}
	}
	return d, nil
}

// facts are the event's key fields an analyst reads first, those it has.
func facts(ev *cairn.Event) []kv {
	names := []string{"evt.type", "evt.hostname", "user.name", "proc.exepath", "proc.cmdline", "proc.cwd",
		"container.image", "k8s.ns.name", "k8s.pod.name", "fd.name", "cloud.identity", "ct.user.arn", "ct.name", "ct.src",
		"ct.srcip", "ct.useragent", "ct.region", "ct.error"}
	var out []kv
	for _, name := range names {
		ref, err := field.Lookup(name)
		if err != nil {
			continue
		}
		v, ok := ref.Get(ev)
		if !ok {
			continue
		}
		var text string
		switch x := v.(type) {
		case string:
			text = x
		case int64:
			text = strconv.FormatInt(x, 10)
		default:
			b, _ := json.Marshal(x)
			text = string(b)
		}
		if text != "" {
			out = append(out, kv{name, text})
		}
	}
	return out
}

// indentJSON pretty-prints a raw record for reading; a record that is
// not JSON is shown as it is.
func indentJSON(raw []byte) string {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return string(raw)
	}
	return b.String()
}

// eventData is what the event page shows.
type eventData struct {
	Event    *cairn.Event
	Tree     *treeNode
	View     *treeview.View
	TreeNote string
	Facts    []kv
	Raw      string
}

// uiEvent shows one event: its process tree, what happened around it,
// its key fields and its raw record.
func (s *server) uiEvent(w http.ResponseWriter, r *http.Request, sess *session) error {
	ctx := r.Context()
	ev, err := s.cfg.Store.GetEvent(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	d := eventData{Event: &ev, Facts: facts(&ev), Raw: indentJSON(ev.Raw)}
	view, err := treeview.Build(ctx, s.cfg.Store, ev.ID, treeview.Options{Before: 10, After: 10})
	switch cairn.ErrorCode(err) {
	case "":
		d.View, d.Tree = view, nest(view)
	case cairn.EINVALID, cairn.ENOTFOUND:
		d.TreeNote = cairn.ErrorMessage(err)
	default:
		return err
	}
	return s.render(w, http.StatusOK, "event.html", page{Title: "Event", Nav: "events", Sess: sess, Data: d})
}

func (s *server) uiTriage(w http.ResponseWriter, r *http.Request, sess *session) error {
	var req triageRequest
	if st := r.PostFormValue("status"); st != "" {
		req.Status = &st
	}
	if r.PostForm.Has("assignee") {
		a := r.PostFormValue("assignee")
		req.Assignee = &a
	}
	d, err := s.setTriage(r.Context(), r.PathValue("id"), req, sess.Tok)
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/detections/"+url.PathEscape(d.ID), http.StatusSeeOther)
	return nil
}

func (s *server) uiComment(w http.ResponseWriter, r *http.Request, sess *session) error {
	c, err := s.comment(r.Context(), r.PathValue("id"), r.PostFormValue("text"), sess.Tok)
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/detections/"+url.PathEscape(c.DetectionID)+"#comments", http.StatusSeeOther)
	return nil
}

// uiException previews (backtests) or saves an exception made from the
// detection with the fields the analyst ticked.
func (s *server) uiException(w http.ResponseWriter, r *http.Request, sess *session) error {
	r.ParseForm()
	id := r.PathValue("id")
	req := exceptionRequest{FromDetection: id, Fields: r.PostForm["field"], Note: strings.TrimSpace(r.PostFormValue("note")),
		Expires: strings.TrimSpace(r.PostFormValue("expires")), DryRun: r.PostFormValue("action") != "save"}
	d, err := s.detectionData(r, id)
	if err != nil {
		return err
	}
	for i := range d.ExFields {
		d.ExFields[i].Checked = slices.Contains(req.Fields, d.ExFields[i].Name)
	}
	d.ExNote, d.ExExpires = req.Note, req.Expires
	status := http.StatusOK
	if len(req.Fields) == 0 {
		d.ExErr, status = "Tick at least one field.", http.StatusBadRequest
	} else if out, err := s.makeException(r.Context(), req, sess.Tok); err != nil {
		if code := cairn.ErrorCode(err); code != cairn.EINVALID && code != cairn.ENOTFOUND {
			return err
		}
		d.ExErr, status = cairn.ErrorMessage(err), http.StatusBadRequest
	} else if out.Stored {
		d.Saved = &out
	} else {
		d.Preview = &out
	}
	return s.render(w, status, "detection.html", page{Title: d.D.Rule, Nav: "feed", Sess: sess, Data: d})
}

func (s *server) uiExceptions(w http.ResponseWriter, r *http.Request, sess *session) error {
	xs, err := s.cfg.Store.Exceptions(r.Context())
	if err != nil {
		return err
	}
	rows := make([]exceptionRow, 0, len(xs))
	for i := len(xs) - 1; i >= 0; i-- { // newest first
		rows = append(rows, exceptionRow{Exception: xs[i], Tuples: tuples(&xs[i])})
	}
	return s.render(w, http.StatusOK, "exceptions.html", page{Title: "Exceptions", Nav: "exceptions", Sess: sess, Data: rows})
}

// exceptionRow is an exception with its value tuples written out.
type exceptionRow struct {
	cairn.Exception
	Tuples []string
}

// tuples writes each value tuple as the condition it stands for:
// proc.name = nc and k8s.ns.name = shop.
func tuples(x *cairn.Exception) []string {
	var out []string
	for _, vals := range x.Values {
		var parts []string
		for i, f := range x.Fields {
			if i < len(vals) && i < len(x.Comps) {
				parts = append(parts, f+" "+x.Comps[i]+" "+vals[i])
			}
		}
		out = append(out, strings.Join(parts, " and "))
	}
	return out
}

func (s *server) uiDeleteException(w http.ResponseWriter, r *http.Request, sess *session) error {
	audit := cairn.AuditEntry{Time: s.now().UTC(), Actor: sess.Tok.Name, Action: "exception.rm"}
	if _, err := s.cfg.Store.RemoveException(r.Context(), r.PathValue("id"), audit); err != nil {
		return err
	}
	http.Redirect(w, r, "/exceptions", http.StatusSeeOther)
	return nil
}

func (s *server) uiAudit(w http.ResponseWriter, r *http.Request, sess *session) error {
	es, err := s.cfg.Store.Audit(r.Context(), 500)
	if err != nil {
		return err
	}
	return s.render(w, http.StatusOK, "audit.html", page{Title: "Audit log", Nav: "audit", Sess: sess, Data: es})
}
