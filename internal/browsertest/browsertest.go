// Package browsertest drives headless Chromium for the project's browser
// tests. It speaks the DevTools protocol over a pipe
// (--remote-debugging-pipe: JSON messages separated by NUL bytes on file
// descriptors 3 and 4), so a test can click a button, read what the page
// measures and take a screenshot at a given viewport with nothing but the
// standard library: no WebSocket client, no chromedp, no Node.js.
//
// It is test support, imported only by _test.go files.
package browsertest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// Flags are those this machine's headless Chromium needs: no sandbox as
// root, and no background traffic to a network that is closed.
var Flags = []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"}

// callTimeout bounds one protocol call, a navigation included.
const callTimeout = 30 * time.Second

// Find returns the path of Chromium, or skips the test when it is missing;
// under CI=true a missing browser is a failure, since .ci/run installs it
// and a skip would hide a broken install.
func Find(t testing.TB) string {
	t.Helper()
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found, and CI=true: .ci/run should have installed it")
	}
	t.Skip("chromium not installed; skipping (CI=true makes this a failure)")
	return ""
}

// Browser is one running headless Chromium with a fresh profile.
type Browser struct {
	t      testing.TB
	cmd    *exec.Cmd
	w      io.WriteCloser
	stderr *bytes.Buffer

	mu       sync.Mutex
	next     int
	waiting  map[int]chan message
	sessions map[string]*Page
	done     chan struct{}
}

// message is one protocol message: a reply (ID set) or an event (Method set).
type message struct {
	ID        int             `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *struct {
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// Start runs Chromium (see Find) and stops it when the test ends.
func Start(t testing.TB) *Browser {
	t.Helper()
	bin := Find(t)
	toChrome, chromeIn, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	chromeOut, fromChrome, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	args := append(append([]string{}, Flags...), "--remote-debugging-pipe", "--user-data-dir="+t.TempDir(), "about:blank")
	b := &Browser{t: t, cmd: exec.Command(bin, args...), w: chromeIn, stderr: &bytes.Buffer{},
		waiting: map[int]chan message{}, sessions: map[string]*Page{}, done: make(chan struct{})}
	// Chromium reads commands on fd 3 and writes replies on fd 4.
	b.cmd.ExtraFiles = []*os.File{toChrome, fromChrome}
	b.cmd.Stderr = &lockedWriter{b: b.stderr, mu: &b.mu}
	if err := b.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	toChrome.Close()
	fromChrome.Close()
	go b.read(chromeOut)
	t.Cleanup(b.close)
	return b
}

type lockedWriter struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// read dispatches Chromium's messages until the pipe closes.
func (b *Browser) read(r io.ReadCloser) {
	defer close(b.done)
	defer r.Close()
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		raw, err := br.ReadBytes(0)
		if err != nil {
			return
		}
		var m message
		if json.Unmarshal(raw[:len(raw)-1], &m) != nil {
			continue
		}
		b.mu.Lock()
		if m.ID != 0 {
			if ch := b.waiting[m.ID]; ch != nil {
				ch <- m
				delete(b.waiting, m.ID)
			}
		} else if p := b.sessions[m.SessionID]; p != nil && m.Method == "Page.loadEventFired" {
			p.loads++
			select {
			case p.loaded <- struct{}{}:
			default:
			}
		}
		b.mu.Unlock()
	}
}

// call sends one command (to a page's session when session is set) and
// decodes its result into out.
func (b *Browser) call(session, method string, params, out any) error {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	ch := make(chan message, 1)
	b.mu.Lock()
	b.next++
	id := b.next
	b.waiting[id] = ch
	b.mu.Unlock()
	msg, err := json.Marshal(map[string]any{"id": id, "method": method, "params": params, "sessionId": session})
	if err != nil {
		return err
	}
	if _, err := b.w.Write(append(msg, 0)); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return fmt.Errorf("%s: %s", method, m.Error.Message)
		}
		if out != nil {
			return json.Unmarshal(m.Result, out)
		}
		return nil
	case <-b.done:
		return fmt.Errorf("%s: chromium exited:\n%s", method, b.stderrText())
	case <-ctx.Done():
		return fmt.Errorf("%s: no answer within %s", method, callTimeout)
	}
}

func (b *Browser) stderrText() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stderr.String()
}

// close asks Chromium to quit and kills it if it does not.
func (b *Browser) close() {
	_ = b.call("", "Browser.close", nil, nil)
	b.w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	exited := make(chan struct{})
	go func() { _ = b.cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-ctx.Done():
		_ = b.cmd.Process.Kill()
		<-exited
	}
}

// Page is one tab with its own viewport.
type Page struct {
	b       *Browser
	session string
	// loads counts load events; loaded signals a new one. Both under b.mu.
	loads  int
	loaded chan struct{}
}

// NewPage opens a tab with a viewport of width×height CSS pixels; mobile
// makes Chromium honour the page's viewport meta tag as a phone does.
func (b *Browser) NewPage(width, height int, mobile bool) *Page {
	b.t.Helper()
	var target struct {
		TargetID string `json:"targetId"`
	}
	b.must(b.call("", "Target.createTarget", map[string]any{"url": "about:blank"}, &target))
	var att struct {
		SessionID string `json:"sessionId"`
	}
	b.must(b.call("", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att))
	p := &Page{b: b, session: att.SessionID, loaded: make(chan struct{}, 1)}
	b.mu.Lock()
	b.sessions[p.session] = p
	b.mu.Unlock()
	b.must(b.call(p.session, "Page.enable", nil, nil))
	b.must(b.call(p.session, "Emulation.setDeviceMetricsOverride", map[string]any{
		"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}, nil))
	return p
}

func (b *Browser) must(err error) {
	b.t.Helper()
	if err != nil {
		b.t.Fatal(err)
	}
}

// Navigate loads url and waits for its load event.
func (p *Page) Navigate(url string) {
	p.b.t.Helper()
	p.waitLoad(func() {
		var res struct {
			ErrorText string `json:"errorText"`
		}
		p.b.must(p.b.call(p.session, "Page.navigate", map[string]any{"url": url}, &res))
		if res.ErrorText != "" {
			p.b.t.Fatalf("navigate to %s: %s", url, res.ErrorText)
		}
	})
}

// Click clicks the element that selector finds (a link or a submit
// button) and waits for the page it leads to.
func (p *Page) Click(selector string) {
	p.b.t.Helper()
	sel, _ := json.Marshal(selector)
	p.waitLoad(func() {
		if ok, _ := p.Eval(`(() => { const e = document.querySelector(` + string(sel) + `); if (!e) return false; e.click(); return true; })()`).(bool); !ok {
			p.b.t.Fatalf("no element %s on %s", selector, p.Eval("location.href"))
		}
	})
}

// waitLoad runs action and waits for the next load event after it.
func (p *Page) waitLoad(action func()) {
	p.b.t.Helper()
	p.b.mu.Lock()
	before := p.loads
	p.b.mu.Unlock()
	action()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	for {
		p.b.mu.Lock()
		n := p.loads
		p.b.mu.Unlock()
		if n > before {
			return
		}
		select {
		case <-p.loaded:
		case <-p.b.done:
			p.b.t.Fatalf("chromium exited:\n%s", p.b.stderrText())
		case <-ctx.Done():
			p.b.t.Fatalf("the page did not load within %s", callTimeout)
		}
	}
}

// Eval evaluates a JavaScript expression in the page (awaiting a promise)
// and returns its JSON value. DevTools evaluation is not subject to the
// page's Content-Security-Policy, so the page itself can stay script-strict.
func (p *Page) Eval(expr string) any {
	p.b.t.Helper()
	var res struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
		Exception *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	p.b.must(p.b.call(p.session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}, &res))
	if res.Exception != nil {
		p.b.t.Fatalf("evaluate %q: %s %s", expr, res.Exception.Text, res.Exception.Exception.Description)
	}
	return res.Result.Value
}

// Screenshot returns a PNG of the whole page at the viewport's width.
func (p *Page) Screenshot() []byte {
	p.b.t.Helper()
	var m struct {
		Content struct {
			Height float64 `json:"height"`
		} `json:"cssContentSize"`
		Viewport struct {
			Width float64 `json:"clientWidth"`
		} `json:"cssLayoutViewport"`
	}
	p.b.must(p.b.call(p.session, "Page.getLayoutMetrics", nil, &m))
	var shot struct {
		Data string `json:"data"`
	}
	p.b.must(p.b.call(p.session, "Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true,
		"clip": map[string]any{"x": 0, "y": 0, "width": m.Viewport.Width, "height": m.Content.Height, "scale": 1}}, &shot))
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	p.b.must(err)
	return png
}
