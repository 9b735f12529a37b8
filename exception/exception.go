// Package exception makes exceptions from detections and replays a rule's
// past detections through one (the backtest), for the CLI and the API
// alike.
package exception

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/falco"
	"github.com/cairn-cdr/cairn/field"
)

// Default fields of an exception made from a detection: who did it, from
// where. A field the detection's event lacks is left out.
var (
	RuntimeFields = []string{"proc.name", "proc.pname", "container.image.repository"}
	CloudFields   = []string{"cloud.identity", "ct.name"}
)

// FromEvent builds an exception of the detection's rule whose single
// value tuple is the event's values of fields (the defaults for the
// event's source when none are given). The caller sets the id, name,
// author and times.
func FromEvent(d cairn.Detection, ev *cairn.Event, fields []string) (cairn.Exception, error) {
	x := cairn.Exception{Rule: d.Rule, Detection: d.ID}
	explicit := len(fields) > 0
	if !explicit {
		fields = RuntimeFields
		if ev.Cloud != nil {
			fields = CloudFields
		}
	}
	var tuple []string
	for _, name := range fields {
		ref, err := field.Lookup(name)
		if err != nil {
			return x, err
		}
		v, ok := ref.Get(ev)
		var s string
		if ok {
			s, ok = text(v)
		}
		switch {
		case !ok && explicit:
			return x, cairn.Errorf(cairn.EINVALID, "field %s has no single value on the detection's event; choose other fields", name)
		case !ok:
			continue
		}
		x.Fields = append(x.Fields, ref.Name())
		x.Comps = append(x.Comps, "=")
		tuple = append(tuple, s)
	}
	if len(tuple) == 0 {
		return x, cairn.Errorf(cairn.EINVALID, "the detection's event has none of the fields %s; choose fields", strings.Join(fields, ","))
	}
	x.Values = [][]string{tuple}
	return x, nil
}

// text renders a field value as an exception value; lists and times are
// not single values.
func text(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case int64:
		return strconv.FormatInt(x, 10), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// NewID returns a random exception id.
func NewID() string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return "x-" + hex.EncodeToString(b[:])
}

// Backtest says what an exception would have done to the past.
type Backtest struct {
	Detections       int `json:"detections"`
	Suppressed       int `json:"suppressed"`
	Groups           int `json:"groups"`
	GroupsSuppressed int `json:"groups_suppressed"`
	// Unreadable counts detections whose event is no longer stored.
	Unreadable int `json:"unreadable"`
}

// Store is what a backtest reads.
type Store interface {
	cairn.HitReader
	cairn.EventReader
}

// Replay replays every past detection of the exception's rule through
// it: a detection counts as suppressed when the exception matches its
// first event, as it would have when the rule was evaluated.
func Replay(ctx context.Context, st Store, x *cairn.Exception) (Backtest, error) {
	var r Backtest
	match, err := falco.CompileException(x)
	if err != nil {
		return r, err
	}
	hits, err := st.RuleHits(ctx, x.Rule)
	if err != nil {
		return r, err
	}
	groups, suppressedGroups := map[string]bool{}, map[string]bool{}
	for _, h := range hits {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		r.Detections++
		groups[h.GroupID] = true
		if len(h.EventIDs) == 0 {
			r.Unreadable++
			continue
		}
		ev, err := st.GetEvent(ctx, h.EventIDs[0])
		if cairn.ErrorCode(err) == cairn.ENOTFOUND {
			r.Unreadable++
			continue
		} else if err != nil {
			return r, err
		}
		if match(&ev) {
			r.Suppressed++
			suppressedGroups[h.GroupID] = true
		}
	}
	r.Groups, r.GroupsSuppressed = len(groups), len(suppressedGroups)
	return r, nil
}
