// Package httptoxics adds Toxiproxy toxics that act on HTTP/1.1 answers in a link.
//
// Toxiproxy breaks connections; it cannot forge an answer. A team that claims "we retry 503
// and 429 with Retry-After, and never 400" needs the dependency to answer those, on demand,
// through the same link the other faults use. These toxics sit on a link's downstream stream
// (the dependency's answers to the service), read each answer's framing with net/http, and
// either let it through byte for byte or act on it:
//
//   - http_status answers a forged status (with headers and a body) in place of a share of
//     the answers;
//   - http_first_byte holds back the first byte of a share of the answers.
//
// Answers stay in order, so keep-alive, chunked bodies and pipelined requests stay correct:
// an answer passed through is forwarded as the bytes that came in, streamed as they arrive,
// and a forged answer replaces exactly one real answer, whose bytes are read and dropped.
//
// What a downstream toxic cannot see: the request. So it cannot match paths, and it cannot
// tell an answer to HEAD (a Content-Length, no body) from one to GET: a link that carries HEAD
// requests must not get these toxics. On a TLS link the bytes are not HTTP: the first answer
// fails to parse, and from then on every byte of that connection passes through untouched.
package httptoxics

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/Shopify/toxiproxy/v2/stream"
	"github.com/Shopify/toxiproxy/v2/toxics"
)

// drainBound caps how long a toxic asked to stop (removed, updated, or another toxic added
// after it) keeps reading the answer it is in the middle of, so the answer is not cut in two.
// Past it, an answer being forwarded goes on untouched and the connection stays untouched;
// an answer being forged over closes the connection (its client already has the forged one,
// and the rest of the real one must never reach it).
const drainBound = 5 * time.Second

var (
	errInterrupted = errors.New("interrupted between answers")
	errDrainBound  = errors.New("interrupted, and the answer did not end within the bound")
	errNotHTTP     = errors.New("not an HTTP/1.x answer")
)

// action is what a toxic does with one answer: forge replaces it with these bytes; delay
// holds its first byte back for this long.
type action struct {
	forge []byte
	delay time.Duration
}

// decide is called once per answer, with its parsed head, before any of its bytes go out.
type decide func(answer *http.Response) action

// connState is one connection's parsing state, kept on the stub across the toxic's runs (an
// update or a toxic added after it stops and restarts Pipe; the bytes read so far must not be
// lost, nor the place in the answer).
type connState struct {
	pipe *pipe
	// raw: this connection passes every byte untouched from now on (not HTTP, or an answer
	// outlived the drain bound); closing: it must be closed (a forged-over answer did)
	raw, closing bool
}

func newState() interface{} { return &connState{} }

// pipeAnswers runs a downstream stub answer by answer until the link closes or the toxic is
// asked to stop between answers.
func pipeAnswers(stub *toxics.ToxicStub, each decide) {
	state, _ := stub.State.(*connState)
	if state == nil { // stateless run (a test's bare stub): keep it for this run only
		state = &connState{}
		stub.State = state
	}
	if state.closing {
		stub.Close()
		return
	}
	if state.pipe == nil {
		state.pipe = newPipe()
	}
	p := state.pipe
	p.attach(stub)
	if state.raw {
		p.flush()
		passRest(stub)
		return
	}
	for {
		err := p.next(each)
		switch {
		case err == nil:
			continue
		case errors.Is(err, errInterrupted):
			return // between answers: what was read ahead stays in the state
		case errors.Is(err, io.EOF):
			p.flush()
			stub.Close()
			return
		case errors.Is(err, errDrainBound) && p.dropping:
			state.closing = true
			return
		default: // not HTTP, or past the drain bound: every byte through, untouched
			state.raw = true
			p.flush()
			if !errors.Is(err, errDrainBound) {
				passRest(stub)
			}
			return
		}
	}
}

// cleanup runs when the toxic is removed: bytes read and not yet written go on to the next
// toxic, or the connection closes when it was forging over an answer.
func cleanup(stub *toxics.ToxicStub) {
	state, _ := stub.State.(*connState)
	if state == nil || state.pipe == nil {
		return
	}
	if state.closing || state.pipe.dropping {
		stub.Close()
		return
	}
	state.pipe.attach(stub)
	state.pipe.flush()
}

// passRest forwards chunks untouched until the link closes or the toxic is interrupted.
func passRest(stub *toxics.ToxicStub) {
	for {
		select {
		case <-stub.Interrupt:
			return
		case chunk := <-stub.Input:
			if chunk == nil {
				stub.Close()
				return
			}
			stub.Output <- chunk
		}
	}
}

type pipe struct {
	stub     *toxics.ToxicStub
	out      *stream.ChanWriter
	in       *linkReader
	raw      bytes.Buffer // bytes read from the link and not yet written or dropped
	reader   *bufio.Reader
	written  int            // of raw, the leading bytes already written or dropped
	answer   *http.Response // the answer whose body is being read, if any
	dropping bool           // that answer was forged over: its bytes are dropped
}

func newPipe() *pipe {
	p := &pipe{}
	p.in = &linkReader{pipe: p}
	p.reader = bufio.NewReader(io.TeeReader(p.in, &p.raw))
	return p
}

func (p *pipe) attach(stub *toxics.ToxicStub) {
	p.stub = stub
	p.out = stream.NewChanWriter(stub.Output)
	p.in.stopping = false
}

// consumed is how far into raw the parser has read: what it took minus what bufio holds.
func (p *pipe) consumed() int {
	return p.raw.Len() - p.reader.Buffered()
}

// forward writes raw bytes up to what the parser has consumed.
func (p *pipe) forward() {
	if upto := p.consumed(); upto > p.written {
		_, _ = p.out.Write(p.raw.Bytes()[p.written:upto])
		p.written = upto
	}
	p.compact()
}

// drop discards raw bytes up to what the parser has consumed.
func (p *pipe) drop() {
	p.written = p.consumed()
	p.compact()
}

// compact forgets the bytes already written or dropped, keeping bufio's read-ahead.
func (p *pipe) compact() {
	if p.written > 0 {
		rest := append([]byte(nil), p.raw.Bytes()[p.written:]...)
		p.raw.Reset()
		p.raw.Write(rest)
		p.written = 0
	}
}

// flush writes every byte read and not yet written (bufio's read-ahead and the reader's
// leftover chunk included) and starts parsing afresh.
func (p *pipe) flush() {
	if p.raw.Len() > p.written {
		_, _ = p.out.Write(p.raw.Bytes()[p.written:])
	}
	if len(p.in.leftover) > 0 {
		_, _ = p.out.Write(p.in.leftover)
		p.in.leftover = nil
	}
	p.raw.Reset()
	p.written = 0
	p.reader.Reset(io.TeeReader(p.in, &p.raw))
	p.answer, p.dropping = nil, false
}

// idle: between answers, where a stop request may end the run.
func (p *pipe) idle() bool { return p.answer == nil }

// next handles one answer: its head, the action, then its body. An answer interrupted in its
// body (its state is kept) carries on where it stopped.
func (p *pipe) next(each decide) error {
	if p.answer == nil {
		if p.in.stopping {
			return errInterrupted
		}
		answer, err := http.ReadResponse(p.reader, nil)
		if err != nil {
			if errors.Is(err, errInterrupted) || errors.Is(err, errDrainBound) {
				return err
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return io.EOF
			}
			return errNotHTTP
		}
		if answer.StatusCode == http.StatusSwitchingProtocols {
			p.forward() // the head; what follows is another protocol
			return errNotHTTP
		}
		act := action{}
		if answer.StatusCode >= 200 {
			act = each(answer)
		}
		p.answer = answer
		switch {
		case act.forge != nil:
			p.dropping = true
			p.drop()
			_, _ = p.out.Write(act.forge)
		case act.delay > 0:
			p.wait(act.delay)
			p.forward()
		default:
			p.forward()
		}
	}
	step := p.forward
	if p.dropping {
		step = p.drop
	}
	buf := make([]byte, 32*1024)
	for {
		n, err := p.answer.Body.Read(buf)
		if n > 0 {
			step()
		}
		if err == io.EOF {
			step()
			p.answer, p.dropping = nil, false
			return nil
		}
		if err != nil {
			if errors.Is(err, errDrainBound) {
				return err
			}
			return io.EOF // the link closed in the middle of a body
		}
	}
}

// wait holds an answer back; a stop request ends the wait early (the answer then goes out at
// once, and the run ends after it).
func (p *pipe) wait(d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-p.stub.Interrupt:
		p.in.stop()
	}
}

// linkReader reads the stub's input. A stop request (the stub's Interrupt) ends a read only
// between answers; inside one, reading goes on until the answer ends or drainBound passes.
type linkReader struct {
	pipe     *pipe
	leftover []byte
	stopping bool
	deadline time.Time
}

func (r *linkReader) stop() {
	if !r.stopping {
		r.stopping = true
		r.deadline = time.Now().Add(drainBound)
	}
}

func (r *linkReader) Read(out []byte) (int, error) {
	if len(r.leftover) > 0 {
		n := copy(out, r.leftover)
		r.leftover = r.leftover[n:]
		return n, nil
	}
	for {
		if r.stopping && r.pipe.idle() && r.pipe.raw.Len() == r.pipe.written {
			return 0, errInterrupted
		}
		var bound <-chan time.Time
		interrupt := r.pipe.stub.Interrupt
		if r.stopping {
			interrupt = nil
			timer := time.NewTimer(time.Until(r.deadline))
			defer timer.Stop()
			bound = timer.C
		}
		select {
		case chunk := <-r.pipe.stub.Input:
			if chunk == nil {
				return 0, io.EOF
			}
			n := copy(out, chunk.Data)
			r.leftover = chunk.Data[n:]
			return n, nil
		case <-interrupt:
			r.stop()
		case <-bound:
			return 0, errDrainBound
		}
	}
}
