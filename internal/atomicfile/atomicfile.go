// Package atomicfile writes a file so that a crash leaves either the old
// content or the new, never a mix: checkpoints of the followed files, the
// watched directories and S3 are written with it.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write replaces path's content with data: a temporary file in the same
// directory, synced, renamed over path, then the directory synced so the
// rename itself is durable (some filesystems refuse to sync a directory;
// the file is already safe then, so that is not an error).
func Write(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
