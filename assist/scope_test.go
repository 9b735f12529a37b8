package assist_test

import (
	"context"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn/assist"
	"github.com/cairn-cdr/cairn/internal/demostore"
)

// demoNow anchors the demo scenarios of the tests.
var demoNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func TestLoadScope(t *testing.T) {
	fx := demostore.Open(t, 1, demoNow)
	ctx := context.Background()
	all, err := assist.Load(ctx, fx.Store, assist.NewScope())
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Detections) == 0 {
		t.Fatal("no detections in the demo")
	}
	for i := 1; i < len(all.Detections); i++ {
		if all.Detections[i].Time.Before(all.Detections[i-1].Time) {
			t.Fatalf("detections not oldest first at %d", i)
		}
	}
	var ns string
	for _, st := range fx.Scenario.Truth.Stories {
		if st.ID == "log4shell" {
			ns = st.Workloads[0].Namespace
		}
	}
	sc := assist.NewScope(assist.Entity{Kind: assist.KindNamespace, Value: ns})
	if got, want := sc.Filter(), "k8s.ns.name = "+ns; got != want {
		t.Errorf("Filter() = %q, want %q", got, want)
	}
	c, err := assist.Load(ctx, fx.Store, sc)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Detections) == 0 || len(c.Detections) >= len(all.Detections) {
		t.Errorf("namespace %s: %d of %d detections", ns, len(c.Detections), len(all.Detections))
	}
	for i := range c.Detections {
		d := &c.Detections[i]
		if d.Entities.Namespace != ns {
			t.Errorf("detection %s in namespace %q, want %q", d.ID, d.Entities.Namespace, ns)
		}
		if c.Event(d) == nil {
			t.Errorf("detection %s: no event", d.ID)
		}
	}
	two := assist.NewScope(assist.Entity{Kind: assist.KindNamespace, Value: "a b"}, assist.Entity{Kind: assist.KindNamespace, Value: `q"x`},
		assist.Entity{Kind: assist.KindIdentity, Value: "arn:aws:iam::1:user/x"})
	if got, want := two.Filter(), `(k8s.ns.name = "a b" or k8s.ns.name = "q\"x") and cloud.identity = arn:aws:iam::1:user/x`; got != want {
		t.Errorf("Filter() = %q, want %q", got, want)
	}
}
