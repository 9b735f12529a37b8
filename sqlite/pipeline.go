package sqlite

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/cairn-cdr/cairn"
)

// chunkSize is the number of events encoded as one unit of work.
const chunkSize = 128

// pipeline encodes the chunks of a batch on worker goroutines, so that
// the writer inserts chunk i while later chunks are being encoded.
type pipeline struct {
	chunks int
	done   []chan struct{}
	encs   []*encoder
	rows   [][][]any
	errs   []error
	stop   atomic.Bool
	wg     sync.WaitGroup
}

// encodeAsync starts encoding events. The caller must call wait.
func (s *Store) encodeAsync(events []cairn.Event) *pipeline {
	n := (len(events) + chunkSize - 1) / chunkSize
	p := &pipeline{
		chunks: n,
		done:   make([]chan struct{}, n),
		encs:   make([]*encoder, n),
		rows:   make([][][]any, n),
		errs:   make([]error, n),
	}
	for i := range p.done {
		p.done[i] = make(chan struct{})
	}
	var next atomic.Int64
	work := func() {
		defer p.wg.Done()
		for {
			c := int(next.Add(1) - 1)
			if c >= n {
				return
			}
			if !p.stop.Load() {
				end := min((c+1)*chunkSize, len(events))
				p.encs[c] = getEncoder()
				p.rows[c], p.errs[c] = p.encs[c].encode(events[c*chunkSize:end], s.cols)
			}
			close(p.done[c])
		}
	}
	workers := min(n, runtime.GOMAXPROCS(0))
	p.wg.Add(workers)
	if n == 1 {
		work() // a small batch is not worth a goroutine
		return p
	}
	for range workers {
		go work()
	}
	return p
}

// get waits for chunk c and returns its rows.
func (p *pipeline) get(c int) ([][]any, error) {
	<-p.done[c]
	return p.rows[c], p.errs[c]
}

// release returns chunk c's encoder to the pool once its rows are used.
func (p *pipeline) release(c int) {
	if p.encs[c] != nil {
		putEncoder(p.encs[c])
		p.encs[c], p.rows[c] = nil, nil
	}
}

// wait stops the work not yet started, waits for the workers and
// releases every encoder.
func (p *pipeline) wait() {
	p.stop.Store(true)
	p.wg.Wait()
	for c := range p.chunks {
		p.release(c)
	}
}
