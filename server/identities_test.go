package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/server"
)

// alice is the seed's IAM user: she stopped the trail (critical).
const alice = "arn:aws:iam::111122223333:user/alice"

func TestIdentitiesAPI(t *testing.T) {
	e := newEnv(t, nil)
	var list struct {
		Identities []struct {
			Key    string `json:"key"`
			Status struct {
				State string `json:"state"`
				By    string `json:"by"`
			} `json:"status"`
			Risk struct {
				Level string `json:"level"`
			} `json:"risk"`
		} `json:"identities"`
	}
	e.getJSON(t, "/api/v1/identities", server.RoleViewer, &list)
	if len(list.Identities) != 1 || list.Identities[0].Key != alice || list.Identities[0].Status.State != "potentially_compromised" {
		t.Fatalf("identities: %+v", list.Identities)
	}
	var none struct {
		Identities []any `json:"identities"`
	}
	e.getJSON(t, "/api/v1/identities?status=cleared", server.RoleViewer, &none)
	if len(none.Identities) != 0 {
		t.Errorf("status=cleared: %d identities", len(none.Identities))
	}
	e.getJSON(t, "/api/v1/identities?status=potentially_compromised&risk="+list.Identities[0].Risk.Level, server.RoleViewer, &none)
	if len(none.Identities) != 1 {
		t.Errorf("status=potentially_compromised: %d identities", len(none.Identities))
	}
	wantError(t, "bad status", e.do(t, "GET", "/api/v1/identities?status=evil", server.RoleViewer, nil), http.StatusBadRequest, cairn.EINVALID)
	path := "/api/v1/identities/" + url.PathEscape(alice)
	var one struct {
		Key       string   `json:"key"`
		Events    int      `json:"events"`
		SourceIPs []any    `json:"source_ips"`
		Access    []string `json:"access_keys"`
	}
	e.getJSON(t, path, server.RoleViewer, &one)
	if one.Key != alice || one.Events != 2 || len(one.Access) != 1 {
		t.Errorf("identity: %+v", one)
	}
	wantError(t, "unknown", e.do(t, "GET", "/api/v1/identities/"+url.PathEscape("arn:aws:iam::1:user/nobody"), server.RoleViewer, nil), http.StatusNotFound, cairn.ENOTFOUND)
	wantError(t, "no token", e.do(t, "GET", "/api/v1/identities", "", nil), http.StatusUnauthorized, "unauthorized")

	// A viewer cannot flag; an analyst can, and it is audited.
	body := map[string]string{"state": "compromised", "note": "keys used from a VPS"}
	wantError(t, "viewer flags", e.postJSON(t, path+"/status", server.RoleViewer, body), http.StatusForbidden, "forbidden")
	wantError(t, "bad state", e.postJSON(t, path+"/status", server.RoleAnalyst, map[string]string{"state": "potentially_compromised"}), http.StatusBadRequest, cairn.EINVALID)
	if r := e.postJSON(t, path+"/status", server.RoleAnalyst, body); r.status != http.StatusOK {
		t.Fatalf("flag: %d %s", r.status, r.body)
	}
	e.getJSON(t, "/api/v1/identities", server.RoleViewer, &list)
	if list.Identities[0].Status.State != "compromised" || list.Identities[0].Status.By != tokenName(server.RoleAnalyst) {
		t.Errorf("after the flag: %+v", list.Identities[0])
	}
	if len(e.auditOf(t, "identity.status")) != 1 {
		t.Error("the flag is not audited")
	}

	// The policy of her calls before the compromise: none here (her only
	// calls are the attack), and no StopLogging in it.
	var rec struct {
		Policy struct {
			Version   string `json:"Version"`
			Statement []struct {
				Action []string `json:"Action"`
			} `json:"Statement"`
		} `json:"policy"`
		Events int `json:"events"`
	}
	e.getJSON(t, path+"/policy", server.RoleViewer, &rec)
	for _, s := range rec.Policy.Statement {
		for _, a := range s.Action {
			if a == "cloudtrail:StopLogging" {
				t.Errorf("the policy grants StopLogging: %+v", rec)
			}
		}
	}
	var plans struct {
		Plans []struct {
			Strategy string `json:"strategy"`
			Applies  bool   `json:"applies"`
		} `json:"plans"`
	}
	e.getJSON(t, path+"/remediation?cidr=10.0.0.0/8", server.RoleViewer, &plans)
	if len(plans.Plans) != 6 || !plans.Plans[0].Applies {
		t.Errorf("plans: %+v", plans)
	}
	wantError(t, "bad cidr", e.do(t, "GET", path+"/remediation?cidr=nonsense", server.RoleViewer, nil), http.StatusBadRequest, cairn.EINVALID)
}

func TestIdentitiesUI(t *testing.T) {
	e := newEnv(t, nil)
	b := e.login(t, server.RoleAnalyst)
	list := wantPage(t, "identities", b.get(t, "/identities"))
	if !strings.Contains(list, "potentially_compromised") || !strings.Contains(list, url.PathEscape(alice)) {
		t.Errorf("identities page:\n%.1500s", list)
	}
	page := b.get(t, "/identities/"+url.PathEscape(alice))
	body := wantPage(t, "identity", page)
	wantUIHeaders(t, "identity", page)
	for _, want := range []string{`id="policy"`, `id="remediation"`, "aws iam", "Trail stopped", `id="timeline"`, "StopLogging", "/graph?q="} {
		if !strings.Contains(body, want) {
			t.Errorf("identity page lacks %q", want)
		}
	}
	csrf := csrfOf(t, page)
	if r := b.post(t, "/identities/"+url.PathEscape(alice)+"/status", url.Values{"state": {"compromised"}}); r.status != http.StatusForbidden {
		t.Errorf("flag without csrf: %d", r.status)
	}
	r := b.post(t, "/identities/"+url.PathEscape(alice)+"/status", url.Values{"csrf": {csrf}, "state": {"compromised"}, "note": {"<b>confirmed</b>"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("flag: %d %s", r.status, r.body)
	}
	body = wantPage(t, "identity after the flag", b.get(t, r.header.Get("Location")))
	if !strings.Contains(body, `id="state">compromised`) || !strings.Contains(body, "&lt;b&gt;confirmed") {
		t.Errorf("after the flag the page does not say compromised (escaped note)")
	}
	var st []cairn.IdentityStatus
	if st, _ = e.st.IdentityStatuses(t.Context()); len(st) != 1 || st[0].By != tokenName(server.RoleAnalyst) {
		raw, _ := json.Marshal(st)
		t.Errorf("stored verdicts: %s", raw)
	}
}
