package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/filter"
	"github.com/cairn-cdr/cairn/geo"
	"github.com/cairn-cdr/cairn/identity"
	"github.com/cairn-cdr/cairn/internal/when"
	"github.com/cairn-cdr/cairn/remediate"
)

// Cloud identity insights: the identities list and one identity's view,
// an analyst's verdict, its least-privilege policy and its remediation
// plans, for the API and the UI. An identity's id in a path is its key
// (an ARN) with its slashes escaped (%2F).

// identityTimeout bounds the work of one identity request.
const identityTimeout = 30 * time.Second

func (s *server) identities(ctx context.Context, flt string) ([]identity.View, error) {
	ctx, cancel := context.WithTimeout(ctx, identityTimeout)
	defer cancel()
	vs, err := identity.List(ctx, s.cfg.Store, s.cfg.Store, s.cfg.Posture, identity.Options{Filter: strings.TrimSpace(flt), Geo: s.cfg.GeoIP})
	if vs == nil {
		vs = []identity.View{}
	}
	return vs, err
}

// identityOf returns the view of one identity, ENOTFOUND when it made no
// stored call.
func (s *server) identityOf(ctx context.Context, key string) (identity.View, error) {
	ctx, cancel := context.WithTimeout(ctx, identityTimeout)
	defer cancel()
	return identity.One(ctx, s.cfg.Store, s.cfg.Store, s.cfg.Posture, identity.Options{Geo: s.cfg.GeoIP}, key)
}

func (s *server) listIdentities(w http.ResponseWriter, r *http.Request, _ Token) error {
	q := r.URL.Query()
	if err := checkIdentityFacets(q.Get("status"), q.Get("risk")); err != nil {
		return err
	}
	vs, err := s.identities(r.Context(), q.Get("filter"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"identities": narrow(vs, q.Get("status"), q.Get("risk"))})
}

// identityStates and riskLevels are the identities list's facets.
var (
	identityStates = []string{identity.StateCompromised, identity.StatePotentiallyCompromised, identity.StateCleared, "none"}
	riskLevels     = []string{identity.RiskCritical, identity.RiskHigh, identity.RiskMedium, identity.RiskLow}
)

func checkIdentityFacets(status, risk string) error {
	if status != "" && !slices.Contains(identityStates, status) {
		return cairn.Errorf(cairn.EINVALID, "status must be one of %s", strings.Join(identityStates, ", "))
	}
	if risk != "" && !slices.Contains(riskLevels, risk) {
		return cairn.Errorf(cairn.EINVALID, "risk must be one of %s", strings.Join(riskLevels, ", "))
	}
	return nil
}

// narrow keeps the identities of a status ("none": no status) and a
// risk level; "" keeps all.
func narrow(vs []identity.View, status, risk string) []identity.View {
	out := vs[:0:0]
	for _, v := range vs {
		st := v.Status.State
		if st == "" {
			st = "none"
		}
		if (status == "" || st == status) && (risk == "" || v.Risk.Level == risk) {
			out = append(out, v)
		}
	}
	return out
}

func (s *server) getIdentity(w http.ResponseWriter, r *http.Request, _ Token) error {
	v, err := s.identityOf(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

// statusRequest is the body of POST /identities/{id}/status.
type statusRequest struct {
	State string `json:"state"`
	Note  string `json:"note"`
	// Since is when the compromise began (RFC 3339 or a duration ago);
	// empty keeps cairn's estimate.
	Since string `json:"since"`
}

func (s *server) postIdentityStatus(w http.ResponseWriter, r *http.Request, tok Token) error {
	var req statusRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	st, err := s.flagIdentity(r.Context(), r.PathValue("id"), req, tok)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}

// flagIdentity records an analyst's verdict for the API and the UI.
func (s *server) flagIdentity(ctx context.Context, key string, req statusRequest, tok Token) (cairn.IdentityStatus, error) {
	if req.State != cairn.IdentityCompromised && req.State != cairn.IdentityCleared {
		return cairn.IdentityStatus{}, cairn.Errorf(cairn.EINVALID, "state must be %s or %s", cairn.IdentityCompromised, cairn.IdentityCleared)
	}
	v, err := s.identityOf(ctx, key)
	if err != nil {
		return cairn.IdentityStatus{}, err
	}
	now := s.now().UTC()
	st := cairn.IdentityStatus{Identity: v.Key, State: req.State, By: tok.Name, At: now, Note: strings.TrimSpace(req.Note)}
	if req.State == cairn.IdentityCompromised {
		st.Since, st.Evidence = v.Status.Since, v.Status.Evidence
		if req.Since != "" {
			t, err := when.Ago(req.Since, now)
			if err != nil {
				return cairn.IdentityStatus{}, cairn.Errorf(cairn.EINVALID, "since: %v", err)
			}
			st.Since = t
		}
	}
	if _, err := s.cfg.Store.SetIdentityStatus(ctx, st, cairn.AuditEntry{Time: now, Actor: tok.Name}); err != nil {
		return cairn.IdentityStatus{}, err
	}
	return st, nil
}

func (s *server) getIdentityPolicy(w http.ResponseWriter, r *http.Request, _ Token) error {
	since, until, err := s.timeRange(r)
	if err != nil {
		return err
	}
	v, err := s.identityOf(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	rec, err := identity.Recommend(r.Context(), s.cfg.Store, v, since, until)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rec)
}

// plansOf returns the identity's remediation plans.
func (s *server) plansOf(v identity.View, cidrs []string) ([]remediate.Plan, error) {
	keys, _ := remediate.UsableKeys(v.AccessKeys) // a malformed key from an event is left out
	t, err := remediate.TargetOf(v.Key, keys)
	if err != nil {
		return nil, err
	}
	if len(cidrs) > 0 {
		if _, err := remediate.CheckCIDRs(cidrs); err != nil {
			return nil, err
		}
	}
	return remediate.Plans(t, remediate.Options{Now: s.now().UTC(), CIDRs: cidrs}), nil
}

func (s *server) getIdentityRemediation(w http.ResponseWriter, r *http.Request, _ Token) error {
	v, err := s.identityOf(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	var cidrs []string
	if c := strings.TrimSpace(r.URL.Query().Get("cidr")); c != "" {
		cidrs = strings.Split(c, ",")
	}
	plans, err := s.plansOf(v, cidrs)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"plans": plans})
}

// identityPage is what the identity page shows.
type identityPage struct {
	V          identity.View
	Places     []place
	MapW, MapH float64
	Credit     string
	Policy     string
	PolicyNote string
	// Reduction says what the policy removes from the current
	// permissions, when posture data is loaded.
	Reduction []string
	Plans     []remediate.Plan
	PlansNote string
	// Calls are the identity's newest calls; Filter selects them all.
	Calls  []cairn.Event
	Filter string
}

// place is a source address with its location and its point on the
// page's world map (X, Y; Mapped false when it has no coordinates).
type place struct {
	identity.IPUse
	Loc    geo.Location
	Where  string
	X, Y   float64
	R      float64
	Mapped bool
}

// places locates the identity's source addresses.
func (s *server) places(v identity.View, w, h float64) []place {
	var out []place
	for _, u := range v.SourceIPs {
		p := place{IPUse: u, Loc: s.cfg.GeoIP.Lookup(u.IP)}
		switch p.Loc.Kind {
		case geo.KindPrivate:
			p.Where = "private address"
		case geo.KindAWSService:
			p.Where = "AWS service"
		case geo.KindInvalid:
			p.Where = "not an address"
		default:
			switch {
			case s.cfg.GeoIP == nil:
				p.Where = "unknown (no location database: cairn serve --geoip PATH)"
			case p.Loc.Country == "" && p.Loc.City == "" && p.Loc.ASN == 0:
				p.Where = "not in the location database"
			default:
				p.Where = p.Loc.String()
			}
		}
		if p.Loc.Lat != 0 || p.Loc.Lon != 0 {
			p.X, p.Y = geo.Project(p.Loc.Lat, p.Loc.Lon, w, h)
			p.R = 3 + min(float64(u.N), 50)/10
			p.Mapped = true
		}
		out = append(out, p)
	}
	return out
}

func (s *server) uiIdentities(w http.ResponseWriter, r *http.Request, sess *session) error {
	v := r.URL.Query()
	q := strings.TrimSpace(v.Get("q"))
	status, risk := v.Get("status"), v.Get("risk")
	if checkIdentityFacets(status, risk) != nil {
		status, risk = "", ""
	}
	d := struct {
		Q, Err, Status, Risk string
		Views                []identity.View
		States, Levels       []facet
	}{Q: q, Status: status, Risk: risk}
	vs, err := s.identities(r.Context(), q)
	switch {
	case cairn.ErrorCode(err) == cairn.EINVALID:
		d.Err = cairn.ErrorMessage(err)
	case err != nil:
		return err
	}
	link := func(st, rk string) string {
		u := url.Values{}
		for k, x := range map[string]string{"q": q, "status": st, "risk": rk} {
			if x != "" {
				u.Set(k, x)
			}
		}
		return "/identities?" + u.Encode()
	}
	for _, st := range identityStates {
		f := facet{Label: strings.ReplaceAll(st, "_", " "), Class: "st-" + st, N: len(narrow(vs, st, risk)), Active: st == status, URL: link(st, risk)}
		if f.Active {
			f.URL = link("", risk)
		}
		d.States = append(d.States, f)
	}
	for _, lv := range riskLevels {
		f := facet{Label: lv, Class: "sev-" + lv, N: len(narrow(vs, status, lv)), Active: lv == risk, URL: link(status, lv)}
		if f.Active {
			f.URL = link(status, "")
		}
		d.Levels = append(d.Levels, f)
	}
	d.Views = narrow(vs, status, risk)
	return s.render(w, http.StatusOK, "identities.html", page{Title: "Identities", Nav: "identities", Sess: sess, Data: d})
}

func (s *server) uiIdentity(w http.ResponseWriter, r *http.Request, sess *session) error {
	ctx := r.Context()
	v, err := s.identityOf(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	d := identityPage{V: v, MapW: 720, MapH: 360, Credit: s.cfg.GeoIPCredit, Filter: "cloud.identity = " + filter.Text(v.Key)}
	calls, err := s.cfg.Store.QueryEvents(ctx, cairn.EventQuery{Filter: d.Filter, Limit: 100})
	if err != nil {
		return err
	}
	d.Calls = calls.Events
	d.Places = s.places(v, d.MapW, d.MapH)
	if rec, err := identity.Recommend(ctx, s.cfg.Store, v, time.Time{}, time.Time{}); err != nil {
		d.PolicyNote = cairn.ErrorMessage(err)
	} else if doc, err := rec.JSON(); err == nil {
		d.Policy = string(doc)
		d.PolicyNote = fmt.Sprintf("From %d calls", rec.Events)
		if v.Status.State != identity.StateCleared && !v.Status.Since.IsZero() {
			d.PolicyNote += " before the compromise began (" + v.Status.Since.UTC().Format("2006-01-02 15:04:05") + " UTC), so the attacker's calls are not in it"
		}
		if len(rec.Unmapped) > 0 {
			d.PolicyNote += "; not mapped to IAM actions: " + strings.Join(rec.Unmapped, ", ")
		}
		if len(rec.Unverified) > 0 {
			d.PolicyNote += "; not in the known-action table (check them): " + strings.Join(rec.Unverified, ", ")
		}
		if red, ok := s.cfg.Posture.Reduce(v.Key, rec); ok {
			d.Reduction = append([]string{fmt.Sprintf("keeps %d of the %d actions it may do now", len(red.Kept), red.CurrentCount)}, red.Summary()...)
		}
	}
	if plans, err := s.plansOf(v, nil); err != nil {
		d.PlansNote = cairn.ErrorMessage(err)
	} else {
		d.Plans = plans
	}
	return s.render(w, http.StatusOK, "identity.html", page{Title: v.Key, Nav: "identities", Sess: sess, Data: d})
}

func (s *server) uiFlagIdentity(w http.ResponseWriter, r *http.Request, sess *session) error {
	key := r.PathValue("id")
	req := statusRequest{State: r.PostFormValue("state"), Note: r.PostFormValue("note"), Since: strings.TrimSpace(r.PostFormValue("since"))}
	if _, err := s.flagIdentity(r.Context(), key, req, sess.Tok); err != nil {
		return err
	}
	http.Redirect(w, r, "/identities/"+url.PathEscape(key), http.StatusSeeOther)
	return nil
}
