// Package follow reads NDJSON export files (Tetragon's, Falco's) as they
// grow, the way `tail -F` does, and remembers in a checkpoint file how far
// each one has been delivered, so that a restarted cairn neither re-reads
// nor skips records.
//
// A Follower polls (no fsnotify: it works the same on every filesystem,
// including network mounts and container volumes) for growth, for
// rotation by rename (a new file at the path: the old one is read to its
// end first, then the new one from its start) and for truncation in place
// (copytruncate: the file shrank below what was read, so it is read again
// from its start).
//
// Delivery is at least once: the checkpoint is saved after the caller's
// emit has returned for a batch of lines (and Options.Commit, when emit
// only queues, has confirmed they are stored), so a crash between an emit and
// the next save re-emits that batch on restart. cairn's event ids derive
// from the record, so the store keeps such a line once. A clean stop
// (ctx cancelled) saves the checkpoint of exactly what was emitted.
//
// Known limits, all inherent in following files by polling:
//   - copytruncate loses what the writer wrote between the copy and the
//     truncation, and a file that is truncated and then grows past the
//     checkpoint before the next poll (or while cairn is stopped) is taken
//     for a grown file: the start of its new content is skipped;
//   - after a restart, a file rotated away while cairn was stopped is
//     found only if it is still in the same directory under any name;
//   - a glob must not match the rotated names (app.log.1), or the rotated
//     file is read a second time as a new file.
package follow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/cairn-cdr/cairn"
)

// DefaultPoll is how often a Follower looks at its files when Options
// gives no Poll: well inside the second in which a record should become a
// visible detection, rare enough to cost nothing on an idle host.
const DefaultPoll = 250 * time.Millisecond

// DefaultMaxLine is the longest line a Follower emits when Options gives
// no MaxLine. A Tetragon or Falco record is a few KiB; a line longer than
// this is not a record, and buffering it whole would let one writer
// exhaust memory.
const DefaultMaxLine = 1 << 20

// maxReadPerPoll caps what one file contributes to a batch, so that a
// long backlog is checkpointed as it is worked through rather than only
// at its end.
const maxReadPerPoll = 4 << 20

// The reasons passed to Options.Reject. Check them with errors.Is.
var (
	// ErrLineTooLong marks a line longer than MaxLine: Reject gets its
	// first MaxLine bytes and the rest up to the newline is skipped.
	ErrLineTooLong = errors.New("line too long")
	// ErrIncomplete marks the bytes after the last newline of a file that
	// was rotated away: its writer has moved on, so the line will never
	// be completed.
	ErrIncomplete = errors.New("incomplete last line of a rotated file")
)

// Options configures a Follower.
type Options struct {
	// Paths are the files to follow; each may be a glob (filepath.Match
	// syntax), expanded again at every poll so that files appearing later
	// are followed too.
	Paths []string
	// Checkpoints is the checkpoint file; "" keeps no checkpoints (every
	// start reads every file from its beginning).
	Checkpoints string
	// Poll is how often the files are looked at; 0 means DefaultPoll.
	Poll time.Duration
	// MaxLine is the longest line emitted; 0 means DefaultMaxLine.
	MaxLine int
	// Reject, if set, receives the lines that cannot be emitted
	// (ErrLineTooLong, ErrIncomplete) with the byte offset at which they
	// start, so that the caller can dead-letter them; an error from it
	// stops Run like one from emit. Nil logs and drops them.
	Reject func(origin string, offset int64, line []byte, reason error) error
	// Commit, if set, is called before each checkpoint save and must
	// return once everything emit was given so far is durably stored. A
	// caller whose emit only queues (ingest.Live.Add) needs it: without
	// it, a crash after a save and before the queue is written loses the
	// queued lines. An error from it stops Run without saving.
	Commit func(ctx context.Context) error
	// Logger receives rotations, truncations and unreadable files; nil
	// discards.
	Logger *slog.Logger
}

// Follower follows files and emits their complete lines. It is used by
// one Run at a time.
type Follower struct {
	opts Options
	log  *slog.Logger
}

// New returns a Follower for opts.
func New(opts Options) *Follower {
	if opts.Poll <= 0 {
		opts.Poll = DefaultPoll
	}
	if opts.MaxLine <= 0 {
		opts.MaxLine = DefaultMaxLine
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Follower{opts: opts, log: log}
}

// Run follows the files until ctx ends or emit fails, calling emit with
// the origin (the followed path) and each complete line without its
// newline; empty lines are skipped. line is valid only during the call.
// Lines of one path are emitted in file order, an old file's before its
// replacement's. A partial last line waits for its newline.
//
// Run returns ctx's error when ctx ends, after saving the checkpoint of
// every line emitted; the error from emit or Reject, after saving the
// checkpoint of the lines before it; EINVALID for a corrupt checkpoint
// file or a bad glob; or the error saving checkpoints.
func (f *Follower) Run(ctx context.Context, emit func(origin string, line []byte) error) error {
	for _, p := range f.opts.Paths {
		if _, err := filepath.Match(p, ""); err != nil {
			return cairn.Errorf(cairn.EINVALID, "bad path pattern %q: %v", p, err)
		}
	}
	saved := map[string]Checkpoint{}
	if f.opts.Checkpoints != "" {
		var err error
		if saved, err = LoadCheckpoints(f.opts.Checkpoints); err != nil {
			return err
		}
	}
	r := &run{f: f, ctx: ctx, emit: emit, saved: saved, tails: map[string]*tail{}, buf: make([]byte, 64<<10)}
	defer r.closeAll()

	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return r.finish(ctx.Err())
		case <-timer.C:
		}
		more, err := r.poll(ctx)
		if err != nil {
			return r.finish(err)
		}
		if err := r.save(); err != nil {
			return err
		}
		if more {
			timer.Reset(0)
		} else {
			timer.Reset(f.opts.Poll)
		}
	}
}

// run is the state of one Run.
type run struct {
	f     *Follower
	ctx   context.Context
	emit  func(string, []byte) error
	saved map[string]Checkpoint
	tails map[string]*tail
	buf   []byte
	dirty bool
}

// tail follows one path.
type tail struct {
	path string
	file *os.File
	dev  uint64
	ino  uint64
	// start is where the line being assembled starts: everything before
	// it has been emitted. It is the checkpoint's offset.
	start int64
	// read is how far the file has been read; line holds the bytes
	// between start and read unless skipping.
	read int64
	line []byte
	// skipping is set while the rest of a too-long line is discarded.
	skipping bool
	size     int64
	// gone counts the quiet polls since the path stopped existing.
	gone int
}

// finish saves what was emitted and returns err (or the save's error if
// err is nil).
func (r *run) finish(err error) error {
	if serr := r.save(); serr != nil && err == nil {
		return serr
	}
	return err
}

func (r *run) closeAll() {
	for _, t := range r.tails {
		if t.file != nil {
			t.file.Close()
		}
	}
}

// save writes the checkpoints when something changed since the last save.
func (r *run) save() error {
	if !r.dirty || r.f.opts.Checkpoints == "" {
		return nil
	}
	if r.f.opts.Commit != nil {
		// On a stop ctx has already ended; the commit still has to
		// happen for the save to be true, so it gets a context of its
		// own.
		if err := r.f.opts.Commit(context.WithoutCancel(r.ctx)); err != nil {
			return err
		}
	}
	m := make(map[string]Checkpoint, len(r.saved)+len(r.tails))
	for p, c := range r.saved {
		// Entries of paths not seen this run are kept while the path
		// exists (a glob may match it again); gone files are dropped so
		// that the file does not grow with every dated log.
		if _, err := os.Lstat(p); err == nil {
			m[p] = c
		}
	}
	for p, t := range r.tails {
		if t.file != nil {
			m[p] = Checkpoint{Path: p, Dev: t.dev, Inode: t.ino, Offset: t.start, Size: t.size}
		}
	}
	if err := SaveCheckpoints(r.f.opts.Checkpoints, m); err != nil {
		return err
	}
	r.dirty = false
	return nil
}

// poll expands the paths and reads what each file gained. more reports
// that some file had more to read than one batch takes.
func (r *run) poll(ctx context.Context) (more bool, err error) {
	paths := map[string]bool{}
	for _, p := range r.f.opts.Paths {
		ms, err := filepath.Glob(p)
		if err != nil {
			return false, cairn.Errorf(cairn.EINVALID, "bad path pattern %q: %v", p, err)
		}
		for _, m := range ms {
			paths[m] = true
		}
	}
	// Paths that stopped matching (removed or renamed away) are still
	// read to the end of their open file: what was written before the
	// rename belongs to them.
	for p := range r.tails {
		paths[p] = true
	}
	sorted := make([]string, 0, len(paths))
	for p := range paths {
		sorted = append(sorted, p)
	}
	sort.Strings(sorted)
	for _, p := range sorted {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		t := r.tails[p]
		if t == nil {
			t = &tail{path: p}
			r.tails[p] = t
		}
		m, err := r.step(ctx, t)
		if err != nil {
			return false, err
		}
		more = more || m
	}
	return more, nil
}

// goneAfter is how many polls a file renamed away without a replacement
// is still read before it is closed: its writer may not have reopened yet.
const goneAfter = 4

// step brings one path up to date: it opens the file, notices rotation
// and truncation, and reads what was appended.
func (r *run) step(ctx context.Context, t *tail) (bool, error) {
	if t.file == nil {
		return r.open(ctx, t)
	}
	fi, err := os.Stat(t.path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			r.f.log.Warn("stat followed file", "path", t.path, "err", err)
		}
		// Renamed away and not yet replaced: keep reading the open file
		// until it has been quiet for a while.
		before := t.read
		more, err := r.read(ctx, t)
		if err != nil || more || t.read != before {
			t.gone = 0
			return more, err
		}
		if t.gone++; t.gone < goneAfter {
			return false, nil
		}
		if err := r.finishRotated(t); err != nil {
			return false, err
		}
		t.file.Close()
		delete(r.tails, t.path)
		r.dirty = true
		return false, nil
	}
	if dev, ino := fileID(fi); dev != t.dev || ino != t.ino {
		// Rotated. The old file is read to its end first; while it still
		// grows its writer has not reopened yet, so the switch waits for a
		// poll in which it did not.
		before := t.read
		if err := r.drain(ctx, t); err != nil {
			return false, err
		}
		if t.read != before {
			return false, nil
		}
		r.f.log.Info("followed file rotated", "path", t.path)
		if err := r.finishRotated(t); err != nil {
			return false, err
		}
		t.file.Close()
		*t = tail{path: t.path}
		r.dirty = true
		return r.open(ctx, t)
	}
	return r.read(ctx, t)
}

// open opens the file at t's path and positions it: at the checkpoint
// when the checkpoint is of this file and the file is not shorter; at 0
// when it is shorter (truncated while cairn was stopped) or a new file.
// When the checkpoint is of another file, the file rotated while cairn
// was stopped: if it is still in the directory, the rest of it is read
// first.
func (r *run) open(ctx context.Context, t *tail) (bool, error) {
	cp, ok := r.saved[t.path]
	if fi, err := os.Stat(t.path); ok && err == nil {
		if dev, ino := fileID(fi); dev != cp.Dev || ino != cp.Inode {
			next, err := r.resumeRotated(ctx, t.path, cp)
			if err != nil {
				// The checkpoint keeps how far the old file's rest was
				// read, for the next start.
				r.saved[t.path] = next
				return false, err
			}
			delete(r.saved, t.path)
			ok = false
		}
	}
	file, err := os.Open(t.path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		r.f.log.Warn("open followed file", "path", t.path, "err", err)
		return false, nil
	}
	fi, err := file.Stat()
	if err != nil {
		file.Close()
		r.f.log.Warn("stat followed file", "path", t.path, "err", err)
		return false, nil
	}
	t.file = file
	t.dev, t.ino = fileID(fi)
	t.size = fi.Size()
	r.dirty = true
	delete(r.saved, t.path)
	switch {
	case !ok:
	case cp.Dev == t.dev && cp.Inode == t.ino && fi.Size() >= cp.Offset:
		t.start, t.read = cp.Offset, cp.Offset
	case cp.Dev == t.dev && cp.Inode == t.ino:
		r.f.log.Info("followed file truncated while stopped", "path", t.path, "offset", cp.Offset, "size", fi.Size())
	default:
		// Replaced again between the two looks: read the new file whole.
		r.f.log.Warn("followed file rotated while opening; its predecessor's unread lines may be lost", "path", t.path)
	}
	return r.read(ctx, t)
}

// resumeRotated reads the rest of the file cp was taken of, if it is
// still in cp's directory under another name. It returns the checkpoint
// of how far that got, which a failure leaves in place.
func (r *run) resumeRotated(ctx context.Context, path string, cp Checkpoint) (Checkpoint, error) {
	dir := filepath.Dir(path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		r.f.log.Warn("look for rotated file", "path", path, "err", err)
		return cp, nil
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		if dev, ino := fileID(fi); dev != cp.Dev || ino != cp.Inode || fi.Size() < cp.Offset {
			continue
		}
		name := filepath.Join(dir, e.Name())
		file, err := os.Open(name)
		if err != nil {
			r.f.log.Warn("open rotated file", "path", name, "err", err)
			return cp, nil
		}
		r.f.log.Info("reading the rest of a file rotated while stopped", "path", path, "rotated", name, "offset", cp.Offset)
		old := &tail{path: path, file: file, dev: cp.Dev, ino: cp.Inode, start: cp.Offset, read: cp.Offset}
		err = r.drain(ctx, old)
		if err == nil {
			err = r.finishRotated(old)
		}
		file.Close()
		cp.Offset = old.start
		return cp, err
	}
	r.f.log.Warn("file rotated while stopped was not found; its unread lines are lost", "path", path, "offset", cp.Offset)
	return cp, nil
}

// drain reads a file that was rotated away to its current end.
func (r *run) drain(ctx context.Context, t *tail) error {
	for {
		more, err := r.read(ctx, t)
		if err != nil || !more {
			return err
		}
	}
}

// finishRotated hands a rotated file's partial last line to Reject: its
// writer has moved on, so nothing will complete it.
func (r *run) finishRotated(t *tail) error {
	if len(t.line) > 0 && !t.skipping {
		if err := r.reject(t, t.start, t.line, ErrIncomplete); err != nil {
			return err
		}
		t.start, t.line = t.read, t.line[:0]
	}
	return nil
}

// read reads what t's file gained since the last read, up to one batch,
// and emits its complete lines. It reports whether there is more.
func (r *run) read(ctx context.Context, t *tail) (bool, error) {
	fi, err := t.file.Stat()
	if err != nil {
		return false, fmt.Errorf("stat %s: %w", t.path, err)
	}
	if fi.Size() < t.read {
		r.f.log.Info("followed file truncated", "path", t.path, "offset", t.read, "size", fi.Size())
		t.start, t.read, t.line, t.skipping = 0, 0, t.line[:0], false
		r.dirty = true
	}
	if t.size != fi.Size() {
		t.size = fi.Size()
		r.dirty = true
	}
	for total := 0; total < maxReadPerPoll; {
		n, err := t.file.ReadAt(r.buf, t.read)
		if n > 0 {
			total += n
			if err := r.lines(ctx, t, r.buf[:n]); err != nil {
				return false, err
			}
		}
		if errors.Is(err, io.EOF) || n == 0 {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("read %s: %w", t.path, err)
		}
	}
	return true, nil
}

// lines emits the complete lines of data, which was read at t.read.
func (r *run) lines(ctx context.Context, t *tail, data []byte) error {
	max := r.f.opts.MaxLine
	for len(data) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			if !t.skipping {
				t.line = append(t.line, data...)
				if len(t.line) > max {
					if err := r.reject(t, t.start, t.line[:max], ErrLineTooLong); err != nil {
						t.line = t.line[:len(t.line)-len(data)]
						return err
					}
					t.line, t.skipping = t.line[:0], true
				}
			}
			t.read += int64(len(data))
			return nil
		}
		end := t.read + int64(i) + 1
		if !t.skipping {
			line := append(t.line, data[:i]...)
			var err error
			switch {
			case len(line) > max:
				err = r.reject(t, t.start, line[:max], ErrLineTooLong)
			case len(bytes.TrimSpace(line)) > 0:
				err = r.emit(t.path, line)
			}
			if err != nil {
				t.line = line[:len(t.line)]
				return err
			}
		}
		t.line, t.skipping = t.line[:0], false
		t.start, t.read = end, end
		r.dirty = true
		data = data[i+1:]
	}
	return nil
}

func (r *run) reject(t *tail, offset int64, line []byte, reason error) error {
	if r.f.opts.Reject != nil {
		return r.f.opts.Reject(t.path, offset, line, reason)
	}
	r.f.log.Warn("followed line dropped", "path", t.path, "offset", offset, "reason", reason)
	return nil
}
