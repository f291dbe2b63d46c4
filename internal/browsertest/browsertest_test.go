package browsertest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The driver loads a page, clicks a form's button (a POST), reads what the
// page measures and takes a screenshot at a phone's width.
func TestDriverClicksMeasuresAndShoots(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		if r.Method == http.MethodPost {
			_ = r.ParseForm()
			fmt.Fprintf(w, "<!doctype html><p id=got>%s</p>", r.PostForm.Get("x"))
			return
		}
		fmt.Fprint(w, `<!doctype html><meta name="viewport" content="width=device-width"><div style="width:600px">wide</div><form method=post><input name=x value=hello><button id=b>go</button></form>`)
	}))
	defer srv.Close()
	b := Start(t)
	p := b.NewPage(390, 844, true)
	p.Navigate(srv.URL)
	if w, _ := p.Eval("document.documentElement.scrollWidth").(float64); w < 600 {
		t.Errorf("scrollWidth = %v, want the 600 px block and more", w)
	}
	if w := p.Eval("document.documentElement.clientWidth"); w != float64(390) {
		t.Errorf("clientWidth = %v, want 390", w)
	}
	png := p.Screenshot()
	if len(png) < 100 || !strings.HasPrefix(string(png[1:4]), "PNG") {
		t.Errorf("screenshot: %d bytes", len(png))
	}
	p.Click("#b")
	if got := p.Eval("document.getElementById('got').textContent"); got != "hello" {
		t.Errorf("after the click the page says %v", got)
	}
}
