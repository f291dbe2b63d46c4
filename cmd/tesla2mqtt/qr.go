package main

import (
	"io"

	qrcode "github.com/skip2/go-qrcode"
)

// printQR draws text as a QR code with Unicode half blocks, small enough for
// a terminal, so a phone can open the pairing link straight from the screen.
// It prints nothing when the text cannot be encoded.
func printQR(w io.Writer, text string) {
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return
	}
	// Not inverted: light modules are drawn as blocks in the text colour and
	// dark ones left as background, which is right on the usual dark terminal.
	_, _ = io.WriteString(w, q.ToSmallString(false))
}
