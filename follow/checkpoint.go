package follow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/atomicfile"
)

// Checkpoint records how far a followed path has been delivered: the file
// that was at Path when it was read (Dev and Inode), the offset just after
// the last complete line the caller's emit accepted, and the file's size
// when the checkpoint was taken. Offset is always at a line boundary, so a
// follower resuming there never starts in the middle of a record.
type Checkpoint struct {
	Path   string `json:"path"`
	Inode  uint64 `json:"inode"`
	Dev    uint64 `json:"dev"`
	Offset int64  `json:"offset"`
	Size   int64  `json:"size"`
}

// checkpointVersion is the version of the checkpoint file's layout.
const checkpointVersion = 1

// maxCheckpointFile caps the checkpoint file LoadCheckpoints reads: it
// holds one small entry per followed path, so anything larger is not
// ours.
const maxCheckpointFile = 16 << 20

type checkpointFile struct {
	Version     int          `json:"version"`
	Checkpoints []Checkpoint `json:"checkpoints"`
}

// LoadCheckpoints reads the checkpoint file at path, keyed by followed
// path. A missing file is an empty map, not an error: it is what a first
// start looks like. A file that is not a checkpoint file (bad JSON, an
// unknown version, negative offsets, an empty or repeated path) is
// EINVALID, so that a corrupt file stops the follower instead of silently
// re-reading or skipping everything.
func LoadCheckpoints(path string) (map[string]Checkpoint, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]Checkpoint{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open checkpoints: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCheckpointFile+1))
	if err != nil {
		return nil, fmt.Errorf("read checkpoints %s: %w", path, err)
	}
	if len(data) > maxCheckpointFile {
		return nil, cairn.Errorf(cairn.EINVALID, "checkpoint file %s is larger than %d bytes", path, maxCheckpointFile)
	}
	return parseCheckpoints(path, data)
}

func parseCheckpoints(path string, data []byte) (map[string]Checkpoint, error) {
	var cf checkpointFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cf); err != nil {
		return nil, cairn.Errorf(cairn.EINVALID, "checkpoint file %s: %v", path, err)
	}
	if dec.More() {
		return nil, cairn.Errorf(cairn.EINVALID, "checkpoint file %s: trailing data", path)
	}
	if cf.Version != checkpointVersion {
		return nil, cairn.Errorf(cairn.EINVALID, "checkpoint file %s: version %d, want %d", path, cf.Version, checkpointVersion)
	}
	m := make(map[string]Checkpoint, len(cf.Checkpoints))
	for i, c := range cf.Checkpoints {
		switch {
		case c.Path == "":
			return nil, cairn.Errorf(cairn.EINVALID, "checkpoint file %s: entry %d has no path", path, i)
		case c.Offset < 0 || c.Size < 0:
			return nil, cairn.Errorf(cairn.EINVALID, "checkpoint file %s: entry %d has a negative offset or size", path, i)
		}
		if _, dup := m[c.Path]; dup {
			return nil, cairn.Errorf(cairn.EINVALID, "checkpoint file %s: path %q appears twice", path, c.Path)
		}
		m[c.Path] = c
	}
	return m, nil
}

// SaveCheckpoints replaces the checkpoint file at path with m. It writes a
// temporary file in the same directory, syncs it, renames it over path
// and syncs the directory, so that after a crash the file holds either
// the old checkpoints or the new ones, never a torn mix. The map's keys
// are ignored: each entry's Path is its key.
func SaveCheckpoints(path string, m map[string]Checkpoint) error {
	cf := checkpointFile{Version: checkpointVersion, Checkpoints: make([]Checkpoint, 0, len(m))}
	for _, c := range m {
		cf.Checkpoints = append(cf.Checkpoints, c)
	}
	sort.Slice(cf.Checkpoints, func(i, j int) bool { return cf.Checkpoints[i].Path < cf.Checkpoints[j].Path })
	data, err := json.MarshalIndent(cf, "", "  ")
	if err != nil {
		return fmt.Errorf("encode checkpoints: %w", err)
	}
	data = append(data, '\n')

	if err := atomicfile.Write(path, data, 0o600); err != nil {
		return fmt.Errorf("save checkpoints: %w", err)
	}
	return nil
}
