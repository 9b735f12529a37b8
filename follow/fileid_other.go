//go:build !unix

package follow

import "os"

// fileID returns zeros where the platform has no inodes: rotation is then
// detected only by the path's file shrinking.
func fileID(fi os.FileInfo) (dev, ino uint64) { return 0, 0 }
