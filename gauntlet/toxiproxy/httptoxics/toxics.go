package httptoxics

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Shopify/toxiproxy/v2/toxics"
)

func init() {
	toxics.Register("http_status", new(StatusToxic))
	toxics.Register("http_first_byte", new(FirstByteToxic))
}

// picker chooses answers evenly: with share s, the n-th answer is picked when floor(n*s)
// grows, so 0.25 picks every fourth answer and 1 picks all. Exact counts, not coin flips: an
// experiment that forges 3 answers in 12 can count them. One per toxic, shared by all its
// connections, so the share holds across a pool's connections.
type picker struct {
	mu   sync.Mutex
	seen int64
}

// counts are what a toxic saw, shown with its attributes in Toxiproxy's API (GET
// /proxies/{proxy}/toxics/{name}): "answers" through it, and "acted" on (forged or held back).
// The dependency's own count of attempts, read from outside it: an experiment reads them at
// each phase's edges and compares the differences with the requests it sent. They add up
// from the toxic's creation, across updates.
type counts struct {
	answers atomic.Int64
	acted   atomic.Int64
}

func (c *counts) seen(acted bool) bool {
	c.answers.Add(1)
	if acted {
		c.acted.Add(1)
	}
	return acted
}

// withCounts is the toxic's attributes (an alias without this method, so no recursion) and
// its counts, as one JSON object.
func withCounts(attributes interface{}, c *counts) ([]byte, error) {
	plain, err := json.Marshal(attributes)
	if err != nil {
		return nil, err
	}
	fields := map[string]json.RawMessage{}
	if err := json.Unmarshal(plain, &fields); err != nil {
		return nil, err
	}
	fields["answers"] = json.RawMessage(fmt.Sprint(c.answers.Load()))
	fields["acted"] = json.RawMessage(fmt.Sprint(c.acted.Load()))
	return json.Marshal(fields)
}

func (p *picker) pick(share *float64) bool {
	s := 1.0
	if share != nil {
		s = *share
	}
	if s >= 1 {
		return true
	}
	if s <= 0 {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	before := int64(float64(p.seen) * s)
	p.seen++
	return int64(float64(p.seen)*s) > before
}

// StatusToxic answers Status, with Headers and Body, in place of a share of the dependency's
// answers (all when Share is absent). The real answer is read and dropped, so the request
// did reach the dependency: a retry is a second request there, which is how a retry claim is
// counted from the dependency's side.
type StatusToxic struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
	Share   *float64          `json:"share,omitempty"`
	picker  picker
	counts  counts
}

type statusAttributes StatusToxic

func (t *StatusToxic) MarshalJSON() ([]byte, error) {
	return withCounts((*statusAttributes)(t), &t.counts)
}

func (t *StatusToxic) NewState() interface{}          { return newState() }
func (t *StatusToxic) Cleanup(stub *toxics.ToxicStub) { cleanup(stub) }

func (t *StatusToxic) Pipe(stub *toxics.ToxicStub) {
	pipeAnswers(stub, func(answer *http.Response) action {
		if !t.counts.seen(t.Status >= 100 && t.Status <= 599 && t.picker.pick(t.Share)) {
			return action{}
		}
		return action{forge: t.answer(answer)}
	})
}

// answer is the forged answer's bytes, in the real one's protocol version, closing the
// connection when the real one would have.
func (t *StatusToxic) answer(real *http.Response) []byte {
	var b strings.Builder
	text := http.StatusText(t.Status)
	if text == "" {
		text = "Status"
	}
	fmt.Fprintf(&b, "HTTP/%d.%d %d %s\r\n", real.ProtoMajor, real.ProtoMinor, t.Status, text)
	names := make([]string, 0, len(t.Headers))
	typed := false
	for name := range t.Headers {
		names = append(names, name)
		if strings.EqualFold(name, "content-type") {
			typed = true
		}
	}
	sort.Strings(names)
	for _, name := range names {
		if strings.EqualFold(name, "content-length") || strings.EqualFold(name, "connection") ||
			strings.EqualFold(name, "transfer-encoding") {
			continue // framing is the toxic's, so the stream stays parseable
		}
		fmt.Fprintf(&b, "%s: %s\r\n", name, t.Headers[name])
	}
	if !typed {
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	}
	if real.Close {
		b.WriteString("Connection: close\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(t.Body), t.Body)
	return []byte(b.String())
}

// FirstByteToxic holds back the first byte of a share of the dependency's answers (all when
// Share is absent) by Latency milliseconds: the dependency answered, late. Unlike Toxiproxy's
// latency toxic, which delays every chunk of the stream, it delays each answer once, so a slow
// answer on a keep-alive connection is one slow answer, and a dependency latency threshold
// can be crossed by the answers alone.
type FirstByteToxic struct {
	Latency int64    `json:"latency"`
	Share   *float64 `json:"share,omitempty"`
	picker  picker
	counts  counts
}

type firstByteAttributes FirstByteToxic

func (t *FirstByteToxic) MarshalJSON() ([]byte, error) {
	return withCounts((*firstByteAttributes)(t), &t.counts)
}

func (t *FirstByteToxic) NewState() interface{}          { return newState() }
func (t *FirstByteToxic) Cleanup(stub *toxics.ToxicStub) { cleanup(stub) }

func (t *FirstByteToxic) Pipe(stub *toxics.ToxicStub) {
	pipeAnswers(stub, func(answer *http.Response) action {
		if !t.counts.seen(t.Latency > 0 && t.picker.pick(t.Share)) {
			return action{}
		}
		return action{delay: time.Duration(t.Latency) * time.Millisecond}
	})
}
