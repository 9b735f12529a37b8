package storeutil

import (
	"reflect"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
)

func TestMergeNode(t *testing.T) {
	t1 := time.Unix(100, 0).UTC()
	t2 := time.Unix(200, 0).UTC()
	full := cairn.ProcessNode{Key: "k", Host: "h", Process: cairn.Process{PID: 7, Binary: "/bin/sh"}, LastSeen: t1}
	for _, tt := range []struct {
		name string
		a, b cairn.ProcessNode
		want cairn.ProcessNode
	}{
		{
			name: "placeholder filled by full",
			a:    cairn.ProcessNode{Key: "k", ParentKey: "p", Flags: cairn.FlagUnknown, LastSeen: t2},
			b:    full,
			want: cairn.ProcessNode{Key: "k", ParentKey: "p", Host: "h", Process: cairn.Process{PID: 7, Binary: "/bin/sh"}, LastSeen: t2},
		},
		{
			name: "partial then full loses FlagPartial, keeps full values",
			a:    cairn.ProcessNode{Key: "k", Process: cairn.Process{PID: 7, Name: "sh"}, Flags: cairn.FlagPartial},
			b:    full,
			want: cairn.ProcessNode{Key: "k", Host: "h", Process: cairn.Process{PID: 7, Binary: "/bin/sh", Name: "sh"}, LastSeen: t1},
		},
		{
			name: "conflicting pid keeps first and flags it",
			a:    full,
			b:    cairn.ProcessNode{Key: "k", Process: cairn.Process{PID: 8, Binary: "/bin/sh"}, ExitTime: t2},
			want: cairn.ProcessNode{Key: "k", Host: "h", Process: cairn.Process{PID: 7, Binary: "/bin/sh"}, Flags: cairn.FlagConflict, LastSeen: t1, ExitTime: t2},
		},
		{
			name: "conflict with placeholder replaces it",
			a:    cairn.ProcessNode{Key: "k", Process: cairn.Process{PID: 9}, Flags: cairn.FlagUnknown},
			b:    full,
			want: cairn.ProcessNode{Key: "k", Host: "h", Process: cairn.Process{PID: 7, Binary: "/bin/sh"}, Flags: cairn.FlagConflict, LastSeen: t1},
		},
		{
			name: "equals keep the first and fill from the second",
			a:    cairn.ProcessNode{Key: "k", Process: cairn.Process{PID: 7, Args: "-c x"}, Container: &cairn.Container{ID: "c1"}},
			b:    cairn.ProcessNode{Key: "k", EventID: "e", Process: cairn.Process{Args: "-c y", Cwd: "/"}, Container: &cairn.Container{ID: "c2", Name: "n"}},
			want: cairn.ProcessNode{Key: "k", EventID: "e", Process: cairn.Process{PID: 7, Args: "-c x", Cwd: "/"}, Container: &cairn.Container{ID: "c1", Name: "n"}},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := MergeNode(tt.a, tt.b); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("MergeNode =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

func TestMergeNodeCopiesShared(t *testing.T) {
	c := &cairn.Container{ID: "c1"}
	a := cairn.ProcessNode{Key: "k", Container: c}
	b := cairn.ProcessNode{Key: "k", Container: &cairn.Container{ID: "c1", Name: "n"}}
	got := MergeNode(a, b)
	if got.Container.Name != "n" || c.Name != "" {
		t.Errorf("merged container %+v, caller's %+v: want the merge filled and the caller's untouched", got.Container, c)
	}
}

func TestBatchKeysAndMergeBatch(t *testing.T) {
	nodes := []cairn.ProcessNode{
		{Key: "b\xff", Process: cairn.Process{PID: 1}},
		{Key: "a", Host: "h\xff"},
		{Key: "b\xff", Process: cairn.Process{Binary: "/x"}},
	}
	keys, index, err := BatchKeys(nodes)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"b\uFFFD", "a"}; !reflect.DeepEqual(keys, want) {
		t.Fatalf("keys %q, want %q", keys, want)
	}
	stored := map[string]cairn.ProcessNode{"a": {Key: "a", ParentKey: "p"}}
	merged := MergeBatch(keys, index, func(k string) (cairn.ProcessNode, bool) {
		n, ok := stored[k]
		return n, ok
	}, nodes)
	want := []cairn.ProcessNode{
		{Key: "b\uFFFD", Process: cairn.Process{PID: 1, Binary: "/x"}},
		{Key: "a", ParentKey: "p", Host: "h\uFFFD"},
	}
	if !reflect.DeepEqual(merged, want) {
		t.Errorf("MergeBatch = %+v, want %+v", merged, want)
	}

	_, _, err = BatchKeys([]cairn.ProcessNode{{Key: "a"}, {}})
	if cairn.ErrorCode(err) != cairn.EINVALID {
		t.Errorf("BatchKeys with an empty key: %v, want EINVALID", err)
	}
}
