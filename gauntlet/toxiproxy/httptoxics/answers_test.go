package httptoxics

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"math/rand"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Shopify/toxiproxy/v2/stream"
	"github.com/Shopify/toxiproxy/v2/toxics"
)

// answers a dependency might send on one keep-alive connection, pipelined
var answers = []string{
	"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nTrailer: x\r\n\r\n",
	"HTTP/1.1 204 No Content\r\n\r\n",
	"HTTP/1.1 304 Not Modified\r\nETag: \"a\"\r\n\r\n",
	"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
}

type run struct {
	stub *toxics.ToxicStub
	in   chan *stream.StreamChunk
	out  chan *stream.StreamChunk
	done chan struct{}
}

func start(t *testing.T, toxic toxics.Toxic, state interface{}) *run {
	t.Helper()
	r := &run{in: make(chan *stream.StreamChunk), out: make(chan *stream.StreamChunk, 1024)}
	r.stub = toxics.NewToxicStub(r.in, r.out)
	r.stub.State = state
	r.pipe(toxic)
	return r
}

func (r *run) pipe(toxic toxics.Toxic) {
	r.done = make(chan struct{})
	wrapper := &toxics.ToxicWrapper{Toxic: toxic, Toxicity: 1}
	go func() { r.stub.Run(wrapper); close(r.done) }()
}

// send writes data in random pieces, as TCP might deliver it
func (r *run) send(data []byte, rng *rand.Rand) {
	for len(data) > 0 {
		n := 1 + rng.Intn(len(data))
		if rng.Intn(3) == 0 {
			n = 1 + rng.Intn(min(7, len(data)))
		}
		r.in <- &stream.StreamChunk{Data: data[:n], Timestamp: time.Now()}
		data = data[n:]
	}
}

// answer waits for n bytes out (an answer's head and body may come as two chunks)
func (r *run) answer(n int) {
	for n > 0 {
		n -= len((<-r.out).Data)
	}
}

// received is every byte the toxic wrote until it closed the stream
func (r *run) received(t *testing.T) []byte {
	t.Helper()
	var got bytes.Buffer
	timeout := time.After(5 * time.Second)
	for {
		select {
		case c, ok := <-r.out:
			if !ok {
				return got.Bytes()
			}
			got.Write(c.Data)
		case <-timeout:
			t.Fatalf("the toxic did not close the stream; so far %q", got.String())
		}
	}
}

func statuses(t *testing.T, data []byte) ([]int, []http.Header, []string) {
	t.Helper()
	reader := bufio.NewReader(bytes.NewReader(data))
	var codes []int
	var headers []http.Header
	var bodies []string
	for {
		resp, err := http.ReadResponse(reader, nil)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return codes, headers, bodies
		}
		if err != nil {
			t.Fatalf("the stream does not parse after %d answers: %v", len(codes), err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("answer %d's body: %v", len(codes), err)
		}
		codes = append(codes, resp.StatusCode)
		headers = append(headers, resp.Header)
		bodies = append(bodies, string(body))
	}
}

func TestAnswersPassedThroughAreTheBytesThatCameIn(t *testing.T) {
	all := []byte(strings.Join(answers, ""))
	for seed := int64(0); seed < 200; seed++ {
		rng := rand.New(rand.NewSource(seed))
		toxic := &StatusToxic{Status: 503, Share: ptr(0)}
		r := start(t, toxic, toxic.NewState())
		go func() { r.send(all, rng); close(r.in) }()
		if got := r.received(t); !bytes.Equal(got, all) {
			t.Fatalf("seed %d: got %q", seed, got)
		}
	}
}

func TestAShareOfAnswersIsForgedInPlaceKeepingTheRestInOrder(t *testing.T) {
	all := []byte(strings.Join(answers, ""))
	for seed := int64(0); seed < 100; seed++ {
		toxic := &StatusToxic{Status: 503, Share: ptr(0.5), Body: "busy",
			Headers: map[string]string{"Retry-After": "2", "Content-Length": "99"}}
		r := start(t, toxic, toxic.NewState())
		go func() { r.send(all, rand.New(rand.NewSource(seed))); close(r.in) }()
		codes, headers, bodies := statuses(t, r.received(t))
		// the 100 Continue is passed through, never counted: 100 is read by ReadResponse as
		// its own answer here
		want := []int{200, 503, 204, 503, 100, 201, 503}
		if len(codes) != len(want) {
			t.Fatalf("seed %d: statuses %v, want %v", seed, codes, want)
		}
		for i := range want {
			if codes[i] != want[i] {
				t.Fatalf("seed %d: statuses %v, want %v", seed, codes, want)
			}
		}
		if headers[1].Get("Retry-After") != "2" || bodies[1] != "busy" || bodies[5] != "ok" {
			t.Fatalf("seed %d: forged %v %q, after %q", seed, headers[1], bodies[1], bodies[5])
		}
	}
}

func TestAForgedAnswerToAClosingAnswerClosesToo(t *testing.T) {
	toxic := &StatusToxic{Status: 500}
	r := start(t, toxic, toxic.NewState())
	go func() {
		r.send([]byte("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end"), rand.New(rand.NewSource(1)))
		close(r.in)
	}()
	got := string(r.received(t))
	if !strings.HasPrefix(got, "HTTP/1.1 500 Internal Server Error\r\n") ||
		!strings.Contains(got, "Connection: close\r\n") || strings.Contains(got, "until") {
		t.Fatalf("got %q", got)
	}
}

func TestBytesThatAreNotHTTPPassUntouched(t *testing.T) {
	tls := []byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, '\r', '\n', '\r', '\n', 9}
	toxic := &StatusToxic{Status: 503}
	r := start(t, toxic, toxic.NewState())
	go func() {
		r.send(tls, rand.New(rand.NewSource(2)))
		r.send([]byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), rand.New(rand.NewSource(3)))
		close(r.in)
	}()
	want := append(append([]byte(nil), tls...), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"...)
	if got := r.received(t); !bytes.Equal(got, want) {
		t.Fatalf("got %q", got)
	}
}

func TestAnUpgradedConnectionPassesUntouchedAfterTheSwitch(t *testing.T) {
	data := []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05HTTP/")
	toxic := &StatusToxic{Status: 503}
	r := start(t, toxic, toxic.NewState())
	go func() { r.send(data, rand.New(rand.NewSource(4))); close(r.in) }()
	if got := r.received(t); !bytes.Equal(got, data) {
		t.Fatalf("got %q", got)
	}
}

func TestTheFirstByteOfAnAnswerIsHeldBack(t *testing.T) {
	toxic := &FirstByteToxic{Latency: 150, Share: ptr(0.5)}
	r := start(t, toxic, toxic.NewState())
	first := []byte("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na")
	second := []byte("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb")
	began := time.Now()
	r.in <- &stream.StreamChunk{Data: first}
	r.answer(len(first))
	if took := time.Since(began); took > 100*time.Millisecond {
		t.Fatalf("the first answer was held %v, though only every second one is", took)
	}
	began = time.Now()
	r.in <- &stream.StreamChunk{Data: second}
	r.answer(len(second))
	if took := time.Since(began); took < 150*time.Millisecond {
		t.Fatalf("the second answer came after %v, not 150 ms", took)
	}
	close(r.in)
	r.received(t)
}

func TestAStopBetweenAnswersEndsTheRunAndTheNextRunCarriesOn(t *testing.T) {
	toxic := &StatusToxic{Status: 503, Share: ptr(0.5)}
	r := start(t, toxic, toxic.NewState())
	r.in <- &stream.StreamChunk{Data: []byte(answers[0])}
	r.answer(len(answers[0]))
	if !r.stub.InterruptToxic() {
		t.Fatal("the toxic was closed")
	}
	<-r.done
	r.pipe(toxic) // an update runs it again on the same state
	r.in <- &stream.StreamChunk{Data: []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi" + answers[0])}
	close(r.in)
	codes, _, _ := statuses(t, r.received(t))
	if len(codes) != 2 || codes[0] != 503 || codes[1] != 200 {
		t.Fatalf("statuses %v", codes)
	}
}

func TestAStopInsideAnAnswerWaitsForItsEndAndKeepsTheReadAhead(t *testing.T) {
	toxic := &StatusToxic{Status: 503, Share: ptr(0.5)}
	r := start(t, toxic, toxic.NewState())
	// one answer and the start of the next: the stop must not cut the second in two
	r.in <- &stream.StreamChunk{Data: []byte(answers[0] + "HTTP/1.1 200 OK\r\nContent-")}
	stopped := make(chan bool)
	go func() { stopped <- r.stub.InterruptToxic() }()
	time.Sleep(50 * time.Millisecond)
	r.in <- &stream.StreamChunk{Data: []byte("Length: 2\r\n\r\nhi" + answers[0][:10])}
	if !<-stopped {
		t.Fatal("the toxic was closed")
	}
	<-r.done
	r.pipe(toxic)
	r.in <- &stream.StreamChunk{Data: []byte(answers[0][10:])}
	close(r.in)
	codes, _, _ := statuses(t, r.received(t))
	if len(codes) != 3 || codes[0] != 200 || codes[1] != 503 || codes[2] != 200 {
		t.Fatalf("statuses %v", codes)
	}
}

func TestAStopInsideAForgedAnswerDropsTheRestOfItFirst(t *testing.T) {
	toxic := &StatusToxic{Status: 503}
	r := start(t, toxic, toxic.NewState())
	r.in <- &stream.StreamChunk{Data: []byte("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345")}
	stopped := make(chan bool)
	go func() { stopped <- r.stub.InterruptToxic() }()
	time.Sleep(50 * time.Millisecond)
	r.in <- &stream.StreamChunk{Data: []byte("67890HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")}
	<-stopped
	<-r.done
	cleanup(r.stub) // removed: what was read ahead goes on untouched
	r.stub.Close()
	var got bytes.Buffer
	for c := range r.out {
		got.Write(c.Data)
	}
	codes, _, bodies := statuses(t, got.Bytes())
	if len(codes) != 2 || codes[0] != 503 || codes[1] != 200 || strings.Contains(got.String(), "6789") {
		t.Fatalf("statuses %v bodies %q: %q", codes, bodies, got.String())
	}
}

func TestSharesAreExactCounts(t *testing.T) {
	for _, share := range []float64{0.1, 0.25, 1.0 / 3, 0.5, 0.9} {
		var p picker
		picked := 0
		for i := 0; i < 1000; i++ {
			if p.pick(&share) {
				picked++
			}
		}
		if want := int(1000 * share); picked != want {
			t.Errorf("share %v picked %d of 1000, want %d", share, picked, want)
		}
	}
}

func TestTheAPIShowsWhatTheToxicSawBesideItsAttributes(t *testing.T) {
	toxic := &StatusToxic{Status: 503, Share: ptr(0.5), Headers: map[string]string{"Retry-After": "1"}}
	r := start(t, toxic, toxic.NewState())
	go func() { r.send([]byte(strings.Join(answers, "")), rand.New(rand.NewSource(5))); close(r.in) }()
	r.received(t)
	shown, err := json.Marshal(toxic)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]interface{}
	if err := json.Unmarshal(shown, &got); err != nil {
		t.Fatal(err)
	}
	// seven answers of 2xx..4xx (the 100 Continue is not one), every second one forged
	if got["answers"] != 6.0 || got["acted"] != 3.0 || got["status"] != 503.0 ||
		got["share"] != 0.5 || got["headers"].(map[string]interface{})["Retry-After"] != "1" {
		t.Fatalf("shown %s", shown)
	}
	// an update decodes into the same toxic: the counts go on
	if err := json.Unmarshal([]byte(`{"status": 429, "answers": 0}`), toxic); err != nil {
		t.Fatal(err)
	}
	if toxic.Status != 429 || toxic.counts.answers.Load() != 6 {
		t.Fatalf("after the update: status %d, answers %d", toxic.Status, toxic.counts.answers.Load())
	}
}

func ptr(v float64) *float64 { return &v }
